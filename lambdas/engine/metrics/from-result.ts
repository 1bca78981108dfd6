/**
 * Result → metric datums (DESIGN.md §5). Pure: the handler publishes what this
 * returns, the tests compare it with the exact PutMetricData requests.
 *
 * The detail shapes differ per check (smtp: `tls`; tls: `chain`, `dh`; mta-sts: the
 * policy host's session and one per MX; ses-account: `quota`), so certificate expiry
 * is collected from every `earliestExpiry` / certificate found in the result: the
 * alarm wants the earliest certificate the probe saw, wherever it was.
 */
import type { BaseResult } from '../result.js';
import {
  KIND_METRICS_BY_MODE,
  TARGET_METRICS_BY_MODE,
  type Datum,
  type Dimensions,
  type KindMetricName,
  type ShardMetrics,
} from './definitions.js';

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** How deep the walk goes: results are shallow; this only guards against a cycle or a huge object. */
const MAX_DEPTH = 6;

/**
 * The smallest `daysToExpiry` among the TLS sessions (`earliestExpiry`) and the
 * certificates (`notAfter` + `daysToExpiry`) anywhere in the result, or undefined when
 * the check never saw a certificate (e.g. the connection failed).
 */
export function earliestCertDays(result: unknown): number | undefined {
  let min: number | undefined;
  const visit = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1);
      return;
    }
    if (!isRecord(node)) return;
    const days = finite(node['daysToExpiry']);
    if (days !== undefined && (typeof node['notAfter'] === 'string' || typeof node['subject'] === 'string')) {
      min = min === undefined ? days : Math.min(min, days);
    }
    for (const [key, value] of Object.entries(node)) {
      // Findings are prose about the same certificates; the numbers come from the details.
      if (key === 'findings') continue;
      visit(value, depth + 1);
    }
  };
  visit(result, 0);
  return min;
}

/**
 * The DHE group size of a tls result: `dh.bits` (or `dh.size`). A server that offers no
 * DHE suite at all (`bits: 0`, `supported: false`) publishes nothing: that is good, not
 * weak, and a 0 would sort first under the dashboard's MIN(DhKeyBits) and push the
 * 1024-bit endpoints the widget exists for off its top ten.
 */
export function dhKeyBits(result: unknown): number | undefined {
  if (!isRecord(result) || !isRecord(result['dh'])) return undefined;
  const dh = result['dh'];
  const bits = finite(dh['bits']) ?? finite(dh['size']);
  return bits !== undefined && bits > 0 ? bits : undefined;
}

/** SES quota use: `quota.usedPercent`, or computed from `sentLast24Hours` / `max24HourSend`. */
export function quotaUsedPercent(result: unknown): number | undefined {
  if (!isRecord(result) || !isRecord(result['quota'])) return undefined;
  const q = result['quota'];
  const direct = finite(q['usedPercent']);
  if (direct !== undefined) return direct;
  const sent = finite(q['sentLast24Hours']);
  const max = finite(q['max24HourSend']);
  // A max of -1 means "unlimited" in the SES API.
  if (sent === undefined || max === undefined || max <= 0) return undefined;
  return Math.round((sent / max) * 10_000) / 100;
}

/** The dimension `Target`: the configured name, else the target string. */
export function dimensionsOf(result: BaseResult): Dimensions & { readonly Target: string } {
  return { Check: result.check, Target: result.name ?? result.target };
}

export function datumsFromResult(result: BaseResult): Datum[] {
  const dimensions = dimensionsOf(result);
  const parsed = Date.parse(result.startedAt);
  const timestamp = new Date(Number.isNaN(parsed) ? Date.now() : parsed);
  const datum = (metric: Datum['metric'], value: number): Datum => ({ metric, value, dimensions, timestamp });

  const datums: Datum[] = [
    datum('Success', result.status === 'critical' ? 0 : 1),
    datum('Duration', Math.max(0, result.durationMs)),
    datum('FindingCount', result.findings.filter((f) => f.severity === 'warning' || f.severity === 'critical').length),
  ];
  if (result.check === 'smtp' || result.check === 'tls' || result.check === 'mta-sts') {
    const days = earliestCertDays(result);
    if (days !== undefined) datums.push(datum('CertDaysToExpiry', days));
  }
  if (result.check === 'tls') {
    const bits = dhKeyBits(result);
    if (bits !== undefined) datums.push(datum('DhKeyBits', bits));
  }
  if (result.check === 'flow') {
    const r = result as BaseResult & { readonly delivered?: unknown; readonly deliveryMs?: unknown };
    // A run whose send failed and that settled nothing has no delivery to report either way.
    if (r.delivered === 0 || r.delivered === 1) datums.push(datum('Delivered', r.delivered));
    const ms = finite(r.deliveryMs);
    if (ms !== undefined) datums.push(datum('DeliverySeconds', Math.max(0, ms) / 1000));
  }
  if (result.check === 'ses-account') {
    const percent = quotaUsedPercent(result);
    if (percent !== undefined) datums.push(datum('QuotaUsedPercent', percent));
  }
  return datums;
}

/**
 * The datums of one shard run under the plan's metric settings: per-target metrics of the
 * mode (with the AlarmGroup dimension for fleet alarms), then the per-kind counts, stamped with
 * the run's start so that every run of a shard falls into its own period.
 */
export function datumsForRun(
  results: readonly BaseResult[],
  settings: ShardMetrics | undefined,
  check: BaseResult['check'],
  runStartedAt: Date,
): Datum[] {
  if (settings === undefined) return results.flatMap((r) => datumsFromResult(r));
  const keep = new Set<string>(TARGET_METRICS_BY_MODE[settings.mode].filter((m) => !(settings.omit ?? []).includes(m)));
  const datums: Datum[] = [];
  for (const result of results) {
    for (const d of datumsFromResult(result)) {
      if (!keep.has(d.metric)) continue;
      datums.push(
        settings.group === undefined ? d : { ...d, dimensions: { ...d.dimensions, AlarmGroup: settings.group } },
      );
    }
  }
  const count = (status: string) => results.filter((r) => r.status === status).length;
  const values: Record<KindMetricName, number> = {
    TargetsReporting: results.length,
    TargetsOk: count('ok'),
    TargetsWarning: count('warning'),
    TargetsCritical: count('critical'),
  };
  const dimensions: Dimensions = { Check: check, Interval: settings.interval };
  for (const metric of KIND_METRICS_BY_MODE[settings.mode]) {
    datums.push({ metric, value: values[metric], dimensions, timestamp: runStartedAt });
  }
  return datums;
}
