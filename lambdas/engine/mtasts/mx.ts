/**
 * The MX side of an MTA-STS check: which hosts receive mail for the domain (RFC 5321 §5.1,
 * RFC 7505 null MX) and whether each would be accepted by a sender applying the policy
 * (RFC 8461 §4.2, §5): STARTTLS, TLS 1.2 or later, a certificate trusted and valid for the
 * MX name by DNS-ID. The SMTP session itself is the smtp check's engine, injected.
 */
import { ipFamily } from '../net/ip.js';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { CERT_VERIFICATION_CODES, finding, UNREACHABLE, type Finding, type FindingCode } from '../findings.js';
import { isPrivateAddress } from '../net/address.js';
import { DnsError, type MxRecord } from '../net/resolver.js';
import type { ProbeContext } from '../context.js';
import { isBelowTls12, type TlsSessionInfo } from '../result.js';

/** What one SMTP probe of an MX address found: the TLS session and the smtp engine's findings. */
export interface MxProbeOutcome {
  readonly tls?: TlsSessionInfo;
  readonly findings: readonly Finding[];
}

/** Probes one MX host on port 25 at an already vetted address. Must not throw. */
export type MxProber = (
  host: string,
  address: string,
  ctx: ProbeContext,
  options: { readonly timeoutMs: number; readonly port: number },
) => Promise<MxProbeOutcome>;

/** What became of one address of an MX host. */
export type MxAddressOutcome =
  /** STARTTLS, TLS 1.2 or later, a certificate valid for the MX name (RFC 8461 §4.2). */
  | 'passed'
  | 'failed'
  /** The check's deadline ended the probe before it could say either. */
  | 'deadline'
  /** A loopback, private or link-local address from DNS (SSRF guard): not probed. */
  | 'blocked'
  /** MX probing is off, the probe host has no IPv6, or no time was left: not probed. */
  | 'not-probed';

export interface MxAddressReport {
  readonly address: string;
  readonly outcome: MxAddressOutcome;
  /** Why an address was not probed. */
  readonly reason?: string;
  readonly tls?: TlsSessionInfo;
  readonly findings: readonly Finding[];
}

export interface MxHostReport {
  readonly host: string;
  readonly priority: number;
  /** Whether an mx pattern of the policy covers the host; absent without a usable policy. */
  readonly covered?: boolean;
  /** The pattern that covers it. */
  readonly pattern?: string;
  readonly addresses: readonly string[];
  /** The address whose session `tls` shows: the first that passed, else the first probed. */
  readonly address?: string;
  readonly tls?: TlsSessionInfo;
  /** Every address of the host, probed one by one (RFC 5321 §5.1: senders try them all). */
  readonly probes: readonly MxAddressReport[];
  /** The host's findings: coverage, then each address's, with their final severities. */
  readonly findings: readonly Finding[];
}

export type MxDiscovery =
  | { readonly kind: 'mx'; readonly records: readonly MxRecord[]; readonly implicit: boolean }
  | { readonly kind: 'null-mx' }
  | { readonly kind: 'failed'; readonly finding: Finding };

/**
 * The MX hosts of a domain, by priority. No MX records means the domain itself is the
 * implicit MX when it has an address (RFC 5321 §5.1); a single MX of "." is a null MX
 * (RFC 7505): the domain accepts no mail.
 */
export async function discoverMx(domain: string, ctx: ProbeContext): Promise<MxDiscovery> {
  try {
    const records = await ctx.resolver.mx(domain);
    if (records.length === 1 && (records[0]?.exchange === '' || records[0]?.exchange === '.')) {
      return { kind: 'null-mx' };
    }
    const sorted = [...records].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange));
    return { kind: 'mx', records: sorted, implicit: false };
  } catch (err) {
    if (err instanceof DnsError && err.kind === 'NODATA') {
      return { kind: 'mx', records: [{ exchange: domain, priority: 0 }], implicit: true };
    }
    if (err instanceof DnsError && err.kind === 'NXDOMAIN') {
      return {
        kind: 'failed',
        finding: finding('DNS_NXDOMAIN', `the domain ${domain} does not exist (MX lookup: NXDOMAIN)`),
      };
    }
    const kind = err instanceof DnsError ? err.kind : String(err);
    return { kind: 'failed', finding: finding('MTASTS_DNS_ERROR', `MX lookup of ${domain} failed: ${kind}`) };
  }
}

const NO_TLS = new Set<string>([
  'STARTTLS_NOT_OFFERED',
  'STARTTLS_REJECTED',
  'TLS_HANDSHAKE_FAILED',
  'TLS_WRONG_MODE',
  'TLS_NO_MODERN_PROTOCOL',
]);

