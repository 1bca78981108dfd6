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
import * as tls from 'node:tls';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { CERT_VERIFICATION_CODES, finding, type Finding } from '../findings.js';
import { isPrivateAddress } from '../net/address.js';
import { DnsError } from '../net/resolver.js';
import type { ProbeContext } from '../options.js';
import type { TlsSessionInfo } from '../result.js';
import { inspectTlsSession, tlsClientOptions } from '../tls/inspect.js';
import { normaliseHost } from './mx-pattern.js';
import { httpGet, POLICY_PATH, type HttpOutcome } from './policy-http.js';

export { MAX_HEADER_BYTES, MAX_POLICY_BYTES, mediaType, POLICY_PATH } from './policy-http.js';

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
      extraCa: ctx.extraCa,
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
    if (CERT_VERIFICATION_CODES.has(f.code)) {
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

function toFinding(err: unknown, url: string): Finding {
  if (err instanceof ProbeError) return finding(err.code, `${url}: ${err.message}`);
  return finding('MTASTS_POLICY_UNREACHABLE', `${url}: unexpected failure: ${String(err)}`);
}
