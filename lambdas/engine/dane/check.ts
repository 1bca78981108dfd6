/**
 * The `dane` check (RFC 7672) for one domain, and the DANE verdict every mta-sts result
 * carries: the MX RRset validated by the probe's own DNSSEC validator, for each MX host
 * the TLSA RRset at `_25._tcp.<host>` (CNAME-expanded base domain first, RFC 7672 §2.2.3),
 * STARTTLS to every address of the host, and the presented chain matched against the
 * usable records (tlsa.ts).
 *
 * A DNS failure is never "no DANE": a lookup without an answer is DANE_DNS_ERROR, a
 * validation failure DANE_DNSSEC_BOGUS. Only a provable absence (secure denial, or an
 * unsigned zone) is DANE_NOT_DEPLOYED. When the chain of trust cannot be checked at all
 * but the resolver answers that no TLSA records exist, DANE is not deployed either: no
 * sender could use what is not there.
 */
import type { X509Certificate } from 'node:crypto';
import type { DaneCheckSpec } from '../checks.js';
import { Deadline } from '../deadline.js';
import { finding, statusOf, type Finding } from '../findings.js';
import { ipFamily } from '../net/ip.js';
import { UNREACHABLE } from '../findings.js';
import { hostHasIpv6 } from '../net/address.js';
import { isPrivateAddress } from '../net/address.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult, type CertificateInfo } from '../result.js';
import { describeCertificate } from '../tls/certificate.js';
import { IANA_ROOT_ANCHORS } from '../dnssec/anchors.js';
import { createQuery, dnsServerAddresses, type QueryFn } from '../dnssec/transport.js';
import { Validator, worse, type SecurityStatus, type ValidatedAnswer } from '../dnssec/validator.js';
import { addressOf, mxOf, normaliseName, tlsaOf, TYPE } from '../dnssec/wire.js';
import { starttlsEndpointProber, type EndpointProber } from './probe.js';
import { describeTlsa, matchChain, recordFor, USAGE, type TlsaRecordInfo } from './tlsa.js';

/**
 * Probe failures before TLS was tried: the MX could not be reached (or was not asked), so
 * its DANE state is unknown rather than failed. Everything else (STARTTLS missing or refused,
 * a failed handshake) fails delivery for a DANE sender.
 */
const UNREACHED: ReadonlySet<string> = new Set([...UNREACHABLE, 'ADDRESS_BLOCKED']);

/** MX hosts probed at once. */
export const DANE_MX_CONCURRENCY = 4;

export type DaneStatus =
  /** Every MX host with TLSA records authenticated on every address. */
  | 'valid'
  /** A DANE failure: senders that validate DANE defer or refuse mail. */
  | 'invalid'
  | 'not-deployed'
  /** The state could not be established (DNS failures). */
  | 'unknown';

export interface DaneEndpointReport {
  readonly address: string;
  readonly starttls: boolean;
  /** The chain as the server sent it, leaf first. */
  readonly chain: readonly CertificateInfo[];
  /** The TLSA record that authenticated the chain, and the certificate it matched (0: leaf). */
  readonly matched?: { readonly record: string; readonly depth: number; readonly subject: string };
  /** Why no record matched, record by record. */
  readonly mismatch?: readonly string[];
  /** The 3 1 1 record for the key the server presents, for the fix. */
  readonly currentKeyRecord?: string;
  readonly error?: string;
}

export interface DaneMxReport {
  readonly host: string;
  readonly priority: number;
  readonly addresses: readonly string[];
  readonly addressStatus?: SecurityStatus;
  readonly tlsa?: {
    /** The name looked up, `_25._tcp.<base domain>`. */
    readonly name: string;
    /** The owner of the records after CNAMEs. */
    readonly owner: string;
    readonly status: SecurityStatus;
    readonly records: readonly TlsaRecordInfo[];
    readonly why?: string;
  };
  readonly endpoints: readonly DaneEndpointReport[];
  /** Addresses not connected to, and why (an IPv6 address from a probe without IPv6). */
  readonly notProbed?: readonly { readonly address: string; readonly reason: string }[];
  readonly verdict: DaneStatus;
  readonly findings: readonly Finding[];
}

