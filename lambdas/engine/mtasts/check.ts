/**
 * The `mta-sts` check (RFC 8461, RFC 8460) for one domain: the `_mta-sts` TXT record, the
 * policy fetched over HTTPS and parsed, the MX hosts against the policy's patterns, each MX
 * over SMTP with STARTTLS and a DNS-ID certificate check, and the `_smtp._tls` TLS-RPT
 * record. Everything runs under the check's one deadline; the function never throws.
 *
 * The phases: (1) the TXT records and the MX hosts, in parallel; (2) the policy fetch and
 * the MX probes, in parallel; (3) the policy, which decides the mode senders apply; (4) the
 * findings with their final severities (grading.ts: what would make a compliant sender
 * refuse delivery is critical in `enforce`, a warning in `testing`, informational for MX
 * hosts in `none`).
 */
import { daneField, daneFindingsForMtaSts, startDaneForMtaSts, type MtaStsDane } from '../dane/attach.js';
import type { MtaStsCheckSpec } from '../checks.js';
import { Deadline } from '../deadline.js';
import { finding, type Finding } from '../findings.js';
import type { MxRecord } from '../net/resolver.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult, type CertificateInfo, type TlsSessionInfo } from '../result.js';
import { runSmtpCheck } from '../smtp/check.js';
import { fetchPolicy, type PolicyAddressAttempt, type PolicyFetchResult } from './fetch.js';
import { gradePolicyFinding, type Grading } from './grading.js';
import { mxHostReport } from './mx-report.js';
import { normaliseHost } from './mx-pattern.js';
import {
  discoverMx,
  hostHasIpv6,
  probeMxTargets,
  resolveMxTargets,
  type MxAddressProbe,
  type MxDiscovery,
  type MxHostReport,
  type MxProber,
  type MxTarget,
} from './mx.js';
import { parsePolicy, type StsMode } from './policy.js';
import {
  discoverSts,
  discoverTlsRpt,
  lookupTxt,
  summarise,
  type StsTxt,
  type TlsRptTxt,
  type TxtLookup,
} from './records.js';
import { formatIssue } from './syntax.js';

export type { MxAddressReport, MxHostReport, MxProber, MxProbeOutcome } from './mx.js';

/** Below one day, a cached policy protects almost nothing between fetches (§3.2 max_age). */
export const MIN_MAX_AGE_SECONDS = 86_400;
/** How many MX addresses are probed at once (each MX host may have several). */
export const DEFAULT_MX_CONCURRENCY = 4;

