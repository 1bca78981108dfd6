/**
 * The monthly cost of a plan, itemised (`mailprobe cost`, the README's cost table). Pure:
 * prices come from prices.ts, usage from the plan and the assumptions below, so a test can
 * recompute every figure by hand.
 *
 * Each target's share is its marginal cost: what it adds to a shard that already runs
 * (its metrics, its share of the alarms' analyzed metrics, its compute, log bytes and state
 * reads/writes). What runs once per shard run (the schedule's invocation, the Lambda
 * request and its start-up, the PutMetricData request) and what exists once per stack
 * (dashboard, key, function and reporting alarms, per-kind counts) is `fixedUsd`.
 */
import { effectiveTlsMode } from '../../lambdas/engine/checks.js';
import {
  KIND_METRICS_BY_MODE,
  TARGET_METRICS_BY_MODE,
  type ShardMetrics,
  type TargetMetricName,
} from '../../lambdas/engine/metrics/definitions.js';
import type { CheckKind } from '../../lambdas/engine/result.js';
import { nameOf, periodSecondsOf, type Plan } from '../config/plan.js';
import { HOURS_PER_MONTH, PRICES, PRICES_CHECKED, PRICES_REGION } from './prices.js';
import { applyVolumeTiers } from './tiers.js';
import { alarmsWatching } from '../monitoring/alarm-layout.js';
import { DATA_LIMITS } from '../../lambdas/engine/tlsrpt/limits.js';

/** Wall time of one check, its share of an invocation (bench/fleet.ts measures the CPU part; the rest is network). */
export const CHECK_SECONDS: Readonly<Record<CheckKind, number>> = {
  smtp: 1.0,
  tls: 2.0,
  'mta-sts': 2.0,
  'ses-account': 1.0,
  dane: 2.0,
  flow: 3.0,
  'sender-auth': 1.0,
};
/**
 * Size of one result log line (JSON, schema/mailprobe.result.schema.json), bytes, as measured
 * on real results (2026-12-05): smtp 2.6–2.9 KB and tls 2.4–2.7 KB against loopback relays;
 * an MTA-STS domain with one probed MX 10–12.4 KB (its MX reports and DANE verdict); dane
 * 0.8–4.3 KB (8.6 KB with several MX hosts). No result exceeds 32 KiB (result-bounds.ts).
 */
export const RESULT_LINE_BYTES: Readonly<Record<CheckKind, number>> = {
  smtp: 3000,
  tls: 2700,
  'mta-sts': 12_000,
  'ses-account': 2000,
  dane: 2500,
  flow: 3000,
  'sender-auth': 4000,
};
/** Start-up and publishing time of one invocation, billed once per shard run. */
export const INVOCATION_OVERHEAD_SECONDS = 0.5;
/** The run summary line and Lambda's START/END/REPORT lines, per invocation. */
export const INVOCATION_LOG_BYTES = 1000;
/** The state table (DynamoDB, on demand): one read and one write per check run. */
export const STATE_READS_PER_RUN = 1;
export const STATE_WRITES_PER_RUN = 1;
/** A heartbeat reads each target's state item once (strongly consistent, under 4 KB: one read unit). */
export const HEARTBEAT_READS_PER_TARGET = 1;
/**
 * Share of a heartbeat group's targets assumed critical at any time (they alone get a datum, and
 * their Success metric data in every hour while failing: priced into this share, not the metric line).
 */
export const HEARTBEAT_CRITICAL_SHARE = 0.01;
/** Cost lines of the heartbeat route. */
export const HEARTBEAT_TARGET_ITEM = 'heartbeat state reads and PutMetricData';
export const HEARTBEAT_FIXED_ITEM = 'heartbeat runs (schedules, Lambda, one PutMetricData each)';
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GB = 1e9;