export interface DaneVerdict {
  readonly verdict: DaneStatus;
  readonly mxDnssec: { readonly status: SecurityStatus; readonly why: string };
  readonly mx: readonly DaneMxReport[];
  /** Domain-level findings followed by every host's. */
  readonly findings: readonly Finding[];
}

export interface DaneResult extends BaseResult, Omit<DaneVerdict, 'findings'> {
  readonly check: 'dane';
  readonly domain: string;
}

export interface DaneDeps {
  /** @default 25 */
  readonly mxPort?: number;
  /** @default the resolver in ctx.dnssec (or the system's) */
  readonly query?: QueryFn;
  /** @default STARTTLS via the engine's SMTP connector */
  readonly probe?: EndpointProber;
  /** @default DANE_MX_CONCURRENCY */
  readonly mxConcurrency?: number;
  /**
   * Connect to the MX addresses. False where port 25 is blocked: the DNS part (DNSSEC, TLSA
   * records, rollover) is still judged, the certificates are not. @default true
   */
  readonly connect?: boolean;
  /** Whether IPv6 addresses can be reached from here. @default hostHasIpv6() */
  readonly ipv6?: boolean;
}

export function createValidator(ctx: ProbeContext, deadline: Deadline, deps: DaneDeps = {}): Validator {
  return new Validator({
    query: deps.query ?? createQuery(dnsServerAddresses(ctx.dnssec?.server)),
    anchors: ctx.dnssec?.anchors ?? IANA_ROOT_ANCHORS,
    now: () => Math.floor(ctx.clock.now() / 1000),
    remainingMs: () => deadline.remainingMs(),
  });
}

export async function runDaneCheck(spec: DaneCheckSpec, ctx: ProbeContext, deps: DaneDeps = {}): Promise<DaneResult> {
  const startedMs = ctx.clock.now();
  const deadline = new Deadline(spec.timeoutMs ?? ctx.timeoutMs, ctx.clock);
  const domain = normaliseName(spec.domain);
  const { findings, ...rest } = await daneVerdict(domain, ctx, deadline, deps);
  return { ...baseResult(spec, findings, startedMs, ctx.clock), domain, ...rest };
}

/** The DANE verdict for a domain's MX hosts. Never throws: a bug is PROBE_INTERNAL_ERROR, the state unknown. */
export async function daneVerdict(
  domain: string,
  ctx: ProbeContext,
  deadline: Deadline,
  deps: DaneDeps = {},
): Promise<DaneVerdict> {
  try {
    return await domainVerdict(domain, ctx, deadline, deps);
  } catch (err) {
    const f = internalError(`DANE for ${domain}`, err);
    return { verdict: 'unknown', mxDnssec: { status: 'indeterminate', why: f.message }, mx: [], findings: [f] };
  }
}

