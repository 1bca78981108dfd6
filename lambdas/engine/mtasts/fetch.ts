/**
 * The MTA-STS policy fetch (RFC 8461 §3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt`,
 * done the way a careful sender does it and no more permissively:
 *
 * - the host is resolved once and the connection goes to those addresses (no second lookup a
 *   DNS rebinding could redirect), after the SSRF guard has vetted them; every address is
 *   tried in order, each with its own share of the budget (RFC 5321 §5.1 style: one
 *   blackholed address must not use up the time the next one needs), and reported;
 * - TLS 1.2 or later: the probe offers TLS 1.0 to 1.3 so it can say what the host speaks, but
 *   senders' HTTPS clients refuse anything older than 1.2 (RFC 8996), so a policy fetched
 *   over TLS 1.0/1.1 is no more usable to them than one behind a bad certificate;
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
import { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { CERT_VERIFICATION_CODES, finding, type Finding } from '../findings.js';
import { isPrivateAddress } from '../net/address.js';
import { DnsError } from '../net/resolver.js';
import type { ProbeContext } from '../context.js';
import { isBelowTls12, type TlsSessionInfo } from '../result.js';
import { implicitTlsConnector } from '../tls/connect.js';
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

/** One address of the policy host and what became of it. */
export interface PolicyAddressAttempt {
  readonly address: string;
  /** `used`: the policy was fetched over it; `failed`: no TLS session; `skipped`: no time was left. */
  readonly outcome: 'used' | 'failed' | 'skipped';
  /** Why it failed, e.g. `connection failed: ECONNREFUSED`. */
  readonly reason?: string;
}

export interface PolicyFetchResult {
  /** `mta-sts.DOMAIN`. */
  readonly host: string;
  readonly url: string;
  /** The address the policy was fetched from. */
  readonly address?: string;
  /** Every vetted address in the order tried. */
  readonly attempts: readonly PolicyAddressAttempt[];
  /**
   * True when senders would accept the connection the policy came over: a certificate valid
   * for the policy host by DNS-ID, and TLS 1.2 or later (RFC 8461 §3.3). Senders ignore a
   * policy fetched otherwise, so its mode must soften nothing.
   */
  readonly authenticated: boolean;
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
  const fetchDeadline = new Deadline(budgetMs, ctx.clock);
  const state: FetchState = { wireBytes: 0, attempts: [] };

  // One timer for the whole fetch: DNS, connect, handshake, headers and body.
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      state.aborted = true;
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
  let authenticated = false;
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