/** The MX findings that mean "a sender applying the policy cannot deliver through this address". */
export const MX_FAILURE_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'MTASTS_MX_UNREACHABLE',
  'MTASTS_MX_NO_STARTTLS',
  'MTASTS_MX_CERT_INVALID',
  'DEADLINE_EXCEEDED',
]);

/** When the check's deadline, not the server, ended a probe: the budget the address had. */
export interface DeadlineCut {
  readonly budgetMs: number;
}

/**
 * Turns the smtp engine's findings for one MX address into MTA-STS findings (§4.2): the
 * reason is kept in the message so the owner sees e.g. which certificate problem it was.
 * When the check's deadline ended the probe, its timeouts are DEADLINE_EXCEEDED: the MX
 * was not shown to be unreachable, the probe ran out of time (no port-25 advice then).
 */
export function mapMxFindings(host: string, address: string, outcome: MxProbeOutcome, cut?: DeadlineCut): Finding[] {
  const where = `MX ${host} (${address})`;
  const out: Finding[] = [];
  const grouped = new Map<FindingCode, string[]>();
  const add = (code: FindingCode, reason: string): void => {
    grouped.set(code, [...(grouped.get(code) ?? []), reason]);
  };
  for (const f of outcome.findings) {
    const reason = `${f.code}: ${f.message}`;
    if (cut !== undefined && (UNREACHABLE.has(f.code) || NO_TLS.has(f.code))) add('DEADLINE_EXCEEDED', reason);
    else if (UNREACHABLE.has(f.code)) add('MTASTS_MX_UNREACHABLE', reason);
    else if (NO_TLS.has(f.code)) add('MTASTS_MX_NO_STARTTLS', reason);
    else if (f.code === 'TLS_LEGACY_PROTOCOL' && f.severity === 'critical') add('MTASTS_MX_NO_STARTTLS', reason);
    else if (CERT_VERIFICATION_CODES.has(f.code)) add('MTASTS_MX_CERT_INVALID', reason);
    else out.push({ ...f, message: `${where}: ${f.message}` });
  }
  // §4.2 requires TLS 1.2 or later, whatever the smtp engine's own threshold.
  const protocol = outcome.tls?.protocol;
  if (protocol !== undefined && isBelowTls12(protocol) && !grouped.has('MTASTS_MX_NO_STARTTLS')) {
    add('MTASTS_MX_NO_STARTTLS', `negotiated ${protocol}; RFC 8461 §4.2 requires TLS 1.2 or later`);
  }
  for (const [code, reasons] of grouped) {
    const message =
      code === 'DEADLINE_EXCEEDED' && cut !== undefined
        ? `${where}: the check's deadline ended the probe after the ${cut.budgetMs} ms this address could have (${reasons.join('; ')}); not judged: raise the check's timeoutMs to tell a slow MX from an unreachable one`
        : `${where}: ${reasons.join('; ')}`;
    out.unshift(finding(code, message));
  }
  return out;
}

/** An MX host with its addresses resolved and vetted, ready to be probed. */
export interface MxTarget {
  readonly host: string;
  readonly priority: number;
  readonly addresses: readonly string[];
  /** The addresses that may be probed (all of them with allowPrivate). */
  readonly usable: readonly string[];
  /** Why the host cannot be probed at all (lookup failed, only private addresses). */
  readonly problem?: Finding;
}

export { UNREACHABLE };
export { hostHasIpv6 } from '../net/address.js';

/** Resolves and vets the MX hosts, all at once, within the check's deadline. Never throws. */
export function resolveMxTargets(
  records: readonly MxRecord[],
  ctx: ProbeContext,
  deadline: Deadline,
  options: { readonly ipv6: boolean } = { ipv6: true },
): Promise<MxTarget[]> {
  return Promise.all(records.map((record) => resolveMxTarget(record, ctx, deadline, options.ipv6)));
}

async function resolveMxTarget(
  record: MxRecord,
  ctx: ProbeContext,
  deadline: Deadline,
  ipv6: boolean,
): Promise<MxTarget> {
  const host = record.exchange.replace(/\.$/, '');
  const base = { host, priority: record.priority };
  let addresses: string[];
  try {
    addresses = await beforeDeadline(ctx.resolver.addresses(host), deadline, host);
  } catch (err) {
    if (err instanceof ProbeError)
      return { ...base, addresses: [], usable: [], problem: finding(err.code, err.message) };
    const kind = err instanceof DnsError ? err.kind : String(err);
    const code = err instanceof DnsError && !err.isNegativeAnswer ? 'MTASTS_DNS_ERROR' : 'MTASTS_MX_UNREACHABLE';
    return { ...base, addresses: [], usable: [], problem: finding(code, `MX ${host}: A/AAAA lookup failed: ${kind}`) };
  }
  const allowed = ctx.allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a));
  const reachable = ipv6 ? allowed : allowed.filter((a) => ipFamily(a) !== 6);
  // With only IPv6 addresses and no IPv6 here, try them anyway: the failure is then reported.
  const usable = reachable.length > 0 ? reachable : allowed;
  if (usable.length === 0) {
    return {
      ...base,
      addresses,
      usable,
      problem: finding(
        'ADDRESS_BLOCKED',
        `MX ${host} resolves only to non-public addresses (${addresses.join(', ')}); it was not probed`,
      ),
    };
  }
  return { ...base, addresses, usable };
}

