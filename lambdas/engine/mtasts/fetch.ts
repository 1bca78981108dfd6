/**
 * The MTA-STS policy fetch (RFC 8461 §3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt`,
 * done the way a careful sender does it and no more permissively:
 *
 * - the host is resolved once and the connection goes to that address (no second lookup a
 *   DNS rebinding could redirect), after the SSRF guard has vetted it;
 * - SNI and Host are `mta-sts.DOMAIN`; the certificate must chain to a trusted root and
 *   match that name by DNS-ID (§3.3 refers to RFC 6125; no CN fallback);
 * - only 200 counts, redirects are reported and never followed (§3.3);
 * - the media type must be text/plain (§3.2);
 * - the body is capped (64 KiB) on the wire and after content decoding, response headers
 *   are capped, and one timer bounds the whole fetch, so neither a drip nor an endless
 *   chunked body can hold the probe.
 *
 * Never throws: every failure is a finding on the returned result.
 */
import * as http from 'node:http';
import * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { finding, type Finding } from '../findings.js';
import { isPrivateAddress } from '../net/address.js';
import { DnsError } from '../net/resolver.js';
import type { ProbeContext } from '../options.js';
import type { TlsSessionInfo } from '../result.js';
import { inspectTlsSession, tlsClientOptions } from '../tls/inspect.js';
import { normaliseHost } from './mx-pattern.js';

export const POLICY_PATH = '/.well-known/mta-sts.txt';
/** §3.3 suggests senders cap the body; 64 KiB is what the common implementations use. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** Response headers beyond this are refused (a policy response needs a few hundred bytes). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The fetch's own budget, further capped by the check's deadline. */
export const POLICY_FETCH_TIMEOUT_MS = 10_000;

export interface PolicyFetchOptions {
  /** The check's overall deadline; the fetch never outlives it. */
  readonly deadline: Deadline;
  /** TCP port of the policy host. Production is always 443; tests cannot bind it. @default 443 */
  readonly port?: number;
  /** @default POLICY_FETCH_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

export interface PolicyFetchResult {
  /** `mta-sts.DOMAIN`. */
  readonly host: string;
  readonly url: string;
  /** The address connected to. */
  readonly address?: string;
  readonly tls?: TlsSessionInfo;
  readonly status?: number;
  /** The Content-Type header as sent. */
  readonly contentType?: string;
  /** Body bytes received (after transfer decoding, before content decoding). */
  readonly bodyBytes?: number;
  /** The policy text, present only for a 200 text/plain response within the limits. */
  readonly body?: string;
  readonly findings: readonly Finding[];
}

const CERT_REASON_CODES = new Set(['CERT_UNTRUSTED', 'CERT_SELF_SIGNED', 'CERT_CHAIN_INCOMPLETE', 'CERT_EXPIRED']);

function displayUrl(host: string, port: number): string {
  return `https://${host}${port === 443 ? '' : `:${port}`}${POLICY_PATH}`;
}

export async function fetchPolicy(
  domain: string,
  ctx: ProbeContext,
  options: PolicyFetchOptions,
): Promise<PolicyFetchResult> {
  const host = `mta-sts.${normaliseHost(domain)}`;
  const port = options.port ?? 443;
  const url = displayUrl(host, port);
  const findings: Finding[] = [];
  const budgetMs = options.deadline.budget(options.timeoutMs ?? POLICY_FETCH_TIMEOUT_MS);
  const state: { address?: string; tls?: TlsSessionInfo; socket?: tls.TLSSocket; wireBytes: number } = {
    wireBytes: 0,
  };

  // One timer for the whole fetch: DNS, connect, handshake, headers and body.
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      state.socket?.destroy();
      reject(
        new ProbeError(
          'MTASTS_POLICY_UNREACHABLE',
          `fetching ${url} did not complete within ${budgetMs} ms (${state.wireBytes} bytes received)`,
        ),
      );
    }, budgetMs);
  });
  expired.catch(() => undefined);
  const bounded = <T>(work: Promise<T>): Promise<T> => Promise.race([work, expired]);

  let response: HttpOutcome | undefined;
  try {
    const addresses = await bounded(resolvePolicyHost(host, ctx));
    const usable = ctx.allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a));
    const blocked = addresses.filter((a) => !usable.includes(a));
    if (usable.length === 0) {
      throw new ProbeError(
        'ADDRESS_BLOCKED',
        `${host} resolves only to non-public addresses (${blocked.join(', ')}); the policy was not fetched`,
      );
    }
    if (blocked.length > 0) {
      findings.push(
        finding('ADDRESS_BLOCKED', `${host} also resolves to non-public addresses (${blocked.join(', ')}), skipped`, {
          severity: 'warning',
        }),
      );
    }

    const socket = await bounded(connectFirst(usable, port, host, ctx, state));
    const inspected = inspectTlsSession(socket, {
      servername: host,
      identity: 'dns-id',
      clock: ctx.clock,
      thresholds: ctx.thresholds,
    });
    state.tls = inspected.tls;
    findings.push(...policyCertFindings(host, inspected.verified, inspected.findings));

    response = await bounded(httpGet(socket, host, state));
  } catch (err) {
    findings.push(toFinding(err, url));
  } finally {
    clearTimeout(timer);
    state.socket?.destroy();
  }

  const base = {
    host,
    url,
    ...(state.address !== undefined ? { address: state.address } : {}),
    ...(state.tls !== undefined ? { tls: state.tls } : {}),
  };
  if (response === undefined) return { ...base, findings };
  findings.push(...response.findings.map((f) => ({ ...f, message: `${url}: ${f.message}` })));
  return {
    ...base,
    status: response.status,
    ...(response.contentType !== undefined ? { contentType: response.contentType } : {}),
    ...(response.bodyBytes !== undefined ? { bodyBytes: response.bodyBytes } : {}),
    ...(response.body !== undefined ? { body: response.body } : {}),
    findings,
  };
}

