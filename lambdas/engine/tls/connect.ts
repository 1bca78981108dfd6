/**
 * How a probe reaches a completed TLS handshake. The tls check makes several handshakes
 * with different options and does not care how TLS is reached: from the first byte
 * (here) or after SMTP STARTTLS (smtp/connector.ts). Both fail with the same ProbeError
 * codes, mapped from Node's error codes, never from message text.
 */
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import { ipFamily } from '../net/ip.js';
import * as tls from 'node:tls';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import type { FindingCode } from '../findings.js';
import type { Resolver } from '../net/resolver.js';
import { DnsError } from '../net/resolver.js';
import { oneLine, socketErrorCode } from '../net/socket-errors.js';
import { attachWire, HANDSHAKE_CAPTURE_BYTES, WireTap } from './wire.js';

export interface WireOptions {
  /** Keep what the server sent during the handshake (wireOf(socket), tls/wire.ts). @default false */
  readonly captureHandshake?: boolean;
  /**
   * Called with the socket as soon as it exists, before the handshake: for a caller that must
   * be able to destroy it from outside (the mta-sts fetch's one timer).
   */
  readonly onSocket?: (socket: tls.TLSSocket) => void;
}

/** Resolves once the handshake completed; the caller owns (and destroys) the socket. */
export type TlsConnector = (
  options: tls.ConnectionOptions,
  deadline: Deadline,
  wire?: WireOptions,
) => Promise<tls.TLSSocket>;

/** The findings code of a socket or TLS error of a handshake from the first byte. */
export function connectErrorCode(err: unknown): FindingCode {
  return socketErrorCode(err, 'tls-first-byte');
}

const starttlsExtraData = new WeakMap<tls.TLSSocket, number>();

/** Records that the server sent `bytes` after its 220 to STARTTLS (RFC 3207 §6) on this socket. */
export function noteStarttlsExtraData(socket: tls.TLSSocket, bytes: number): void {
  if (bytes > 0) starttlsExtraData.set(socket, bytes);
}

/** Bytes the server sent after its 220 to STARTTLS and before the handshake of this socket; 0 if none. */
export function starttlsExtraDataOf(socket: tls.TLSSocket): number {
  return starttlsExtraData.get(socket) ?? 0;
}

/** Node's `lookup` hook backed by the run's resolver, so --dns-server also covers implicit TLS. */
function lookupWith(resolver: Resolver, deadline: Deadline): LookupFunction {
  // One lookup for all of a check's handshakes (default, DHE-only, one per version): six
  // parallel lookups of a host with dead name servers would occupy the resolver six times.
  const memo = new Map<string, Promise<string[]>>();
  const addresses = (hostname: string): Promise<string[]> => {
    let found = memo.get(hostname);
    if (found === undefined) {
      // Cancelled at the check's deadline (the handshakes share it), never abandoned.
      found = resolver.addresses(hostname, { signal: AbortSignal.timeout(Math.max(1, deadline.remainingMs())) });
      memo.set(hostname, found);
    }
    return found;
  };
  return (hostname, options, callback) => {
    addresses(hostname).then(
      (addresses) => {
        const all = addresses.map((address) => ({ address, family: ipFamily(address) }));
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
  let lookup: LookupFunction | undefined;
  return (options, deadline, wire = {}) =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      if (deadline.expired()) {
        reject(new ProbeError('DEADLINE_EXCEEDED', `no time left to connect to ${target}`, { stage: 'connect' }));
        return;
      }
      let tcpConnected = false;
      // Whether a name still had to be looked up when time ran out: then it is DNS's fault.
      let lookedUp = address !== undefined || ipFamily(host) !== 0;
      const where = {
        host: address ?? host,
        port,
        ...(address === undefined && resolver !== undefined && ipFamily(host) === 0
          ? { lookup: (lookup ??= lookupWith(resolver, deadline)) }
          : {}),
      };
      let socket: tls.TLSSocket;
      if (wire.captureHandshake === true) {
        // TCP first, then TLS over a tap that keeps the server's flight (tls/wire.ts).
        const plain = net.connect(where);
        plain.once('connect', () => (tcpConnected = true));
        plain.once('lookup', () => (lookedUp = true));
        const tap = new WireTap(plain, HANDSHAKE_CAPTURE_BYTES);
        socket = tls.connect({ ...options, socket: tap });
        attachWire(socket, tap);
      } else {
        socket = tls.connect({ ...options, ...where });
      }
      wire.onSocket?.(socket);
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
            : !lookedUp
              ? new ProbeError('DNS_ERROR', `DNS lookup of ${host} did not answer in time`, { stage: 'resolve' })
              : new ProbeError('CONNECT_TIMEOUT', `TCP connection to ${target} timed out`, { stage: 'connect' }),
        );
      }, deadline.remainingMs());
      socket.once('connect', () => (tcpConnected = true));
      socket.once('lookup', () => (lookedUp = true));
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // The caller attaches its own handlers; until then a late reset must not crash the process.
        socket.on('error', () => undefined);
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const code = socketErrorCode(err, tcpConnected ? 'tls-first-byte' : 'tcp');
        const stage = code.startsWith('DNS_') ? 'resolve' : tcpConnected ? 'tls' : 'connect';
        // OpenSSL's messages span lines (and end in one); a finding's message is one line.
        const detail = oneLine(err.message);
        fail(new ProbeError(code, `${target}: ${err.code ?? 'error'}: ${detail}`, { stage, cause: err }));
      });
    });
}
