/**
 * Which alarm pages, and when (issue #20, item 5): for each schedule × alarm mode × metric
 * mode, a one-target config is planned and synthesized; the alarms that watch its check are
 * read from the template, and the datapoints the probe would publish (the runs, and the
 * heartbeat where the plan gives the shard one) are fed to a model of CloudWatch's alarm
 * evaluation (testkit/alarm-eval.ts) with each alarm's own settings. Nothing here is a
 * hand-written expectation: a change in the plan, the alarms or the publisher shows up.
 *
 * Two scenarios, time 0 being the first run that differs:
 * - failing: the check passed until time 0, then every run is critical;
 * - stopped: the check passed until time 0, then its probe never runs again.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  KIND_METRICS_BY_MODE,
  TARGET_METRICS_BY_MODE,
  type MetricsMode,
} from '../lambdas/engine/metrics/definitions.js';
import { validateConfig } from '../lib/config/load.js';
import { periodSecondsOf, planConfig, type AlarmMode, type Plan } from '../lib/config/plan.js';
import { alarmPropsOf, ProbeAlarms } from '../lib/probe-alarms.js';
import {
  firstAlarmAt,
  type AlarmRule,
  type Comparison,
  type Datapoint,
  type MissingData,
} from '../testkit/alarm-eval.js';

export const SCHEDULES = ['rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(6 hours)', 'rate(1 day)'] as const;
export const ALARM_MODES: readonly AlarmMode[] = ['per-target', 'fleet'];
export const METRIC_MODES: readonly MetricsMode[] = ['default', 'detailed', 'aggregate'];

const STACK = 'MailProbe';
const TARGET = 'relay';
const MIN = 60_000;
/** Runs and heartbeats fire this long after the minute a schedule starts on (the Scheduler's own spread). */
const FIRE_OFFSET_MS = 20_000;
/** How far the scenarios look: past two periods of the slowest schedule. */
const HORIZON_MS = 3 * 24 * 60 * MIN;

export interface Page {
  /** The alarm's name with the stack and the target written as placeholders. */
  readonly alarm: string;
  /** The page names the target: in the alarm's name (classic) or as a contributor (Metrics Insights). */
  readonly namesTarget: boolean;
  /** Minutes from time 0 to the first evaluation in ALARM. */
  readonly minutes: number;
}

export interface CoverageRow {
  readonly schedule: string;
  readonly alarmMode: AlarmMode;
  readonly metricsMode: MetricsMode;
  /** `direct`, `heartbeat` (fleet groups) or `classic`. */
  readonly route: string;
  /** The first alarm to fire for a failing target; undefined: none would. */
  readonly failing?: Page;
  /** The first alarm to fire for a target whose probe stopped. */
  readonly stopped?: Page;
}

// Template JSON, read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AlarmProps = Record<string, any>;

interface Watcher {
  readonly name: string;
  readonly rule: AlarmRule;
  /** What it reads: a per-target Success series, or a per-kind count. */
  readonly reads: 'Success' | 'TargetsCritical' | 'TargetsReporting';
  readonly insights: boolean;
}

const STATISTICS: Record<string, AlarmRule['statistic']> = {
  Minimum: 'Minimum',
  Maximum: 'Maximum',
  Sum: 'Sum',
  MIN: 'Minimum',
  MAX: 'Maximum',
  SUM: 'Sum',
};

function ruleOf(p: AlarmProps, period: number, statistic: string): AlarmRule {
  return {
    periodSeconds: period,
    evaluationPeriods: p['EvaluationPeriods'],
    datapointsToAlarm: p['DatapointsToAlarm'] ?? p['EvaluationPeriods'],
    threshold: p['Threshold'],
    comparison: p['ComparisonOperator'] as Comparison,
    treatMissingData: (p['TreatMissingData'] ?? 'missing') as MissingData,
    statistic: STATISTICS[statistic]!,
  };
}

/** The alarms of the stack that watch the smtp check of TARGET, from the synthesized template. */
function watchersOf(plan: Plan, template: Template): Watcher[] {
  const target = plan.targets.find((t) => t.check === 'smtp' && t.name === TARGET)!;
  const out: Watcher[] = [];
  for (const r of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = (r as { Properties: AlarmProps }).Properties;
    const name = String(p['AlarmName']);
    const dims = Object.fromEntries(
      ((p['Dimensions'] ?? []) as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]),
    );
    if (p['MetricName'] === 'Success' && dims['Check'] === 'smtp' && dims['Target'] === TARGET) {
      out.push({ name, rule: ruleOf(p, p['Period'], p['Statistic']), reads: 'Success', insights: false });
    } else if (
      (p['MetricName'] === 'TargetsCritical' || p['MetricName'] === 'TargetsReporting') &&
      dims['Check'] === 'smtp' &&
      dims['Interval'] === target.interval
    ) {
      out.push({ name, rule: ruleOf(p, p['Period'], p['Statistic']), reads: p['MetricName'], insights: false });
    } else if (Array.isArray(p['Metrics']) && target.group !== undefined) {
      const query = p['Metrics'].find((m: AlarmProps) => typeof m['Expression'] === 'string');
      const expression = String(query?.['Expression'] ?? '');
      const match =
        /^SELECT (MIN|MAX|SUM)\(Success\) .* WHERE Check = 'smtp' AND AlarmGroup = '([^']+)' GROUP BY Target$/.exec(
          expression,
        );
      if (match && match[2] === target.group) {
        // Each series is a contributor, evaluated alone, and exists only while it has data ("a time
        // series only exists when data is present"): a silent target drops out instead of
        // breaching; TreatMissingData applies when the whole group is silent.
        const rule = { ...ruleOf(p, query['Period'], match[1]!), treatMissingData: 'missing' as const };
        out.push({ name, rule, reads: 'Success', insights: true });
      }
    }
  }
  return out;
}

