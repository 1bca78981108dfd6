/**
 * The `mta-sts` check (RFC 8461, RFC 8460) for one domain: the `_mta-sts` TXT record, the
 * policy fetched over HTTPS and parsed, the MX hosts against the policy's patterns, each MX
 * over SMTP with STARTTLS and a DNS-ID certificate check, and the `_smtp._tls` TLS-RPT
 * record. Everything runs under the check's one deadline; the function never throws.
 *
 * Severity follows the published mode: in `enforce`, what would make a compliant sender
 * refuse delivery is critical; in `testing`, senders only report, so the same problems are
 * warnings; in `none`, MX problems are informational (the policy has been withdrawn).
 */
import type { MtaStsCheckSpec } from '../checks.js';
import { daneField, daneFindingsForMtaSts, startDaneForMtaSts, type MtaStsDane } from '../dane/check.js';
import { Deadline } from '../deadline.js';
import { finding, type Finding, type Severity } from '../findings.js';
import { DnsError } from '../net/resolver.js';
import type { ProbeContext } from '../options.js';
import { baseResult, type BaseResult, type CertificateInfo, type TlsSessionInfo } from '../result.js';
import { runSmtpCheck } from '../smtp/check.js';
import { fetchPolicy, type PolicyFetchResult } from './fetch.js';
import { coveringPattern, normaliseHost } from './mx-pattern.js';
import { checkMxHost, discoverMx, mapLimited, type MxHostReport, type MxProber } from './mx.js';
import { parseStsRecord, selectStsRecord, type StsRecord } from './parse.js';
import { parsePolicy, type StsMode } from './policy.js';
import { formatIssue, type ParseIssue, type ParseResult } from './syntax.js';
import { parseTlsRptRecord, selectTlsRptRecord } from './tlsrpt.js';

export type { MxHostReport, MxProber, MxProbeOutcome } from './mx.js';

/** Below one day, a cached policy protects almost nothing between fetches (§3.2 max_age). */
export const MIN_MAX_AGE_SECONDS = 86_400;
/** How many MX hosts are probed at once. */
export const DEFAULT_MX_CONCURRENCY = 4;

export interface MtaStsResult extends BaseResult {
  readonly check: 'mta-sts';
  readonly domain: string;
  readonly txt?: { readonly records: readonly string[]; readonly id?: string; readonly valid: boolean };
  readonly policy?: {
    readonly mode: StsMode;
    readonly maxAge: number;
    readonly mx: readonly string[];
    /** The policy id from the TXT record (§3.1), when it parsed. */
    readonly id?: string;
    /**
     * False when the policy host's certificate failed: senders ignore such a policy
     * (§3.3), so it is reported for diagnosis but its mode changes no severity.
     */
    readonly authenticated: boolean;
  };
  readonly policyHost?: {
    readonly host: string;
    readonly url: string;
    readonly address?: string;
    readonly status?: number;
    readonly contentType?: string;
    readonly bodyBytes?: number;
    readonly certificate?: CertificateInfo;
    /** Days until the earliest certificate in the policy host's chain expires. */
    readonly daysToExpiry?: number;
    readonly tls?: TlsSessionInfo;
  };
  /** False for a null MX (RFC 7505); absent when the MX lookup failed. */
  readonly acceptsMail?: boolean;
  /** True when the domain has no MX and its own name is the implicit MX (RFC 5321 §5.1). */
  readonly implicitMx?: boolean;
  readonly mx: readonly MxHostReport[];
  readonly tlsRpt?: { readonly records: readonly string[]; readonly rua?: readonly string[]; readonly valid: boolean };
  /** DANE (RFC 7672) for the MX hosts, when the context has DNSSEC settings. */
  readonly dane?: MtaStsDane;
}

export interface MtaStsDeps {
  /** Probes one MX over SMTP. @default the smtp check with STARTTLS, DNS-ID and TLS ≥ 1.2 */
  readonly probeMx?: MxProber;
  /** @default 25 */
  readonly mxPort?: number;
  /** @default 443 */
  readonly policyPort?: number;
  /** @default DEFAULT_MX_CONCURRENCY */
  readonly mxConcurrency?: number;
}