/** What one SMTP probe of one MX address returned, and whether the deadline ended it. */
export interface MxAddressProbe {
  readonly host: string;
  readonly address: string;
  readonly outcome?: MxProbeOutcome;
  /** Set when the probe used all of its budget: the deadline, not the server, ended it. */
  readonly cut?: DeadlineCut;
}

const DEADLINE_SLACK_MS = 5;

/** Time kept back from the MX probes so the check can still build its result before its deadline. */
export const MX_RESULT_RESERVE_MS = 100;

/**
 * Probes every usable address of every MX host (RFC 5321 §5.1: senders try each address),
 * at most `concurrency` at a time. Each probe gets an equal share of the time left for the
 * probes still to start, counted in waves of `concurrency`: a blackholed address uses its
 * own share, never the time of the addresses after it, and the last wave is not starved.
 */
export async function probeMxTargets(
  targets: readonly MxTarget[],
  ctx: ProbeContext,
  deadline: Deadline,
  prober: MxProber,
  options: { readonly port: number; readonly concurrency: number },
): Promise<MxAddressProbe[]> {
  const jobs = targets.flatMap((t) => t.usable.map((address) => ({ host: t.host, address })));
  const limit = Math.max(1, options.concurrency);
  return mapLimited(jobs, limit, async ({ host, address }, index) => {
    const wavesLeft = Math.ceil((jobs.length - index) / limit);
    const budgetMs = Math.floor((deadline.remainingMs() - MX_RESULT_RESERVE_MS) / wavesLeft);
    if (budgetMs <= 0) return { host, address };
    const started = ctx.clock.now();
    const outcome = await prober(host, address, ctx, { timeoutMs: budgetMs, port: options.port });
    const failed = outcome.findings.some((f) => UNREACHABLE.has(f.code) || NO_TLS.has(f.code));
    // The smtp engine's deadline starts after `started` and its timers never fire early; the
    // few milliseconds of slack absorb wall-clock rounding against the monotonic timers.
    const usedItAll = ctx.clock.now() - started >= budgetMs - DEADLINE_SLACK_MS;
    return { host, address, outcome, ...(failed && usedItAll ? { cut: { budgetMs } } : {}) };
  });
}

/** The per-address reports of one MX host, before the policy's grading. */
export function addressReports(
  target: MxTarget,
  probes: readonly MxAddressProbe[],
  ctx: Pick<ProbeContext, 'allowPrivate'>,
): MxAddressReport[] {
  const own = new Map(probes.filter((p) => p.host === target.host).map((p) => [p.address, p]));
  return target.addresses.map((address): MxAddressReport => {
    if (!target.usable.includes(address)) {
      return ctx.allowPrivate || !isPrivateAddress(address)
        ? { address, outcome: 'not-probed', reason: 'the probe host has no IPv6 address', findings: [] }
        : { address, outcome: 'blocked', reason: 'not a public address (SSRF guard)', findings: [] };
    }
    const probe = own.get(address);
    if (probe?.outcome === undefined) {
      return {
        address,
        outcome: 'not-probed',
        findings:
          probe === undefined
            ? []
            : [
                finding(
                  'DEADLINE_EXCEEDED',
                  `MX ${target.host} (${address}): no time left in the check's deadline to probe it`,
                ),
              ],
      };
    }
    const findings = mapMxFindings(target.host, address, probe.outcome, probe.cut);
    const outcome: MxAddressOutcome =
      probe.cut !== undefined ? 'deadline' : findings.some((f) => MX_FAILURE_CODES.has(f.code)) ? 'failed' : 'passed';
    return { address, outcome, ...(probe.outcome.tls !== undefined ? { tls: probe.outcome.tls } : {}), findings };
  });
}

/** Abandons a DNS lookup (c-ares cannot cancel one) when the check's deadline passes. */
function beforeDeadline<T>(work: Promise<T>, deadline: Deadline, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProbeError('DEADLINE_EXCEEDED', `MX ${host}: A/AAAA lookup did not finish within the deadline`)),
      deadline.remainingMs(),
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