async function resolvePolicyHost(host: string, ctx: ProbeContext): Promise<string[]> {
  try {
    return await ctx.resolver.addresses(host);
  } catch (err) {
    if (err instanceof DnsError && !err.isNegativeAnswer) {
      // A temporary failure: senders cannot fetch the policy now, but it is not "no policy".
      throw new ProbeError('MTASTS_DNS_ERROR', `A/AAAA lookup of ${host} failed: ${err.kind}`, { cause: err });
    }
    const kind = err instanceof DnsError ? err.kind : String(err);
    throw new ProbeError('MTASTS_POLICY_UNREACHABLE', `${host} has no A/AAAA record (${kind})`, { cause: err });
  }
}

/** Connects to the addresses in order until one completes a TLS handshake. */
async function connectFirst(
  addresses: readonly string[],
  port: number,
  host: string,
  ctx: ProbeContext,
  state: { address?: string; socket?: tls.TLSSocket },
): Promise<tls.TLSSocket> {
  const failures: string[] = [];
  for (const address of addresses) {
    try {
      const socket = await handshake(address, port, host, ctx, state);
      state.address = address;
      return socket;
    } catch (err) {
      failures.push(`${address}: ${(err as Error).message}`);
    }
  }
  throw new ProbeError(
    'MTASTS_POLICY_UNREACHABLE',
    `could not connect to ${host} port ${port} (${failures.join('; ')})`,
  );
}

function handshake(
  address: string,
  port: number,
  host: string,
  ctx: ProbeContext,
  state: { socket?: tls.TLSSocket },
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    let tcpConnected = false;
    // Pinned: `host` is the address already resolved and vetted; SNI carries the name.
    const socket = tls.connect({ ...tlsClientOptions(ctx, host), host: address, port, servername: host });
    state.socket = socket;
    socket.once('connect', () => (tcpConnected = true));
    socket.once('secureConnect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      const what = tcpConnected ? 'TLS handshake failed' : 'connection failed';
      reject(new Error(`${what}: ${err.code ?? err.message}`));
    });
  });
}

function policyCertFindings(host: string, verified: boolean, tlsFindings: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  const reasons: string[] = [];
  for (const f of tlsFindings) {
    if (
      f.code === 'CERT_NAME_MISMATCH' ||
      CERT_REASON_CODES.has(f.code) ||
      (f.severity === 'critical' && f.code.startsWith('CERT_') && f.code !== 'CERT_EXPIRING')
    ) {
      reasons.push(`${f.code}: ${f.message}`);
    } else {
      // Still valid but worth knowing (expiring soon, weak key): reported as the TLS engine says.
      out.push({ ...f, message: `policy host ${host}: ${f.message}` });
    }
  }
  if (!verified || reasons.length > 0) {
    const why = reasons.length > 0 ? reasons.join('; ') : 'the certificate did not verify';
    out.unshift(finding('MTASTS_POLICY_CERT_INVALID', `certificate of ${host} is not valid for MTA-STS: ${why}`));
  }
  return out;
}

interface HttpOutcome {
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

function httpGet(socket: tls.TLSSocket, host: string, state: { wireBytes: number }): Promise<HttpOutcome> {
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
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { problem: finding('MTASTS_POLICY_INVALID', 'the policy is not valid UTF-8') };
  }
}

function toFinding(err: unknown, url: string): Finding {
  if (err instanceof ProbeError) return finding(err.code, `${url}: ${err.message}`);
  return finding('MTASTS_POLICY_UNREACHABLE', `${url}: unexpected failure: ${String(err)}`);
}
