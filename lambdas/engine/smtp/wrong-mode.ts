/**
 * Is a silent SMTP port really speaking TLS from the first byte? An implicit-TLS port
 * (RFC 8314 §3.3) waits for a ClientHello and says nothing, exactly like a plain server
 * that greets slowly, so silence alone cannot tell them apart: only a ClientHello can.
 *
 * The ClientHello goes over a second connection, never the one waiting for the greeting.
 * On a plain server, bytes sent before the greeting are a protocol violation (RFC 5321
 * §4.3.1; Postfix postscreen's pregreet test and Exim's smtp_enforce_sync drop or reject
 * such clients), so asking on the main connection would break the very dialogue the probe
 * measures. The second connection costs the server one short-lived extra session, and only
 * for a port that has already been silent for WRONG_MODE_SILENCE_MS.
 */
import net from 'node:net';
import tls from 'node:tls';
import { WireTap } from '../tls/wire.js';
import { ipFamily } from '../net/ip.js';

/** Silence after which the port is asked whether it speaks TLS (the greeting budget goes on). */
export const WRONG_MODE_SILENCE_MS = 2_000;

/** Bytes of the answer looked at: a TLS record header is 5 bytes (RFC 8446 §5.1). */
const ANSWER_HEAD_BYTES = 5;

export interface TlsAnswer {
  /** The port answered the ClientHello with a TLS record (a handshake or an alert). */
  readonly speaksTls: boolean;
  /** What came back, for the message: a description, never the raw bytes. */
  readonly evidence: string;
}

/**
 * The first record a TLS server sends after a ClientHello: a handshake record (22:
 * ServerHello, or a HelloRetryRequest) or an alert (21: e.g. no cipher in common, which
 * still proves the port speaks TLS), with a TLS record version 3.x (RFC 8446 §5.1; SSL 3.0
 * to TLS 1.2 legacy_record_version). Anything else, an SMTP reply included, is not TLS.
 */
export function classifyAnswer(head: Buffer): TlsAnswer {
  const type = head[0];
  const major = head[1];
  if (head.length >= 2 && (type === 22 || type === 21) && major === 3) {
    return { speaksTls: true, evidence: type === 22 ? 'a TLS handshake record' : 'a TLS alert record' };
  }
  if (head.length === 0) return { speaksTls: false, evidence: 'nothing' };
  return { speaksTls: false, evidence: `${head.length} bytes that are not TLS` };
}

export interface AskOptions {
  readonly address: string;
  readonly port: number;
  /** SNI for the ClientHello; an IP address is sent without SNI (RFC 6066 §3). */
  readonly servername?: string;
  readonly timeoutMs: number;
  /** Aborted when the main connection's greeting arrives: the question is moot. */
  readonly signal: AbortSignal;
}

/**
 * Opens a second connection, sends a ClientHello and looks at the first bytes of the
 * answer. Never throws: a refused or reset connection, a timeout or an abort all mean
 * "no evidence of TLS", and the caller goes on waiting for the greeting.
 */
export function askForTls(options: AskOptions): Promise<TlsAnswer> {
  return new Promise<TlsAnswer>((resolve) => {
    if (options.signal.aborted) {
      resolve({ speaksTls: false, evidence: 'nothing (not asked)' });
      return;
    }
    const plain = net.connect({ host: options.address, port: options.port, noDelay: true });
    // The probe's own process must not stay alive for a question nobody waits for.
    plain.unref();
    let head = Buffer.alloc(0);
    let secure: tls.TLSSocket | undefined;
    let settled = false;
    const finish = (answer: TlsAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      plain.off('data', onData);
      secure?.destroy();
      plain.destroy();
      resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk.subarray(0, ANSWER_HEAD_BYTES - head.length)]);
      if (head.length >= ANSWER_HEAD_BYTES) finish(classifyAnswer(head));
    };
    const onAbort = () => finish({ speaksTls: false, evidence: 'nothing (not needed)' });
    const timer = setTimeout(() => finish(classifyAnswer(head)), Math.max(0, options.timeoutMs));
    timer.unref();
    options.signal.addEventListener('abort', onAbort, { once: true });
    plain.on('data', onData);
    plain.on('error', () => undefined);
    // A short answer followed by a close (an alert is 7 bytes; a server may send less) is
    // judged on what arrived.
    plain.on('close', () => finish(classifyAnswer(head)));
    plain.once('connect', () => {
      // Over a tap, so the raw answer still reaches onData: a TLS socket built on the net
      // socket itself would consume its bytes below JavaScript. Nothing is verified and
      // nothing is sent after the hello: the socket only asks.
      secure = tls.connect({
        socket: new WireTap(plain, 0),
        rejectUnauthorized: false,
        ...(options.servername !== undefined && ipFamily(options.servername) === 0
          ? { servername: options.servername }
          : {}),
      });
      secure.on('error', () => undefined);
    });
  });
}
