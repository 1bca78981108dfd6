/**
 * A model of how CloudWatch evaluates a metric alarm ("M out of N", AWS docs: Using Amazon
 * CloudWatch alarms, "Evaluating an alarm"), for tests and the README's alarm table: each
 * period's value is the statistic over the datapoints whose timestamps fall in it; the alarm
 * is evaluated every minute over the latest N periods, the current one included once it has
 * data (a period without data counts as missing only when it has ended); a missing period
 * counts as breaching or not as TreatMissingData says (ignore and missing: it does not
 * count); M or more breaching periods put it in ALARM. Periods are aligned to the epoch.
 *
 * It is a model: ingestion and evaluation add a minute or two, and a service that waited for
 * each period to end would page up to one period later than this says.
 */

export type Comparison =
  'LessThanThreshold' | 'LessThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold';
export type MissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

export interface AlarmRule {
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly treatMissingData: MissingData;
  /** How one period's datapoints are combined. */
  readonly statistic: 'Minimum' | 'Maximum' | 'Sum';
}

export interface Datapoint {
  readonly atMs: number;
  readonly value: number;
}

function breaches(rule: AlarmRule, value: number): boolean {
  switch (rule.comparison) {
    case 'LessThanThreshold':
      return value < rule.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= rule.threshold;
    case 'GreaterThanThreshold':
      return value > rule.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= rule.threshold;
  }
}

/** The statistic of each period that has data, by period start (ms). */
export function periodValues(rule: AlarmRule, points: readonly Datapoint[]): Map<number, number> {
  const periodMs = rule.periodSeconds * 1000;
  const out = new Map<number, number>();
  for (const p of points) {
    const start = Math.floor(p.atMs / periodMs) * periodMs;
    const was = out.get(start);
    const next =
      was === undefined
        ? p.value
        : rule.statistic === 'Minimum'
          ? Math.min(was, p.value)
          : rule.statistic === 'Maximum'
            ? Math.max(was, p.value)
            : was + p.value;
    out.set(start, next);
  }
  return out;
}

/** Whether the alarm is in ALARM when evaluated at `atMs`, counting datapoints stamped before it. */
export function inAlarmAt(rule: AlarmRule, points: readonly Datapoint[], atMs: number): boolean {
  const periodMs = rule.periodSeconds * 1000;
  const values = periodValues(
    rule,
    points.filter((p) => p.atMs <= atMs),
  );
  const current = Math.floor(atMs / periodMs) * periodMs;
  // The current period takes part once it has data; until then the window ends at its start.
  const newest = values.has(current) ? current : current - periodMs;
  let breaching = 0;
  for (let i = 0; i < rule.evaluationPeriods; i += 1) {
    const value = values.get(newest - i * periodMs);
    if (value === undefined) {
      if (rule.treatMissingData === 'breaching') breaching += 1;
    } else if (breaches(rule, value)) breaching += 1;
  }
  return breaching >= rule.datapointsToAlarm;
}

const MINUTE_MS = 60_000;

/** The first minute in [fromMs, toMs] at which the alarm is in ALARM, or undefined. */
export function firstAlarmAt(
  rule: AlarmRule,
  points: readonly Datapoint[],
  fromMs: number,
  toMs: number,
): number | undefined {
  const sorted = [...points].sort((a, b) => a.atMs - b.atMs);
  for (let t = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS; t <= toMs; t += MINUTE_MS) {
    if (inAlarmAt(rule, sorted, t)) return t;
  }
  return undefined;
}