function internalError(what: string, err: unknown): Finding {
  return finding(
    'PROBE_INTERNAL_ERROR',
    `${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
  );
}

async function domainVerdict(
  domain: string,
  ctx: ProbeContext,
  deadline: Deadline,
  deps: DaneDeps,
): Promise<DaneVerdict> {
  let validator: Validator;
  try {
    validator = createValidator(ctx, deadline, deps);
  } catch (err) {
    const f = finding('DANE_DNS_ERROR', `DANE for ${domain}: ${(err as Error).message}`);
    return { verdict: 'unknown', mxDnssec: { status: 'indeterminate', why: f.message }, mx: [], findings: [f] };
  }
  const mxAnswer = await validator.lookup(domain, TYPE.MX);
  const mxDnssec = { status: mxAnswer.status, why: mxAnswer.why };
  const stop = (f: Finding, verdict: DaneStatus): DaneVerdict => ({ verdict, mxDnssec, mx: [], findings: [f] });

  if (!mxAnswer.answered)
    return stop(finding('DANE_DNS_ERROR', `MX lookup of ${domain} failed: ${mxAnswer.why}`), 'unknown');
  if (mxAnswer.status === 'bogus') {
    return stop(
      finding('DANE_DNSSEC_BOGUS', `the MX RRset of ${domain} fails DNSSEC validation: ${mxAnswer.why}`),
      'invalid',
    );
  }
  if (mxAnswer.negative === 'NXDOMAIN') {
    return stop(finding('DNS_NXDOMAIN', `${domain} does not exist (NXDOMAIN, ${mxAnswer.status})`), 'unknown');
  }
  // RFC 7672 §2.2.1: an insecure MX RRset means the MX host names are not authenticated.
  if (mxAnswer.status === 'insecure') {
    return stop(
      finding(
        'DANE_NOT_DEPLOYED',
        `the MX RRset of ${domain} is not DNSSEC-signed (${mxAnswer.why}), so DANE does not apply`,
      ),
      'not-deployed',
    );
  }
  let hosts: { host: string; priority: number }[];
  if (mxAnswer.negative === 'NODATA') {
    hosts = [{ host: domain, priority: 0 }]; // RFC 5321 §5.1 implicit MX
  } else {
    hosts = mxAnswer.records
      .map((r) => {
        const mx = parsed(() => mxOf(r.rdata))[0];
        return mx === undefined ? undefined : { host: mx.exchange, priority: mx.priority };
      })
      .filter((h): h is { host: string; priority: number } => h !== undefined)
      .sort((a, b) => a.priority - b.priority || a.host.localeCompare(b.host));
    if (hosts.length === 1 && hosts[0]?.host === '') {
      return stop(
        finding('DANE_NOT_DEPLOYED', `${domain} has a null MX (RFC 7505): it accepts no mail`),
        'not-deployed',
      );
    }
  }
  const mxUnverified = mxAnswer.status === 'indeterminate';
  const reports = await mapLimited(hosts, deps.mxConcurrency ?? DANE_MX_CONCURRENCY, (h) =>
    hostVerdict(h.host, h.priority, validator, ctx, deadline, deps, mxUnverified ? mxAnswer.why : undefined),
  );
  const verdict = combine(reports.map((r) => r.verdict));
  const findings = reports.flatMap((r) => r.findings);
  if (verdict === 'not-deployed' && findings.length === 0) {
    findings.push(finding('DANE_NOT_DEPLOYED', `no MX host of ${domain} publishes TLSA records`));
  }
  return { verdict, mxDnssec, mx: reports, findings };
}

function combine(statuses: readonly DaneStatus[]): DaneStatus {
  if (statuses.includes('invalid')) return 'invalid';
  if (statuses.includes('unknown')) return 'unknown';
  if (statuses.includes('valid')) return 'valid';
  return 'not-deployed';
}

/** The TLSA RRset for a host: the CNAME-expanded base domain first, then the host name (RFC 7672 §2.2.3). */
async function tlsaFor(
  host: string,
  expanded: string | undefined,
  validator: Validator,
): Promise<{ base: string; answer: ValidatedAnswer }> {
  if (expanded !== undefined && expanded !== host) {
    const answer = await validator.lookup(`_25._tcp.${expanded}`, TYPE.TLSA);
    // Secure records there are the ones; a failed lookup there is a failure, not a reason to
    // look elsewhere (RFC 7672 §2.2.3): only a denial, or an unsigned zone, falls back.
    const failed = answer.status === 'bogus' || !answer.answered;
    if ((answer.status === 'secure' && answer.records.length > 0) || failed) return { base: expanded, answer };
  }
  return { base: host, answer: await validator.lookup(`_25._tcp.${host}`, TYPE.TLSA) };
}

async function hostVerdict(
  host: string,
  priority: number,
  validator: Validator,
  ctx: ProbeContext,
  deadline: Deadline,
  deps: DaneDeps,
  mxUnverified: string | undefined,
): Promise<DaneMxReport> {
  const [a, aaaa] = await Promise.all([validator.lookup(host, TYPE.A), validator.lookup(host, TYPE.AAAA)]);
  // Records from unsigned or unverified zones reach here unchecked: a malformed one is skipped.
  const addresses = [...a.records, ...aaaa.records].flatMap((r) => parsed(() => addressOf(r.type, r.rdata)));
  const addressStatus = worse(a.status, aaaa.status);
  // The CNAME-expanded name is a TLSA base domain only when the chain to it is secure (§2.2.3).
  const expanded = addressStatus === 'secure' ? (a.cnames.at(-1) ?? aaaa.cnames.at(-1)) : undefined;
  const { base, answer } = await tlsaFor(host, expanded, validator);
  const records = answer.records.map((r) => parsed(() => describeTlsa(tlsaOf(r.rdata)))[0] ?? malformedTlsa(r.rdata));
  const tlsa = {
    name: answer.name,
    owner: answer.owner,
    status: answer.status,
    records,
    ...(answer.status !== 'secure' ? { why: answer.why } : {}),
  };
  const report = (
    verdict: DaneStatus,
    findings: Finding[],
    endpoints: DaneEndpointReport[] = [],
    notProbed: { address: string; reason: string }[] = [],
  ): DaneMxReport => ({
    host,
    priority,
    addresses,
    addressStatus,
    tlsa,
    endpoints,
    ...(notProbed.length > 0 ? { notProbed } : {}),
    verdict,
    findings,
  });
  const at = `_25._tcp.${base}`;

  // RFC 7672 §2.2.2: with insecure address records senders do not use TLSA at all, so the
  // state of the TLSA RRset does not matter to them.
  if (addressStatus === 'insecure' && a.answered && aaaa.answered && addresses.length > 0) {
    return report('not-deployed', [
      finding(
        'DANE_NOT_DEPLOYED',
        `the address records of ${host} are insecure (${a.status !== 'secure' ? a.why : aaaa.why}); senders do not use its TLSA records`,
      ),
    ]);
  }
  if (answer.status === 'bogus') {
    return report('invalid', [finding('DANE_DNSSEC_BOGUS', `TLSA ${at} fails DNSSEC validation: ${answer.why}`)]);
  }
  if (!answer.answered)
    return report('unknown', [finding('DANE_DNS_ERROR', `TLSA lookup of ${at} failed: ${answer.why}`)]);
  if (records.length === 0) {
    const how =
      answer.status === 'secure'
        ? 'securely denied'
        : answer.status === 'insecure'
          ? `its zone is not signed: ${answer.why}`
          : `the resolver says none exist, though the DNSSEC chain could not be checked: ${answer.why}`;
    return report('not-deployed', [finding('DANE_NOT_DEPLOYED', `MX ${host} has no TLSA records at ${at} (${how})`)]);
  }
  if (answer.status === 'insecure') {
    return report('not-deployed', [
      finding(
        'DANE_NOT_DEPLOYED',
        `TLSA records at ${at} are in an unsigned zone (${answer.why}); senders ignore them`,
      ),
    ]);
  }
  if (answer.status === 'indeterminate' || mxUnverified !== undefined) {
    const why = answer.status === 'indeterminate' ? answer.why : (mxUnverified as string);
    return report('unknown', [
      finding('DANE_DNS_ERROR', `TLSA records at ${at} are published, but DNSSEC could not be verified: ${why}`),
    ]);
  }
  // The TLSA RRset is secure from here on.
  if (a.status === 'bogus' || aaaa.status === 'bogus') {
    return report('invalid', [
      finding(
        'DANE_DNSSEC_BOGUS',
        `the address records of ${host} fail DNSSEC validation: ${a.status === 'bogus' ? a.why : aaaa.why}`,
      ),
    ]);
  }
  if (!a.answered || !aaaa.answered) {
    return report('unknown', [
      finding('DANE_DNS_ERROR', `address lookup of ${host} failed: ${!a.answered ? a.why : aaaa.why}`),
    ]);
  }
  if (addresses.length === 0)
    return report('unknown', [finding('DNS_NXDOMAIN', `MX ${host} has no A or AAAA records`)]);
  if (addressStatus !== 'secure') {
    // RFC 7672 §2.2.2: TLSA records apply only when the address records were secure too.
    return report('not-deployed', [
      finding(
        'DANE_NOT_DEPLOYED',
        `the address records of ${host} are ${addressStatus} (${a.status !== 'secure' ? a.why : aaaa.why}); senders do not use its TLSA records`,
      ),
    ]);
  }

  const findings: Finding[] = [];
  const usable = records.filter((r) => r.usable);
  if (usable.length === 0) {
    findings.push(
      finding(
        'DANE_TLSA_UNUSABLE',
        `TLSA ${at} has no record usable for SMTP: ${records.map((r) => `${r.text.slice(0, 24)}… (${r.unusable ?? ''})`).join('; ')}`,
      ),
    );
  } else if (new Set(usable.map((r) => r.text)).size === 1) {
    findings.push(
      finding(
        'DANE_NO_ROLLOVER',
        `TLSA ${at} has a single usable record (${usable[0]?.text.slice(0, 24)}…): the next key rotation breaks delivery`,
      ),
    );
  }

  const names = [...new Set([base, host])];
  const endpoints: DaneEndpointReport[] = [];
  let failed = false;
  let unreached = false;
  const notProbed: { address: string; reason: string }[] = [];
  if (deps.connect === false) return report(usable.length === 0 ? 'not-deployed' : 'unknown', findings);
  const ipv6 = deps.ipv6 ?? hostHasIpv6();
  for (const address of addresses) {
    // An IPv6 address this host cannot reach says nothing about the MX (the mta-sts check does the same).
    if (!ipv6 && ipFamily(address) === 6) {
      notProbed.push({ address, reason: 'the probe has no IPv6 connectivity' });
      continue;
    }
    if (isPrivateAddress(address) && !ctx.allowPrivate) {
      findings.push(finding('ADDRESS_BLOCKED', `MX ${host} resolves to ${address}, a private address (not probed)`));
      unreached = true;
      continue;
    }
    // SNI is the TLSA base domain (RFC 7672 §8.1): the CNAME-expanded name when its records are the ones used.
    const probe = await (deps.probe ?? starttlsEndpointProber)(base, address, deps.mxPort ?? 25, ctx, deadline);
    if (!probe.ok) {
      endpoints.push({ address, starttls: false, chain: [], error: `${probe.code}: ${probe.message}` });
      // No TLS where TLSA is published is a DANE failure; no connection at all says nothing of DANE.
      if (UNREACHED.has(probe.code)) unreached = true;
      else failed = true;
      findings.push(
        probe.code === 'STARTTLS_NOT_OFFERED'
          ? finding(
              'DANE_STARTTLS_MISSING',
              `MX ${host} (${address}) publishes TLSA records at ${at} but offers no STARTTLS`,
            )
          : finding(probe.code, `DANE probe of MX ${host} (${address}): ${probe.message}`),
      );
      continue;
    }
    const nowMs = ctx.clock.now();
    const chain = probe.chain.map((c) => describeCertificate(c, nowMs));
    const leaf = probe.chain[0];
    const currentKeyRecord = leaf !== undefined ? recordFor(leaf, USAGE.DANE_EE, 1, 1) : undefined;
    if (usable.length === 0) {
      endpoints.push({ address, starttls: true, chain, ...(currentKeyRecord ? { currentKeyRecord } : {}) });
      continue;
    }
    const verdict = matchChain(records, probe.chain, { names, nowMs });
    if (verdict.ok) {
      const record = records[verdict.match.record] as TlsaRecordInfo;
      endpoints.push({
        address,
        starttls: true,
        chain,
        matched: {
          record: record.text,
          depth: verdict.match.depth,
          subject:
            verdict.match.depth < probe.chain.length
              ? subjectOf(probe.chain[verdict.match.depth])
              : 'the trust anchor of the record (not sent by the server)',
        },
      });
      continue;
    }
    failed = true;
    endpoints.push({
      address,
      starttls: true,
      chain,
      mismatch: verdict.reasons,
      ...(currentKeyRecord ? { currentKeyRecord } : {}),
    });
    findings.push(
      finding(
        'DANE_TLSA_MISMATCH',
        `no usable TLSA record at ${at} authenticates MX ${host} (${address}): ${verdict.reasons.join('; ')}. The key it presents is \`${at}. IN TLSA ${currentKeyRecord ?? '?'}\``,
      ),
    );
  }
  const verdict: DaneStatus = failed
    ? 'invalid'
    : usable.length === 0
      ? 'not-deployed'
      : unreached || endpoints.length === 0
        ? 'unknown'
        : 'valid';
  return report(verdict, findings, endpoints, notProbed);
}