/** The smtp check as RFC 8461 §4.2 requires it: STARTTLS, certificate by DNS-ID, TLS 1.2 or later. */
export const smtpMxProber: MxProber = async (host, address, ctx, options) => {
  const result = await runSmtpCheck(
    { check: 'smtp', host, port: options.port, tls: 'starttls', timeoutMs: options.timeoutMs },
    ctx,
    { identity: 'dns-id', minTlsVersion: 'TLSv1.2', address },
  );
  return { ...(result.tls !== undefined ? { tls: result.tls } : {}), findings: result.findings };
};

type TxtLookup =
  { kind: 'records'; records: string[][] } | { kind: 'absent'; why: string } | { kind: 'error'; why: string };

async function lookupTxt(name: string, ctx: ProbeContext): Promise<TxtLookup> {
  try {
    return { kind: 'records', records: await ctx.resolver.txt(name) };
  } catch (err) {
    if (err instanceof DnsError && err.isNegativeAnswer) return { kind: 'absent', why: err.kind };
    return { kind: 'error', why: err instanceof DnsError ? err.kind : String(err) };
  }
}

function summarise(issues: readonly ParseIssue[], max = 5): string {
  const shown = issues.slice(0, max).map(formatIssue).join('; ');
  return issues.length > max ? `${shown}; and ${issues.length - max} more` : shown;
}

