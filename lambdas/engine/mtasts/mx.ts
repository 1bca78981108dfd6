/**
 * The MX side of an MTA-STS check: which hosts receive mail for the domain (RFC 5321 §5.1,
 * RFC 7505 null MX) and whether each would be accepted by a sender applying the policy
 * (RFC 8461 §4.2, §5): STARTTLS, TLS 1.2 or later, a certificate trusted and valid for the
 * MX name by DNS-ID. The SMTP session itself is the smtp check's engine, injected.
 */
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { CERT_VERIFICATION_CODES, finding, type Finding, type FindingCode } from '../findings.js';
import { isPrivateAddress } from '../net/address.js';
import { DnsError, type MxRecord } from '../net/resolver.js';
import type { ProbeContext } from '../options.js';
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

export interface MxHostReport {
  readonly host: string;
  readonly priority: number;
  /** Whether an mx pattern of the policy covers the host; absent without a usable policy. */
  readonly covered?: boolean;
  /** The pattern that covers it. */
  readonly pattern?: string;
  readonly addresses: readonly string[];
  /** The address probed over SMTP. */
  readonly address?: string;
  readonly tls?: TlsSessionInfo;
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

// SMTP findings that mean "no SMTP session at all" versus "no acceptable TLS" versus "bad certificate".
const UNREACHABLE = new Set<string>([
  'DNS_NXDOMAIN',
  'DNS_ERROR',
  'CONNECT_REFUSED',
  'CONNECT_RESET',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'GREETING_REJECTED',
  'EHLO_REJECTED',
  'PROTOCOL_VIOLATION',
  'DEADLINE_EXCEEDED',
  'PROBE_INTERNAL_ERROR',
]);
const NO_TLS = new Set<string>([
  'STARTTLS_NOT_OFFERED',
  'STARTTLS_REJECTED',
  'TLS_HANDSHAKE_FAILED',
  'TLS_WRONG_MODE',
  'TLS_NO_MODERN_PROTOCOL',
]);

/**
 * Turns the smtp engine's findings for one MX into MTA-STS findings (§4.2): the reason is
 * kept in the message so the owner sees e.g. which certificate problem it was.
 */
export function mapMxFindings(host: string, address: string, outcome: MxProbeOutcome): Finding[] {
  const where = `MX ${host} (${address})`;
  const out: Finding[] = [];
  const grouped = new Map<FindingCode, string[]>();
  const add = (code: FindingCode, reason: string): void => {
    grouped.set(code, [...(grouped.get(code) ?? []), reason]);
  };
  for (const f of outcome.findings) {
    const reason = `${f.code}: ${f.message}`;
    if (UNREACHABLE.has(f.code)) add('MTASTS_MX_UNREACHABLE', reason);
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
    out.unshift(finding(code, `${where}: ${reasons.join('; ')}`));
  }
  return out;
}

/** Resolves, vets and probes one MX host. Never throws. */
export async function checkMxHost(
  record: MxRecord,
  ctx: ProbeContext,
  deadline: Deadline,
  prober: MxProber,
  port: number,
): Promise<Omit<MxHostReport, 'covered' | 'pattern'>> {
  const host = record.exchange.replace(/\.$/, '');
  const base = { host, priority: record.priority };
  let addresses: string[];
  try {
    addresses = await beforeDeadline(ctx.resolver.addresses(host), deadline, host);
  } catch (err) {
    if (err instanceof ProbeError) return { ...base, addresses: [], findings: [finding(err.code, err.message)] };
    const kind = err instanceof DnsError ? err.kind : String(err);
    const code = err instanceof DnsError && !err.isNegativeAnswer ? 'MTASTS_DNS_ERROR' : 'MTASTS_MX_UNREACHABLE';
    return { ...base, addresses: [], findings: [finding(code, `MX ${host}: A/AAAA lookup failed: ${kind}`)] };
  }
  const usable = ctx.allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a));
  const address = usable[0];
  if (address === undefined) {
    return {
      ...base,
      addresses,
      findings: [
        finding(
          'ADDRESS_BLOCKED',
          `MX ${host} resolves only to non-public addresses (${addresses.join(', ')}); it was not probed`,
        ),
      ],
    };
  }
  const timeoutMs = deadline.remainingMs();
  if (timeoutMs <= 0) {
    return {
      ...base,
      addresses,
      findings: [finding('DEADLINE_EXCEEDED', `MX ${host}: no time left in the check's deadline to probe it`)],
    };
  }
  const outcome = await prober(host, address, ctx, { timeoutMs, port });
  return {
    ...base,
    addresses,
    address,
    ...(outcome.tls !== undefined ? { tls: outcome.tls } : {}),
    findings: mapMxFindings(host, address, outcome),
  };
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
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
