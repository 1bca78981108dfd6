/**
 * The one mapping from a Node socket or TLS error to a findings code, by `err.code`
 * (never by message text). The SMTP connection, the implicit-TLS connector and the tls
 * check's posture handshakes all use it, so the same failure reads the same everywhere.
 */
import type { FindingCode } from '../findings.js';

/**
 * Where the error happened. The same OpenSSL error means different things in each:
 * "wrong version number" on the first byte is a port in the other TLS mode, after a 220
 * to STARTTLS it is a server that did not start TLS, and after a completed handshake it
 * is a broken session.
 */
export type SocketPhase = 'tcp' | 'tls-first-byte' | 'tls-after-starttls' | 'session';

const NETWORK_CODES: Readonly<Record<string, FindingCode>> = {
  ECONNREFUSED: 'CONNECT_REFUSED',
  ECONNRESET: 'CONNECT_RESET',
  EPIPE: 'CONNECT_RESET',
  ECONNABORTED: 'CONNECT_RESET',
  ETIMEDOUT: 'CONNECT_TIMEOUT',
  // No route: the same thing to an on-call engineer as packets silently dropped.
  EHOSTUNREACH: 'CONNECT_TIMEOUT',
  ENETUNREACH: 'CONNECT_TIMEOUT',
  EHOSTDOWN: 'CONNECT_TIMEOUT',
  // Name resolution inside tls.connect (getaddrinfo codes, or the resolver's lookup hook).
  ENOTFOUND: 'DNS_NXDOMAIN',
  ENODATA: 'DNS_NXDOMAIN',
  EAI_AGAIN: 'DNS_ERROR',
};

/**
 * Errors of the probe's own host (out of file descriptors, no local port, no memory):
 * nothing the server did, and never a refusal.
 */
const LOCAL_CODES: ReadonlySet<string> = new Set([
  'EMFILE',
  'ENFILE',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
  'ENOBUFS',
  'ENOMEM',
  'EACCES',
  'EPERM',
]);

/** OpenSSL read a plaintext byte where a TLS record header belongs (an SMTP reply, say). */
const PLAINTEXT_CODES: ReadonlySet<string> = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);

export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** True for an error of the probe's own host (EMFILE, EADDRNOTAVAIL, …). */
export function isLocalError(err: unknown): boolean {
  return LOCAL_CODES.has(errorCodeOf(err));
}

/** True when OpenSSL met plaintext where TLS records belong. */
export function isPlaintextError(err: unknown): boolean {
  return PLAINTEXT_CODES.has(errorCodeOf(err));
}

/**
 * True only for an answer from the server's TLS stack that refuses what was offered: a
 * TLS alert it sent (`ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE`, `…_TLSV1_ALERT_PROTOCOL_VERSION`,
 * …) or a ServerHello for a version the client did not offer. Resets, timeouts, closed
 * connections and local errors are not answers: a firewall resetting extra connections
 * must not read as "this version is not accepted" or "no DHE".
 */
export function isServerTlsRefusal(err: unknown): boolean {
  const code = errorCodeOf(err);
  return /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(code) || code === 'ERR_SSL_UNSUPPORTED_PROTOCOL';
}

/** True when the server's TLS stack sent an alert (during or after the handshake). */
export function isTlsAlert(err: unknown): boolean {
  return /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(errorCodeOf(err));
}

/** Maps a Node socket or TLS error to a findings code, by its code and the phase it happened in. */
export function socketErrorCode(err: unknown, phase: SocketPhase): FindingCode {
  const code = errorCodeOf(err);
  if (LOCAL_CODES.has(code)) return 'PROBE_INTERNAL_ERROR';
  const network = NETWORK_CODES[code];
  if (network !== undefined) return network;
  const tlsError = code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
  if (phase === 'session') return tlsError ? 'TLS_SESSION_ERROR' : 'CONNECT_RESET';
  if (phase === 'tcp') return 'CONNECT_RESET';
  if (PLAINTEXT_CODES.has(code)) return phase === 'tls-first-byte' ? 'TLS_WRONG_MODE' : 'TLS_HANDSHAKE_FAILED';
  return 'TLS_HANDSHAKE_FAILED';
}

/** OpenSSL error strings end in newlines and carry source paths; findings want one clean line. */
export function oneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}
