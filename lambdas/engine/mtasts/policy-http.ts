/**
 * The HTTP exchange of the policy fetch (RFC 8461 §3.3), over a TLS socket that is already
 * connected and inspected: one GET, no redirects followed, text/plain only, the body capped
 * on the wire and after content decoding, response headers capped. The caller owns the
 * deadline (it destroys the socket when time is up). Limits are named constants.
 */
import * as http from 'node:http';
import type * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import { ProbeError } from '../errors.js';
import { finding, type Finding } from '../findings.js';

export const POLICY_PATH = '/.well-known/mta-sts.txt';
/** §3.3 suggests senders cap the body; 64 KiB is what the common implementations use. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** Response headers beyond this are refused (a policy response needs a few hundred bytes). */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpOutcome {
  readonly status: number;
  readonly contentType?: string;
  readonly bodyBytes?: number;
  readonly body?: string;
  readonly findings: readonly Finding[];
}

/** Media type without parameters, lower-cased (RFC 9110 §8.3.1: `text/plain; charset=utf-8` is text/plain). */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function httpGet(socket: tls.TLSSocket, host: string, state: { wireBytes: number }): Promise<HttpOutcome> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => socket,
      method: 'GET',
      path: POLICY_PATH,
      // §3.3: Host is the policy host; no port, as a sender on 443 sends it.
      headers: {
        host,
        'user-agent': 'mailprobe (MTA-STS validator)',
        accept: 'text/plain',
        'accept-encoding': 'identity',
        connection: 'close',
      },
      maxHeaderSize: MAX_HEADER_BYTES,
    });
    let tooLarge = false;
    const giveUp = (message: string): void => {
      tooLarge = true;
      socket.destroy();
      resolve({ status: 200, findings: [finding('MTASTS_POLICY_TOO_LARGE', message)] });
    };
    req.once('socket', () => {
      // Counted after the HTTP parser has attached: bytes on the wire, framing included,
      // so chunk extensions or padding cannot smuggle an unbounded response past the cap.
      socket.on('data', (chunk: Buffer) => {
        state.wireBytes += chunk.length;
        if (state.wireBytes > MAX_POLICY_BYTES + MAX_HEADER_BYTES && !tooLarge) {
          giveUp(`the response exceeds ${MAX_POLICY_BYTES + MAX_HEADER_BYTES} bytes on the wire`);
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (tooLarge) return;
      if (err.code === 'HPE_HEADER_OVERFLOW') {
        resolve({
          status: 0,
          findings: [finding('MTASTS_POLICY_TOO_LARGE', `the response headers exceed ${MAX_HEADER_BYTES} bytes`)],
        });
        return;
      }
      reject(new ProbeError('MTASTS_POLICY_UNREACHABLE', `HTTP request failed: ${err.code ?? err.message}`));
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      const contentType = res.headers['content-type'];
      const base = { status, ...(contentType !== undefined ? { contentType } : {}) };
      const done = (findings: Finding[], extra: Partial<HttpOutcome> = {}): void => {
        socket.destroy();
        resolve({ ...base, ...extra, findings });
      };
      if (status >= 300 && status < 400) {
        const location = res.headers.location;
        return done([
          finding(
            'MTASTS_POLICY_REDIRECT',
            `HTTP ${status} redirect${location !== undefined ? ` to ${location}` : ''} (RFC 8461 §3.3: not followed)`,
          ),
        ]);
      }
      if (status !== 200) return done([finding('MTASTS_POLICY_HTTP_STATUS', `HTTP ${status} instead of 200`)]);
      const type = mediaType(contentType);
      if (type !== 'text/plain') {
        return done([
          finding(
            'MTASTS_POLICY_CONTENT_TYPE',
            contentType === undefined
              ? 'no Content-Type header (text/plain required)'
              : `Content-Type is ${contentType}, not text/plain`,
          ),
        ]);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > MAX_POLICY_BYTES) {
        return done([
          finding(
            'MTASTS_POLICY_TOO_LARGE',
            `Content-Length is ${declared} bytes, over the ${MAX_POLICY_BYTES}-byte limit`,
          ),
        ]);
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_POLICY_BYTES) {
          if (!tooLarge) giveUp(`the body exceeds ${MAX_POLICY_BYTES} bytes (stopped reading at ${received})`);
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err: NodeJS.ErrnoException) => {
        if (!tooLarge)
          reject(new ProbeError('MTASTS_POLICY_UNREACHABLE', `reading the body failed: ${err.code ?? err.message}`));
      });
      res.once('end', () => {
        if (tooLarge) return;
        const decoded = decodeBody(Buffer.concat(chunks), res.headers['content-encoding']);
        if ('problem' in decoded) return done([decoded.problem], { bodyBytes: received });
        done([], { bodyBytes: received, body: decoded.text });
      });
    });
    req.end();
  });
}

/** Undoes a Content-Encoding a server applied anyway, capped like the wire (a zip bomb is still 64 KiB). */
function decodeBody(raw: Buffer, encoding: string | undefined): { text: string } | { problem: Finding } {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  let bytes: Buffer;
  try {
    const limit = { maxOutputLength: MAX_POLICY_BYTES };
    if (coding === 'identity' || coding === '') bytes = raw;
    else if (coding === 'gzip' || coding === 'x-gzip') bytes = zlib.gunzipSync(raw, limit);
    else if (coding === 'deflate') bytes = zlib.inflateSync(raw, limit);
    else if (coding === 'br') bytes = zlib.brotliDecompressSync(raw, limit);
    else {
      return {
        problem: finding(
          'MTASTS_POLICY_CONTENT_TYPE',
          `unsupported Content-Encoding ${encoding ?? ''}; serve the policy uncompressed`,
        ),
      };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return {
        problem: finding('MTASTS_POLICY_TOO_LARGE', `the ${coding}-decoded body exceeds ${MAX_POLICY_BYTES} bytes`),
      };
    }
    return { problem: finding('MTASTS_POLICY_INVALID', `the ${coding}-encoded body could not be decoded`) };
  }
  try {
    // ignoreBOM keeps a leading U+FEFF in the text (by default TextDecoder strips it), so the
    // parser can report it: senders whose decoders keep it read "\uFEFFversion" and discard the policy.
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { problem: finding('MTASTS_POLICY_INVALID', 'the policy is not valid UTF-8') };
  }
}