/** Races a step against the check's deadline (DNS lookups cannot be cancelled, only abandoned). */
function withinDeadline<T>(work: Promise<T>, deadline: Deadline, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), deadline.remainingMs());
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export async function runMtaStsCheck(
  spec: MtaStsCheckSpec,
  ctx: ProbeContext,
  deps: MtaStsDeps = {},
): Promise<MtaStsResult> {
  const startedMs = ctx.clock.now();
  const deadline = new Deadline(spec.timeoutMs ?? ctx.timeoutMs, ctx.clock);
  const domain = normaliseHost(spec.domain);
  const findings: Finding[] = [];
  const timedOut: TxtLookup = { kind: 'error', why: 'TIMEOUT (check deadline)' };
  const danePending = startDaneForMtaSts(domain, ctx, deadline, deps.mxPort);

  // Phase 1, in parallel: the two TXT records and the MX hosts.
  const [stsLookup, rptLookup, mxFound] = await Promise.all([
    withinDeadline(lookupTxt(`_mta-sts.${domain}`, ctx), deadline, timedOut),
    withinDeadline(lookupTxt(`_smtp._tls.${domain}`, ctx), deadline, timedOut),
    withinDeadline(discoverMx(domain, ctx), deadline, {
      kind: 'failed' as const,
      finding: finding('DEADLINE_EXCEEDED', `MX lookup of ${domain} did not finish within the check's deadline`),
    }),
  ]);

  // §3.1 TXT discovery. A temporary failure is never "no policy".
  let txt: MtaStsResult['txt'];
  let record: StsRecord | undefined;
  if (stsLookup.kind === 'error') {
    findings.push(finding('MTASTS_DNS_ERROR', `TXT lookup of _mta-sts.${domain} failed: ${stsLookup.why}`));
  } else if (stsLookup.kind === 'absent') {
    findings.push(finding('MTASTS_TXT_MISSING', `_mta-sts.${domain} has no TXT record (${stsLookup.why})`));
  } else {
    const selection = selectStsRecord(stsLookup.records);
    if (selection.kind === 'none') {
      findings.push(finding('MTASTS_TXT_MISSING', `no TXT record at _mta-sts.${domain} starts with v=STSv1`));
    } else if (selection.kind === 'multiple') {
      txt = { records: selection.records, valid: false };
      findings.push(
        finding(
          'MTASTS_TXT_MULTIPLE',
          `_mta-sts.${domain} has ${selection.records.length} v=STSv1 records: ${selection.records.map((r) => JSON.stringify(r)).join(', ')}`,
        ),
      );
    } else {
      const parsed: ParseResult<StsRecord> = parseStsRecord(selection.record);
      if (parsed.ok) {
        record = parsed.value;
        txt = { records: [selection.record], id: record.id, valid: true };
        for (const w of parsed.warnings) {
          findings.push(finding('MTASTS_TXT_INVALID', `_mta-sts.${domain}: ${w.message}`, { severity: 'warning' }));
        }
      } else {
        txt = { records: [selection.record], valid: false };
        findings.push(
          finding(
            'MTASTS_TXT_INVALID',
            `_mta-sts.${domain} TXT ${JSON.stringify(selection.record)}: ${summarise(parsed.errors)}`,
          ),
        );
      }
    }
  }
  const hasTxt = stsLookup.kind === 'records' && txt !== undefined;
  // Without any trace of MTA-STS there is nothing to validate further; a DNS error still
  // lets the rest run, so the owner sees everything the probe could learn.
  const pursue = hasTxt || stsLookup.kind === 'error';

  // RFC 8460 §3.
  const tlsRpt = tlsRptFindings(domain, rptLookup, findings);

  // Phase 2, in parallel: the policy fetch and the MX probes.
  const mxRecords = mxFound.kind === 'mx' ? mxFound.records : [];
  if (mxFound.kind === 'failed') findings.push(mxFound.finding);
  const prober = deps.probeMx ?? smtpMxProber;
  const [fetched, mxReports] = await Promise.all([
    pursue
      ? fetchPolicy(domain, ctx, { deadline, ...(deps.policyPort !== undefined ? { port: deps.policyPort } : {}) })
      : Promise.resolve(undefined),
    pursue
      ? mapLimited(mxRecords, deps.mxConcurrency ?? DEFAULT_MX_CONCURRENCY, (r) =>
          checkMxHost(r, ctx, deadline, prober, deps.mxPort ?? 25),
        )
      : Promise.resolve(
          mxRecords.map((r) => ({
            host: r.exchange.replace(/\.$/, ''),
            priority: r.priority,
            addresses: [],
            findings: [],
          })),
        ),
  ]);

  // §3.2 policy. RFC 8461 §3.3: a policy fetched over an unauthenticated connection must not
  // be used, so its mode cannot soften anything (a "testing" policy behind a bad
  // certificate is no policy at all to a sender).
  const authenticated = fetched !== undefined && !fetched.findings.some((f) => f.code === 'MTASTS_POLICY_CERT_INVALID');
  let policy: MtaStsResult['policy'];
  if (fetched !== undefined) {
    findings.push(...fetched.findings);
    if (fetched.body !== undefined) {
      const parsed = parsePolicy(fetched.body);
      if (parsed.ok) {
        policy = {
          mode: parsed.value.mode,
          maxAge: parsed.value.maxAge,
          mx: parsed.value.mx,
          ...(record !== undefined ? { id: record.id } : {}),
          authenticated,
        };
        for (const w of parsed.warnings) {
          findings.push(finding('MTASTS_POLICY_INVALID', `${fetched.url}: ${formatIssue(w)}`, { severity: 'warning' }));
        }
        findings.push(...modeFindings(fetched.url, parsed.value.mode, parsed.value.maxAge));
      } else {
        findings.push(finding('MTASTS_POLICY_INVALID', `${fetched.url}: ${summarise(parsed.errors)}`));
      }
    }
  }

  // §4.1 coverage, then the severity the mode gives MX problems.
  const mx: MxHostReport[] = mxReports.map((report) => {
    if (policy === undefined) return report;
    const pattern = coveringPattern(report.host, policy.mx);
    const own: Finding[] = [];
    if (pattern === undefined && policy.mode !== 'none') {
      own.push(
        finding(
          'MTASTS_MX_NOT_COVERED',
          `MX ${report.host} (priority ${report.priority}) matches no mx pattern of the policy (${policy.mx.join(', ') || 'none'})`,
        ),
      );
    }
    return {
      ...report,
      covered: pattern !== undefined,
      ...(pattern !== undefined ? { pattern } : {}),
      findings: [...own, ...report.findings],
    };
  });

  const mode = authenticated ? policy?.mode : undefined;
  const adjusted = (f: Finding, mxLevel: boolean): Finding => ({
    ...f,
    severity: severityFor(f.severity, mode, mxLevel),
  });
  const mxAdjusted = mx.map((m) => ({ ...m, findings: m.findings.map((f) => adjusted(f, true)) }));
  const all = [...findings.map((f) => adjusted(f, false)), ...mxAdjusted.flatMap((m) => m.findings)];
  // RFC 8461 §2: a DANE failure keeps its severity whatever the MTA-STS mode.
  const dane = await danePending;
  all.push(...daneFindingsForMtaSts(dane));
  if (deadline.expired() && !all.some((f) => f.code === 'DEADLINE_EXCEEDED')) {
    all.push(finding('DEADLINE_EXCEEDED', `the MTA-STS check of ${domain} did not finish within its deadline`));
  }

  return {
    ...baseResult(spec, all, startedMs, ctx.clock),
    domain,
    ...(txt !== undefined ? { txt } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(fetched !== undefined ? { policyHost: policyHostOf(fetched) } : {}),
    // Unknown (absent) when the MX lookup failed.
    ...(mxFound.kind !== 'failed' ? { acceptsMail: mxFound.kind === 'mx' } : {}),
    ...(mxFound.kind === 'mx' && mxFound.implicit ? { implicitMx: true } : {}),
    mx: mxAdjusted,
    ...(tlsRpt !== undefined ? { tlsRpt } : {}),
    ...daneField(dane),
  };
}

/**
 * testing: senders only report, so nothing is critical. none: the policy is withdrawn and
 * the MX findings are informational. enforce, or no readable policy: as found.
 */
function severityFor(severity: Severity, mode: StsMode | undefined, mxLevel: boolean): Severity {
  if (mode === 'testing' && severity === 'critical') return 'warning';
  if (mode === 'none' && mxLevel && severity !== 'info') return 'info';
  return severity;
}

function modeFindings(url: string, mode: StsMode, maxAge: number): Finding[] {
  const out: Finding[] = [];
  if (mode === 'testing') out.push(finding('MTASTS_MODE_TESTING', `${url}: mode is testing`));
  if (mode === 'none') out.push(finding('MTASTS_MODE_NONE', `${url}: mode is none`));
  if (maxAge < MIN_MAX_AGE_SECONDS) {
    out.push(
      finding('MTASTS_MAX_AGE_SHORT', `${url}: max_age is ${maxAge} seconds, under one day (${MIN_MAX_AGE_SECONDS})`),
    );
  }
  return out;
}

function tlsRptFindings(domain: string, lookup: TxtLookup, findings: Finding[]): MtaStsResult['tlsRpt'] {
  const name = `_smtp._tls.${domain}`;
  if (lookup.kind === 'error') {
    findings.push(finding('MTASTS_DNS_ERROR', `TXT lookup of ${name} failed: ${lookup.why}`, { severity: 'warning' }));
    return undefined;
  }
  if (lookup.kind === 'absent') {
    findings.push(finding('TLSRPT_MISSING', `${name} has no TXT record (${lookup.why})`));
    return undefined;
  }
  const selection = selectTlsRptRecord(lookup.records);
  if (selection.kind === 'none') {
    findings.push(finding('TLSRPT_MISSING', `no TXT record at ${name} starts with v=TLSRPTv1`));
    return undefined;
  }
  if (selection.kind === 'multiple') {
    findings.push(finding('TLSRPT_MULTIPLE', `${name} has ${selection.records.length} v=TLSRPTv1 records`));
    return { records: selection.records, valid: false };
  }
  const parsed = parseTlsRptRecord(selection.record);
  if (!parsed.ok) {
    findings.push(
      finding('TLSRPT_INVALID', `${name} TXT ${JSON.stringify(selection.record)}: ${summarise(parsed.errors)}`),
    );
    return { records: [selection.record], valid: false };
  }
  return { records: [selection.record], rua: parsed.value.rua, valid: true };
}

function policyHostOf(fetched: PolicyFetchResult): NonNullable<MtaStsResult['policyHost']> {
  const certificate = fetched.tls?.certificate;
  const daysToExpiry = fetched.tls?.earliestExpiry?.daysToExpiry ?? certificate?.daysToExpiry;
  return {
    host: fetched.host,
    url: fetched.url,
    ...(fetched.address !== undefined ? { address: fetched.address } : {}),
    ...(fetched.status !== undefined ? { status: fetched.status } : {}),
    ...(fetched.contentType !== undefined ? { contentType: fetched.contentType } : {}),
    ...(fetched.bodyBytes !== undefined ? { bodyBytes: fetched.bodyBytes } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
    ...(daysToExpiry !== undefined ? { daysToExpiry } : {}),
    ...(fetched.tls !== undefined ? { tls: fetched.tls } : {}),
  };
}