/** A TLSA record too short to read: published, so reported, and unusable (RFC 7671 §4). */
function malformedTlsa(rdata: Buffer): TlsaRecordInfo {
  const hex = rdata.toString('hex').slice(0, 64);
  return {
    usage: -1,
    selector: -1,
    matchingType: -1,
    data: hex,
    text: `malformed ${hex}`,
    usable: false,
    unusable: `malformed RDATA (${rdata.length} bytes)`,
  };
}

/** The value of a record parser, or nothing when the RDATA is malformed (WireError). */
function parsed<T>(read: () => T): T[] {
  try {
    return [read()];
  } catch {
    return [];
  }
}

function subjectOf(cert: X509Certificate | undefined): string {
  return cert === undefined ? '' : cert.subject.replace(/\n/g, ', ');
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** The findings of a DANE verdict that the result it is part of takes over: DANE failures, and the probe's own errors. */
const carried = (f: Finding): boolean =>
  (f.code.startsWith('DANE_') && f.code !== 'DANE_NOT_DEPLOYED') || f.code === 'PROBE_INTERNAL_ERROR';

/** The DANE verdict as an mta-sts result carries it. */
export type MtaStsDane = Omit<DaneVerdict, 'findings'>;

/**
 * The findings an mta-sts result takes over from the DANE verdict: the DANE failures, at
 * their own severity whatever the policy's mode (RFC 8461 §2: a DANE failure is never
 * overridden by MTA-STS). Reachability and DANE_NOT_DEPLOYED stay in the `dane` field: the
 * MTA-STS part reports the former itself, and the latter is no problem.
 */
export function daneFindingsForMtaSts(verdict: DaneVerdict | undefined): Finding[] {
  if (verdict === undefined) return [];
  return verdict.findings.filter(carried);
}

/** Starts the DANE verdict for an mta-sts check when the context has DNSSEC settings. */
export function startDaneForMtaSts(
  domain: string,
  ctx: ProbeContext,
  deadline: Deadline,
  mxPort: number | undefined,
  connect = true,
): Promise<DaneVerdict> | undefined {
  if (ctx.dnssec === undefined) return undefined;
  return daneVerdict(domain, ctx, deadline, { ...(mxPort !== undefined ? { mxPort } : {}), connect });
}

export function daneField(verdict: DaneVerdict | undefined): { dane?: MtaStsDane } {
  if (verdict === undefined) return {};
  const { findings: _findings, ...rest } = verdict;
  return { dane: rest };
}

/**
 * DANE for one SMTP host named in the config (`dane: true` on a port-25 target): the TLSA
 * RRset at `_25._tcp.<host>` and every address, as for an MX host. Never throws.
 */
export async function daneForHost(
  host: string,
  port: number,
  ctx: ProbeContext,
  deadline: Deadline,
  deps: DaneDeps = {},
): Promise<DaneMxReport> {
  // Asked for explicitly: the defaults apply when the context has no DNSSEC settings.
  const withDnssec: ProbeContext = ctx.dnssec !== undefined ? ctx : { ...ctx, dnssec: {} };
  let validator: Validator;
  try {
    validator = createValidator(withDnssec, deadline, deps);
  } catch (err) {
    const f = finding('DANE_DNS_ERROR', `DANE for ${host}: ${(err as Error).message}`);
    return { host, priority: 0, addresses: [], endpoints: [], verdict: 'unknown', findings: [f] };
  }
  try {
    return await hostVerdict(
      normaliseName(host),
      0,
      validator,
      withDnssec,
      deadline,
      { ...deps, mxPort: port },
      undefined,
    );
  } catch (err) {
    const f = internalError(`DANE for ${host}`, err);
    return { host, priority: 0, addresses: [], endpoints: [], verdict: 'unknown', findings: [f] };
  }
}

/** A result with the DANE report of its host added: the field, and its DANE_* findings. */
export function withDane<R extends BaseResult>(
  result: R,
  report: DaneMxReport | undefined,
): R & { dane?: DaneMxReport } {
  if (report === undefined) return result;
  // Asked for on this host: DANE_NOT_DEPLOYED (info) is worth saying here.
  const findings = [
    ...result.findings,
    ...report.findings.filter((f) => f.code.startsWith('DANE_') || f.code === 'PROBE_INTERNAL_ERROR'),
  ];
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
  return { ...result, findings, status: statusOf(findings), dane: report };
}
