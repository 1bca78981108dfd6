/**
 * One STARTTLS handshake to one MX address, to see the certificate chain exactly as the
 * server sends it. The SMTP dialogue is the engine's STARTTLS connector; the TLS context
 * here has an empty trust store on purpose, so Node does not append roots of its own to
 * the chain (DANE-TA must match a certificate the server presented, RFC 7671 §5.2.2) and
 * nothing is judged by PKIX: DANE decides.
 */
import type { X509Certificate } from 'node:crypto';
import { ipFamily } from '../net/ip.js';
import * as tls from 'node:tls';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import type { FindingCode } from '../findings.js';
import type { ProbeContext } from '../context.js';
import { starttlsConnector } from '../smtp/connector.js';
import { peerChain, PROBE_CIPHERS, PROBE_MIN_DH_SIZE } from '../tls/inspect.js';

export type EndpointProbe =
  | { readonly ok: true; readonly chain: readonly X509Certificate[]; readonly protocol: string }
  | { readonly ok: false; readonly code: FindingCode; readonly message: string };

/** Probes `address` with SNI `name`: the TLSA base domain (RFC 7672 §8.1), the MX host unless a CNAME was followed. */
export type EndpointProber = (
  host: string,
  address: string,
  port: number,
  ctx: ProbeContext,
  deadline: Deadline,
) => Promise<EndpointProbe>;

let emptyStore: tls.SecureContext | undefined;

function context(): tls.SecureContext {
  // `ca: []` replaces Node's bundled roots with nothing.
  emptyStore ??= tls.createSecureContext({ ca: [], ciphers: PROBE_CIPHERS, minVersion: 'TLSv1' });
  return emptyStore;
}

export const starttlsEndpointProber: EndpointProber = async (host, address, port, ctx, deadline) => {
  const connector = starttlsConnector({ host, port, address }, ctx);
  try {
    const socket = await connector(
      {
        secureContext: context(),
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        ...(ipFamily(host) === 0 ? { servername: host } : {}),
        minDHSize: PROBE_MIN_DH_SIZE,
      },
      deadline,
    );
    try {
      return { ok: true, chain: peerChain(socket), protocol: socket.getProtocol() ?? 'unknown' };
    } finally {
      socket.destroy();
    }
  } catch (err) {
    if (err instanceof ProbeError) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: 'TLS_HANDSHAKE_FAILED', message: String(err) };
  }
};
