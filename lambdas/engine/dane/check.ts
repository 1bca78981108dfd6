/**
 * The `dane` check (RFC 7672) for one domain, and the domain-level DANE verdict every
 * mta-sts result carries (attach.ts): the MX RRset validated by the probe's own DNSSEC validator, for each MX host
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
import type { DaneCheckSpec } from '../checks.js';
import { Deadline } from '../deadline.js';
import { finding, type Finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult } from '../result.js';
import type { Validator, SecurityStatus } from '../dnssec/validator.js';
import { mxOf, normaliseName, TYPE } from '../dnssec/wire.js';
import {
  createValidator,
  hostVerdict,
  internalError,
  parsed,
  type DaneDeps,
  type DaneMxReport,
  type DaneStatus,
} from './host.js';

/** MX hosts probed at once. */
export const DANE_MX_CONCURRENCY = 4;

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