export const ASSUMPTIONS: readonly string[] = [
  `prices: ${PRICES_REGION}, on-demand list prices checked ${PRICES_CHECKED}, no free tier`,
  `a month is ${HOURS_PER_MONTH} hours; custom metrics are prorated by the hours in which they receive data`,
  'Metrics Insights alarms cost one alarm metric per series they analyze; classic alarms one per metric',
  `one check takes ${Object.entries(CHECK_SECONDS)
    .map(([k, s]) => `${k} ${s} s`)
    .join(', ')} of wall time, shared by the checks that run at once (the kind's concurrency)`,
  `one invocation adds ${INVOCATION_OVERHEAD_SECONDS} s and ${INVOCATION_LOG_BYTES} log bytes; a result line is ${Object.entries(
    RESULT_LINE_BYTES,
  )
    .map(([k, b]) => `${k} ${b}`)
    .join(', ')} bytes; logs are kept one month`,
  `the state table takes ${STATE_READS_PER_RUN} read and ${STATE_WRITES_PER_RUN} write request unit per check run`,
  'fleet groups whose 3 alarm periods reach past 2.5 h are alarmed through a heartbeat every 15 minutes: one invocation per shard and one state read per target; a Success datum only for a target whose last run was critical (1 % of targets assumed)',
  'change notifications (SNS) and the KMS requests they make are rare (status changes only) and not counted',
  "custom metrics and Lambda compute follow AWS's volume tiers over the whole deployment (metrics: $0.30 to 10,000, $0.10 to 250,000, $0.05 to 1 M, $0.02 beyond); a target's line shows its share at the deployment's average price",
  'viewing the dashboard (GetMetricData, Logs Insights) depends on how often it is open: priced apart for a stated pattern (lib/cost/dashboard.ts)',
];

export interface CostItem {
  readonly item: string;
  readonly usd: number;
}

export interface TargetCost {
  /** The Target name (all its checks together). */
  readonly name: string;
  readonly checks: readonly CheckKind[];
  readonly usd: number;
  readonly items: readonly CostItem[];
}

export interface CostEstimate {
  readonly region: string;
  readonly pricesChecked: string;
  readonly metricsMode: Plan['metricsMode'];
  readonly alarmMode: Plan['alarmMode'];
  readonly totalUsd: number;
  readonly fixedUsd: number;
  readonly targets: readonly TargetCost[];
  /** Sums over the whole deployment, per kind of charge. */
  readonly items: readonly CostItem[];
  readonly fixedItems: readonly CostItem[];
  readonly assumptions: readonly string[];
}

/** Share of the month's hours in which a metric published every `periodSeconds` has data. */
export function hoursWithDataRatio(periodSeconds: number): number {
  return Math.min(1, 3600 / periodSeconds);
}