/** The datapoints the probe publishes under `plan` in a scenario, per metric the watchers read. */
function datapoints(plan: Plan, scenario: 'failing' | 'stopped'): Record<Watcher['reads'], Datapoint[]> {
  const shard = plan.shards.find((s) => s.check === 'smtp' && s.specs.some((spec) => spec.name === TARGET))!;
  const periodMs = periodSecondsOf(shard.schedule) * 1000;
  const settings = shard.metrics!;
  const success =
    TARGET_METRICS_BY_MODE[settings.mode].includes('Success') && !(settings.omit ?? []).includes('Success');
  const kinds = KIND_METRICS_BY_MODE[settings.mode];
  const out: Record<Watcher['reads'], Datapoint[]> = { Success: [], TargetsCritical: [], TargetsReporting: [] };
  // Runs: a few healthy ones before time 0, then critical runs (failing) or none (stopped).
  const runs: { atMs: number; critical: boolean }[] = [];
  for (let k = -4; k * periodMs <= HORIZON_MS; k += 1) {
    if (k >= 0 && scenario === 'stopped') break;
    runs.push({ atMs: k * periodMs + FIRE_OFFSET_MS, critical: k >= 0 });
  }
  for (const run of runs) {
    if (success) out.Success.push({ atMs: run.atMs, value: run.critical ? 0 : 1 });
    if (kinds.includes('TargetsCritical')) out.TargetsCritical.push({ atMs: run.atMs, value: run.critical ? 1 : 0 });
    if (kinds.includes('TargetsReporting')) out.TargetsReporting.push({ atMs: run.atMs, value: 1 });
  }
  // The heartbeat (lambdas/engine/metrics/heartbeat.ts): Success = 0 while the last run is critical and fresh.
  const heartbeat = settings.heartbeat;
  if (heartbeat !== undefined) {
    const beatMs = heartbeat.periodSeconds * 1000;
    for (let t = -4 * periodMs + FIRE_OFFSET_MS; t <= HORIZON_MS; t += beatMs) {
      const last = [...runs].reverse().find((r) => r.atMs <= t);
      if (last?.critical && t - last.atMs <= heartbeat.maxAgeSeconds * 1000) out.Success.push({ atMs: t, value: 0 });
    }
  }
  return out;
}

const placeholders = (name: string) =>
  name.replace(new RegExp(`^${STACK}-`), '<stack>-').replace(`-${TARGET}-`, '-<target>-');

function firstPage(watchers: readonly Watcher[], points: Record<Watcher['reads'], Datapoint[]>): Page | undefined {
  let best: Page | undefined;
  for (const w of watchers) {
    const at = firstAlarmAt(w.rule, points[w.reads], 0, HORIZON_MS);
    if (at === undefined) continue;
    const page: Page = {
      alarm: placeholders(w.name),
      namesTarget: w.reads === 'Success',
      minutes: Math.round(at / MIN),
    };
    if (best === undefined || page.minutes < best.minutes) best = page;
  }
  return best;
}

export function coverageRow(schedule: string, alarmMode: AlarmMode, metricsMode: MetricsMode): CoverageRow {
  const plan = planConfig(
    validateConfig({
      metrics: metricsMode,
      alarms: { mode: alarmMode },
      targets: [{ name: TARGET, host: 'smtp.example.com', port: 587, schedule: { smtp: schedule } }],
    }),
  );
  // The alarms exactly as MailProbes builds them from the plan (lib/mail-probes.ts), without the
  // functions (whose own alarms watch no target).
  const app = new App();
  const stack = new Stack(app, STACK, { env: { account: '123456789012', region: 'us-east-1' } });
  new ProbeAlarms(stack, 'Alarms', { ...alarmPropsOf(plan), functions: [] });
  const watchers = watchersOf(plan, Template.fromStack(stack));
  const target = plan.targets.find((t) => t.check === 'smtp')!;
  const group = plan.alarmGroups.find((g) => g.id === target.group);
  const failing = firstPage(watchers, datapoints(plan, 'failing'));
  const stopped = firstPage(watchers, datapoints(plan, 'stopped'));
  return {
    schedule,
    alarmMode,
    metricsMode,
    route: group?.route ?? 'classic',
    ...(failing ? { failing } : {}),
    ...(stopped ? { stopped } : {}),
  };
}

export function coverageTable(): CoverageRow[] {
  const rows: CoverageRow[] = [];
  for (const schedule of SCHEDULES)
    for (const alarmMode of ALARM_MODES)
      for (const metricsMode of METRIC_MODES) rows.push(coverageRow(schedule, alarmMode, metricsMode));
  return rows;
}