export interface MtaStsResult extends BaseResult {
  readonly check: 'mta-sts';
  readonly domain: string;
  readonly txt?: StsTxt;
  readonly policy?: {
    readonly mode: StsMode;
    readonly maxAge: number;
    readonly mx: readonly string[];
    /** The policy id from the TXT record (§3.1), when it parsed. */
    readonly id?: string;
    /**
     * False when senders would refuse the connection it came over (certificate, TLS below
     * 1.2): they ignore such a policy (§3.3), so it is reported but its mode changes nothing.
     */
    readonly authenticated: boolean;
  };
  readonly policyHost?: {
    readonly host: string;
    readonly url: string;
    readonly address?: string;
    /** Every address of the policy host in the order tried. */
    readonly attempts: readonly PolicyAddressAttempt[];
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
  readonly tlsRpt?: TlsRptTxt;
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
  /**
   * Whether MX hosts' IPv6 addresses can be probed from here (IPv4 ones always are).
   * @default hostHasIpv6(): this host has a non-link-local IPv6 address
   */
  readonly ipv6?: boolean;
  /**
   * MX hosts to check in place of the domain's MX records (`mailprobe mta-sts --mx`): each
   * is matched against the policy's mx patterns and probed as an MX would be, e.g. a new
   * MX before it is published. The MX lookup is skipped, so the result says nothing of
   * whether the domain accepts mail (`acceptsMail` is absent).
   * @default the domain's MX records
   */
  readonly mxHosts?: readonly string[];
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
  const timedOut: TxtLookup = { kind: 'error', why: 'TIMEOUT (check deadline)' };
  const danePending = startDaneForMtaSts(domain, ctx, deadline, deps.mxPort, spec.probeMx !== false);

  // Phase 1, in parallel: the two TXT records and the MX hosts.
  const [stsLookup, rptLookup, mxFound] = await Promise.all([
    withinDeadline(lookupTxt(`_mta-sts.${domain}`, ctx), deadline, timedOut),
    withinDeadline(lookupTxt(`_smtp._tls.${domain}`, ctx), deadline, timedOut),
    withinDeadline(
      deps.mxHosts !== undefined ? Promise.resolve(givenMx(deps.mxHosts)) : discoverMx(domain, ctx),
      deadline,
      {
        kind: 'failed' as const,
        finding: finding('DEADLINE_EXCEEDED', `MX lookup of ${domain} did not finish within the check's deadline`),
      },
    ),
  ]);
  const sts = discoverSts(domain, stsLookup);
  const rpt = discoverTlsRpt(domain, rptLookup);
  // Without any trace of MTA-STS there is nothing to validate further; a DNS error still
  // lets the rest run, so the owner sees everything the probe could learn.
  const pursue = sts.txt !== undefined || stsLookup.kind === 'error';
  const mxRecords = mxFound.kind === 'mx' ? mxFound.records : [];
  const probeMx = pursue && spec.probeMx !== false;

  // Phase 2, in parallel: the policy fetch and the MX probes (every address of every MX).
  const policyPort = deps.policyPort !== undefined ? { port: deps.policyPort } : {};
  const [fetched, mxWork] = await Promise.all([
    pursue ? fetchPolicy(domain, ctx, { deadline, ...policyPort }) : Promise.resolve(undefined),
    probeMx ? probeAll(mxRecords, ctx, deadline, deps) : Promise.resolve({ targets: unprobed(mxRecords), probes: [] }),
  ]);

  // Phase 3: the policy, and the mode senders apply. A policy behind a TXT record senders
  // cannot read (invalid, duplicated: §3.1), or fetched over a connection they refuse
  // (§3.3), is no policy to them, so its mode softens nothing.
  const read = fetched !== undefined ? readPolicy(fetched, sts.txt?.id) : undefined;
  const policy = read?.policy;
  const usedBySenders = sts.txt?.valid !== false && fetched?.authenticated === true;
  const grading: Grading = { mode: usedBySenders ? policy?.mode : undefined };

  // Phase 4: the findings, each with its final severity.
  const mx = mxWork.targets.map((target) => mxHostReport(target, mxWork.probes, ctx, domain, policy, grading));
  const policyLevel = [
    ...(mxFound.kind === 'failed' ? [mxFound.finding] : []),
    ...(fetched?.findings ?? []),
    ...(read?.findings ?? []),
  ].map((f) => gradePolicyFinding(f, grading));
  const findings: Finding[] = [
    ...sts.findings,
    ...rpt.findings,
    ...policyLevel,
    ...(pursue && !probeMx && mxRecords.length > 0 ? [notProbed(domain, mxRecords.length)] : []),
    ...mx.flatMap((m) => m.findings),
  ];
  // RFC 8461 §2: a DANE failure keeps its severity whatever the MTA-STS mode.
  const dane = await danePending;
  findings.push(...daneFindingsForMtaSts(dane));
  if (deadline.expired() && !findings.some((f) => f.code === 'DEADLINE_EXCEEDED')) {
    findings.push(finding('DEADLINE_EXCEEDED', `the MTA-STS check of ${domain} did not finish within its deadline`));
  }

  return {
    ...baseResult(spec, findings, startedMs, ctx.clock),
    domain,
    ...(sts.txt !== undefined ? { txt: sts.txt } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(fetched !== undefined ? { policyHost: policyHostOf(fetched) } : {}),
    // Unknown (absent) when the MX lookup failed or was replaced by given hosts.
    ...(mxFound.kind !== 'failed' && deps.mxHosts === undefined ? { acceptsMail: mxFound.kind === 'mx' } : {}),
    ...(mxFound.kind === 'mx' && mxFound.implicit ? { implicitMx: true } : {}),
    mx,
    ...(rpt.tlsRpt !== undefined ? { tlsRpt: rpt.tlsRpt } : {}),
    ...daneField(dane),
  };
}

/** Given hosts as MX records of one priority, in the order given (a sender would try them as equals). */
function givenMx(hosts: readonly string[]): MxDiscovery {
  return {
    kind: 'mx',
    records: hosts.map((host) => ({ exchange: normaliseHost(host), priority: 0 })),
    implicit: false,
  };
}

async function probeAll(
  records: readonly MxRecord[],
  ctx: ProbeContext,
  deadline: Deadline,
  deps: MtaStsDeps,
): Promise<{ targets: MxTarget[]; probes: MxAddressProbe[] }> {
  const targets = await resolveMxTargets(records, ctx, deadline, { ipv6: deps.ipv6 ?? hostHasIpv6() });
  const probes = await probeMxTargets(targets, ctx, deadline, deps.probeMx ?? smtpMxProber, {
    port: deps.mxPort ?? 25,
    concurrency: deps.mxConcurrency ?? DEFAULT_MX_CONCURRENCY,
  });
  return { targets, probes };
}

/** MX hosts that are listed and matched against the policy, but not connected to. */
function unprobed(records: readonly MxRecord[]): MxTarget[] {
  return records.map((r) => ({ host: r.exchange.replace(/\.$/, ''), priority: r.priority, addresses: [], usable: [] }));
}

function notProbed(domain: string, count: number): Finding {
  return finding(
    'MTASTS_MX_NOT_PROBED',
    `the ${count} MX host${count === 1 ? '' : 's'} of ${domain} ${count === 1 ? 'was' : 'were'} not probed on port 25 (MX probing is off for this check); MX records and mx pattern coverage were checked`,
  );
}

/** §3.2: the policy text, or why senders would reject it. */
function readPolicy(
  fetched: PolicyFetchResult,
  id: string | undefined,
): { policy?: NonNullable<MtaStsResult['policy']>; findings: Finding[] } {
  if (fetched.body === undefined) return { findings: [] };
  const parsed = parsePolicy(fetched.body);
  if (!parsed.ok) {
    return { findings: [finding('MTASTS_POLICY_INVALID', `${fetched.url}: ${summarise(parsed.errors)}`)] };
  }
  const { mode, maxAge, mx } = parsed.value;
  return {
    policy: { mode, maxAge, mx, ...(id !== undefined ? { id } : {}), authenticated: fetched.authenticated },
    findings: [
      ...parsed.warnings.map((w) =>
        finding('MTASTS_POLICY_INVALID', `${fetched.url}: ${formatIssue(w)}`, { severity: 'warning' }),
      ),
      ...modeFindings(fetched.url, mode, maxAge),
    ],
  };
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

function policyHostOf(fetched: PolicyFetchResult): NonNullable<MtaStsResult['policyHost']> {
  const certificate = fetched.tls?.certificate;
  const daysToExpiry = fetched.tls?.earliestExpiry?.daysToExpiry ?? certificate?.daysToExpiry;
  return {
    host: fetched.host,
    url: fetched.url,
    ...(fetched.address !== undefined ? { address: fetched.address } : {}),
    attempts: fetched.attempts,
    ...(fetched.status !== undefined ? { status: fetched.status } : {}),
    ...(fetched.contentType !== undefined ? { contentType: fetched.contentType } : {}),
    ...(fetched.bodyBytes !== undefined ? { bodyBytes: fetched.bodyBytes } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
    ...(daysToExpiry !== undefined ? { daysToExpiry } : {}),
    ...(fetched.tls !== undefined ? { tls: fetched.tls } : {}),
  };
}