    const socket = await bounded(connectEach(usable, port, host, ctx, state, fetchDeadline));
    findings.push(...unreachableAddressFindings(host, port, state.attempts));
    const inspected = inspectTlsSession(socket, {
      servername: host,
      identity: 'dns-id',
      clock: ctx.clock,
      thresholds: ctx.thresholds,
      extraCa: ctx.extraCa,
    });
    state.tls = inspected.tls;
    const certFindings = policyCertFindings(host, inspected.verified, inspected.findings);
    const legacy = legacyProtocolFinding(host, state.address ?? '', inspected.tls.protocol);
    findings.push(...(legacy !== undefined ? [legacy] : []), ...certFindings);
    authenticated = legacy === undefined && !certFindings.some((f) => f.code === 'MTASTS_POLICY_CERT_INVALID');

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
    attempts: state.attempts,
    authenticated,
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

interface FetchState {
  address?: string;
  tls?: TlsSessionInfo;
  socket?: tls.TLSSocket;
  wireBytes: number;
  attempts: PolicyAddressAttempt[];
  /** Set when the fetch's timer fired: no further address may be tried. */
  aborted?: boolean;
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

/**
 * Connects to the addresses in order until one completes a TLS handshake. Each address gets
 * an equal share of what is left of the fetch's budget (the last one all of it), so a
 * blackholed first address cannot use up the time the others need.
 */
async function connectEach(
  addresses: readonly string[],
  port: number,
  host: string,
  ctx: ProbeContext,
  state: FetchState,
  deadline: Deadline,
): Promise<tls.TLSSocket> {
  for (const [index, address] of addresses.entries()) {
    const shareMs = Math.floor(deadline.remainingMs() / (addresses.length - index));
    if (shareMs <= 0 || state.aborted === true) {
      state.attempts.push({ address, outcome: 'skipped', reason: 'no time left in the fetch budget' });
      continue;
    }
    try {
      const socket = await handshake(address, port, host, ctx, state, shareMs);
      state.address = address;
      state.attempts.push({ address, outcome: 'used' });
      return socket;
    } catch (err) {
      state.attempts.push({ address, outcome: 'failed', reason: (err as Error).message });
    }
  }
  const failures = state.attempts.map((a) => `${a.address}: ${a.reason ?? a.outcome}`);
  throw new ProbeError(
    'MTASTS_POLICY_UNREACHABLE',
    `could not connect to ${host} port ${port} (${failures.join('; ')})`,
  );
}

async function handshake(
  address: string,
  port: number,
  host: string,
  ctx: ProbeContext,
  state: { socket?: tls.TLSSocket },
  timeoutMs: number,
): Promise<tls.TLSSocket> {
  // Pinned: `address` is the one already resolved and vetted; SNI carries the name.
  const connect = implicitTlsConnector(host, port, address);
  try {
    return await connect({ ...tlsClientOptions(ctx, host), servername: host }, new Deadline(timeoutMs, ctx.clock), {
      onSocket: (socket) => (state.socket = socket),
    });
  } catch (err) {
    throw new Error(attemptFailure(err, timeoutMs), { cause: err });
  }
}

/** Why an address failed, as the attempt reports it: the connector's ProbeError in the fetch's words. */
function attemptFailure(err: unknown, timeoutMs: number): string {
  if (!(err instanceof ProbeError)) return String(err);
  if (err.code === 'CONNECT_TIMEOUT') return `no TCP connection within ${timeoutMs} ms (connect timeout)`;
  if (err.code === 'DEADLINE_EXCEEDED' && err.stage === 'tls') return `no TLS handshake within ${timeoutMs} ms`;
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  if (cause === undefined) return err.message;
  const what = err.stage === 'tls' ? 'TLS handshake failed' : 'connection failed';
  return `${what}: ${cause.code ?? cause.message}`;
}

/**
 * Addresses that failed before one worked: the policy was fetched, but a sender whose
 * client tries a dead address first waits or fails there. A warning, not an outage.
 */
function unreachableAddressFindings(host: string, port: number, attempts: readonly PolicyAddressAttempt[]): Finding[] {
  const used = attempts.find((a) => a.outcome === 'used')?.address;
  return attempts
    .filter((a) => a.outcome !== 'used')
    .map((a) =>
      finding(
        'MTASTS_POLICY_UNREACHABLE',
        `${host} address ${a.address} port ${port}: ${a.reason ?? a.outcome}; the policy was fetched from ${used ?? 'another address'}, but senders that try this address first are delayed or fail`,
        {
          severity: 'warning',
          hint: 'One address of the policy host does not answer HTTPS while another does. Fix the server behind that address or remove its A/AAAA record from mta-sts.DOMAIN.',
        },
      ),
    );
}

/** RFC 8996 and senders' HTTPS stacks: nothing below TLS 1.2. */
function legacyProtocolFinding(host: string, address: string, protocol: string): Finding | undefined {
  if (!isBelowTls12(protocol)) return undefined;
  return finding(
    'MTASTS_POLICY_TLS_LEGACY',
    `${host} (${address}) negotiated ${protocol} although the probe offered up to TLS 1.3, so it speaks nothing newer; senders' HTTPS clients require TLS 1.2 or later and cannot fetch the policy`,
  );
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
