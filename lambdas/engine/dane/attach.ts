/**
 * The DANE glue other checks call: the verdict an mta-sts result carries, and the DANE
 * report of one SMTP host named in the config (`dane: true`).
 */
import type { Deadline } from '../deadline.js';
import { finding, statusOf, type Finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import type { BaseResult } from '../result.js';
import type { Validator } from '../dnssec/validator.js';
import { normaliseName } from '../dnssec/wire.js';
import { daneVerdict, type DaneVerdict } from './check.js';
import { createValidator, hostVerdict, internalError, type DaneDeps, type DaneMxReport } from './host.js';

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
