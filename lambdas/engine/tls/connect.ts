/**
 * How a probe reaches a completed TLS handshake. The tls check makes several handshakes
 * with different options and does not care how TLS is reached: from the first byte
 * (here) or after SMTP STARTTLS (smtp/connector.ts). Both fail with the same ProbeError
 * codes, mapped from Node's error codes, never from message text.
 */
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import type { FindingCode } from '../findings.js';
import type { Resolver } from '../net/resolver.js';
import { DnsError } from '../net/resolver.js';

/** Resolves once the handshake completed; the caller owns (and destroys) the socket. */
export type TlsConnector = (options: tls.ConnectionOptions, deadline: Deadline) => Promise<tls.TLSSocket>;

const CONNECT_CODES: Readonly<Record<string, FindingCode>> = {
  ECONNREFUSED: 'CONNECT_REFUSED',
  ECONNRESET: 'CONNECT_RESET',
  EPIPE: 'CONNECT_RESET',
  ECONNABORTED: 'CONNECT_RESET',
  ETIMEDOUT: 'CONNECT_TIMEOUT',
  // No route: the same thing to an on-call engineer as packets silently dropped.
  EHOSTUNREACH: 'CONNECT_TIMEOUT',
  ENETUNREACH: 'CONNECT_TIMEOUT',
  EHOSTDOWN: 'CONNECT_TIMEOUT',
  // Name resolution inside tls.connect (getaddrinfo codes, or ours from lookupWith).
  ENOTFOUND: 'DNS_NXDOMAIN',
  ENODATA: 'DNS_NXDOMAIN',
  EAI_AGAIN: 'DNS_ERROR',
};

/**
 * An SMTP greeting or any plaintext where a TLS record belongs: OpenSSL reads "220 …" as
 * a record header with an impossible version. That is a port in the other TLS mode.
 */
const WRONG_MODE_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/** The findings code of a socket or TLS error (`err.code`; Node sets it for both). */
export function connectErrorCode(err: unknown): FindingCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'TLS_HANDSHAKE_FAILED';
  if (WRONG_MODE_CODES.has(code)) return 'TLS_WRONG_MODE';
  return CONNECT_CODES[code] ?? 'TLS_HANDSHAKE_FAILED';
}

/** Node's `lookup` hook backed by the run's resolver, so --dns-server also covers implicit TLS. */
function lookupWith(resolver: Resolver): LookupFunction {
  // One lookup for all of a check's handshakes (default, DHE-only, one per version): six
  // parallel lookups of a host with dead name servers would occupy the resolver six times.
  const memo = new Map<string, Promise<string[]>>();
  const addresses = (hostname: string): Promise<string[]> => {
    let found = memo.get(hostname);
    if (found === undefined) {
      found = resolver.addresses(hostname);
      memo.set(hostname, found);
    }
    return found;
  };
  return (hostname, options, callback) => {
    addresses(hostname).then(
      (addresses) => {
        const all = addresses.map((address) => ({ address, family: isIP(address) }));
        if (options.all === true) (callback as (e: null, a: typeof all) => void)(null, all);
        else callback(null, all[0]?.address ?? '', all[0]?.family ?? 4);
      },
      (err: unknown) => {
        // NXDOMAIN/NODATA are answers; anything else is a temporary failure (EAI_AGAIN).
        const code = err instanceof DnsError && err.isNegativeAnswer ? 'ENOTFOUND' : 'EAI_AGAIN';
        callback(Object.assign(new Error(`lookup of ${hostname} failed`), { code, cause: err }), '', 4);
      },
    );
  };
}

/**
 * TLS from the first byte (RFC 8314 §3.3: 465, and SES's 2465).
 * @param address  connect here instead of resolving `host` (the name still goes in SNI)
 * @param resolver  resolves `host` when no address is given; the system resolver otherwise
 */
export function implicitTlsConnector(host: string, port: number, address?: string, resolver?: Resolver): TlsConnector {
  const target = `${host}:${port}`;
  return (options, deadline) =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      if (deadline.expired()) {
        reject(new ProbeError('DEADLINE_EXCEEDED', `no time left to connect to ${target}`, { stage: 'connect' }));
        return;
      }
      let tcpConnected = false;
      const socket = tls.connect({
        ...options,
        host: address ?? host,
        port,
        ...(address === undefined && resolver !== undefined && isIP(host) === 0
          ? { lookup: lookupWith(resolver) }
          : {}),
      });
      const fail = (error: ProbeError): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      // One timer for TCP and handshake together: a server that trickles its handshake
      // cannot outlive the overall deadline.
      const timer = setTimeout(() => {
        fail(
          tcpConnected
            ? new ProbeError('DEADLINE_EXCEEDED', `TLS handshake with ${target} did not complete in time`, {
                stage: 'tls',
              })
            : new ProbeError('CONNECT_TIMEOUT', `TCP connection to ${target} timed out`, { stage: 'connect' }),
        );
      }, deadline.remainingMs());
      socket.once('connect', () => (tcpConnected = true));
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // The caller attaches its own handlers; until then a late reset must not crash the process.
        socket.on('error', () => undefined);
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const code = connectErrorCode(err);
        const stage = code.startsWith('DNS_') ? 'resolve' : tcpConnected ? 'tls' : 'connect';
        // OpenSSL's messages span lines (and end in one); a finding's message is one line.
        const detail = err.message.replace(/\s+/g, ' ').trim();
        fail(new ProbeError(code, `${target}: ${err.code ?? 'error'}: ${detail}`, { stage, cause: err }));
      });
    });
}