/** The per-target metrics one check publishes under its shard's settings. */
export function publishedMetrics(
  check: CheckKind,
  settings: ShardMetrics | undefined,
  usesTls: boolean,
): TargetMetricName[] {
  const mode = settings?.mode ?? 'detailed';
  const emitted = (m: TargetMetricName) =>
    m === 'Success' ||
    m === 'Duration' ||
    m === 'FindingCount' ||
    (m === 'CertDaysToExpiry' && (check === 'tls' || check === 'mta-sts' || (check === 'smtp' && usesTls))) ||
    (m === 'DhKeyBits' && check === 'tls') ||
    (m === 'QuotaUsedPercent' && check === 'ses-account');
  return TARGET_METRICS_BY_MODE[mode].filter((m) => emitted(m) && !(settings?.omit ?? []).includes(m));
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

/** Hours a month in which a TLS-RPT domain's metrics get data: about three reports a day, each in its own hour. */
export const TLSRPT_HOURS_WITH_DATA = 90;

export function estimateCost(plan: Plan, options: { existingTopic?: boolean } = {}): CostEstimate {
  const byName = new Map<string, { checks: CheckKind[]; items: Map<string, number> }>();
  const totals = new Map<string, number>();
  const fixed = new Map<string, number>();
  const addTo = (map: Map<string, number>, item: string, usd: number) => map.set(item, (map.get(item) ?? 0) + usd);
  const groups = new Map(plan.alarmGroups.map((g) => [g.id, g]));
  const targetOf = new Map(plan.targets.map((t) => [`${t.check} ${t.name}`, t]));

  for (const shard of plan.shards) {
    const period = periodSecondsOf(shard.schedule);
    const runs = SECONDS_PER_MONTH / period;
    const capacity = plan.capacity[shard.check];
    const gb = capacity.memoryMb / 1024;
    let datumsPerRun = 0;
    // Slow fleet groups (lib/config/fleet-route.ts): the heartbeat schedule of this shard.
    const heartbeat = shard.metrics?.heartbeat;
    const heartbeatRuns = heartbeat !== undefined ? SECONDS_PER_MONTH / heartbeat.periodSeconds : 0;

    for (const spec of shard.specs) {
      const name = nameOf(spec);
      const planned = targetOf.get(`${spec.check} ${name}`);
      const usesTls = spec.check === 'smtp' ? effectiveTlsMode(spec.tls, spec.port) !== 'none' : true;
      const metrics = publishedMetrics(spec.check, shard.metrics, usesTls);
      datumsPerRun += metrics.length;
      const entry = byName.get(name) ?? { checks: [], items: new Map<string, number>() };
      entry.checks.push(spec.check);
      const add = (item: string, usd: number) => {
        addTo(entry.items, item, usd);
        addTo(totals, item, usd);
      };
      add('custom metrics', metrics.length * PRICES.customMetricMonth * hoursWithDataRatio(period));

      // The alarms that analyze this target's series (monitoring/alarm-layout.ts), one alarm metric each.
      const group = planned?.group !== undefined ? groups.get(planned.group) : undefined;
      const alarmMetrics = planned ? alarmsWatching(planned, group, plan.alarmMode, plan.metricsMode).length : 0;
      add('alarms', alarmMetrics * PRICES.alarmMetricMonth);

      const gbSeconds = runs * (CHECK_SECONDS[spec.check] / shard.concurrency) * gb;
      add('Lambda compute', gbSeconds * PRICES.lambdaArmGbSecond);
      const logBytes = runs * RESULT_LINE_BYTES[spec.check];
      add('log ingestion and storage', (logBytes / GB) * (PRICES.logIngestionPerGb + PRICES.logStoragePerGbMonth));
      add(
        'state table (DynamoDB)',
        (runs / 1e6) *
          (STATE_READS_PER_RUN * PRICES.dynamoReadPerMillion + STATE_WRITES_PER_RUN * PRICES.dynamoWritePerMillion),
      );
      // Its datums' share of the PutMetricData requests (1,000 datums per request).
      add('PutMetricData requests', ((runs * metrics.length) / 1000 / 1000) * PRICES.apiRequestsPer1000);
      if (heartbeat !== undefined && metrics.includes('Success')) {
        // One state read per heartbeat; a datum only while the target is critical (metrics/heartbeat.ts).
        add(
          HEARTBEAT_TARGET_ITEM,
          (heartbeatRuns / 1e6) * HEARTBEAT_READS_PER_TARGET * PRICES.dynamoReadPerMillion +
            HEARTBEAT_CRITICAL_SHARE *
              ((heartbeatRuns / 1000 / 1000) * PRICES.apiRequestsPer1000 +
                PRICES.customMetricMonth * (hoursWithDataRatio(heartbeat.periodSeconds) - hoursWithDataRatio(period))),
        );
      }
      byName.set(name, entry);
    }
    if (heartbeat !== undefined) {
      addTo(
        fixed,
        HEARTBEAT_FIXED_ITEM,
        (heartbeatRuns / 1e6) * (PRICES.schedulerPerMillion + PRICES.lambdaRequestsPerMillion) +
          heartbeatRuns * INVOCATION_OVERHEAD_SECONDS * gb * PRICES.lambdaArmGbSecond +
          (heartbeatRuns / 1000) * PRICES.apiRequestsPer1000 +
          ((heartbeatRuns * INVOCATION_LOG_BYTES) / GB) * (PRICES.logIngestionPerGb + PRICES.logStoragePerGbMonth),
      );
    }

    const kindDatums = shard.metrics ? KIND_METRICS_BY_MODE[shard.metrics.mode].length : 0;
    const requestsPerRun = datumsPerRun + kindDatums > 0 ? 1 : 0;
    addTo(fixed, 'schedules (EventBridge Scheduler)', (runs / 1e6) * PRICES.schedulerPerMillion);
    addTo(
      fixed,
      'Lambda requests and start-up',
      (runs / 1e6) * PRICES.lambdaRequestsPerMillion +
        runs * INVOCATION_OVERHEAD_SECONDS * gb * PRICES.lambdaArmGbSecond,
    );
    addTo(fixed, 'PutMetricData requests (one per run)', ((runs * requestsPerRun) / 1000) * PRICES.apiRequestsPer1000);
    addTo(
      fixed,
      'log ingestion and storage (run summaries)',
      ((runs * INVOCATION_LOG_BYTES) / GB) * (PRICES.logIngestionPerGb + PRICES.logStoragePerGbMonth),
    );
  }

  const kinds = new Set(plan.shards.map((s) => s.check));
  for (const r of plan.reporting) {
    const kindMetrics = KIND_METRICS_BY_MODE[plan.metricsMode].length;
    addTo(
      fixed,
      'per-kind counts (custom metrics)',
      kindMetrics * PRICES.customMetricMonth * hoursWithDataRatio(r.periodSeconds),
    );
    addTo(fixed, 'reporting and per-kind alarms', (plan.metricsMode === 'aggregate' ? 2 : 1) * PRICES.alarmMetricMonth);
  }
  addTo(fixed, 'function alarms (errors, throttles, duration)', kinds.size * 3 * PRICES.alarmMetricMonth);
  addTo(fixed, 'dashboard', PRICES.dashboardMonth);
  if (!options.existingTopic && !plan.alerting.topicArn) addTo(fixed, 'KMS key of the alert topic', PRICES.kmsKeyMonth);
  if (plan.tlsRpt) {
    // TLS-RPT (lib/tlsrpt-receiver.ts): two metrics and one alarm per domain, with data in the hours reports
    // arrive (about three senders a day), an Errors alarm per receiver and the Dropped alarm (one
    // metric per data limit); requests, Lambda, S3 and SES receiving stay at fractions of a cent.
    const domains = plan.tlsRpt.domains?.length ?? plan.targets.filter((t) => t.check === 'mta-sts').length;
    const receivers = (plan.tlsRpt.https ? 1 : 0) + (plan.tlsRpt.mail ? 1 : 0);
    addTo(
      fixed,
      'TLS-RPT metrics and alarms',
      domains * (2 * PRICES.customMetricMonth * (TLSRPT_HOURS_WITH_DATA / HOURS_PER_MONTH) + PRICES.alarmMetricMonth) +
        (receivers + DATA_LIMITS.length) * PRICES.alarmMetricMonth,
    );
  }

  const targets: TargetCost[] = [...byName.entries()].map(([name, e]) => ({
    name,
    checks: e.checks,
    usd: round([...e.items.values()].reduce((a, b) => a + b, 0)),
    items: [...e.items.entries()].map(([item, usd]) => ({ item, usd: round(usd) })),
  }));
  const fixedItems = [...fixed.entries()].map(([item, usd]) => ({ item, usd: round(usd) }));
  const fixedUsd = round([...fixed.values()].reduce((a, b) => a + b, 0));
  const variable = [...totals.values()].reduce((a, b) => a + b, 0);
  return applyVolumeTiers({
    region: PRICES_REGION,
    pricesChecked: PRICES_CHECKED,
    metricsMode: plan.metricsMode,
    alarmMode: plan.alarmMode,
    totalUsd: round(variable + fixedUsd),
    fixedUsd,
    targets,
    items: [...totals.entries()].map(([item, usd]) => ({ item, usd: round(usd) })),
    fixedItems,
    assumptions: ASSUMPTIONS,
  });
}
