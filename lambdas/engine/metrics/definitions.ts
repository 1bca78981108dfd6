/**
 * The metrics, defined once (DESIGN.md §5). The publisher, the EMF fallback, the
 * alarms and the dashboard all import these names, units and dimensions, so a metric
 * that is published is exactly the metric that is alarmed on.
 *
 * Every custom metric (name × dimension values) is billed monthly, so the set is small.
 */
import { DEPLOYED_KINDS, type CheckKind } from '../result.js';

export const DEFAULT_NAMESPACE = 'MailProbe';

/** CloudWatch's unit names (StandardUnit), as the API spells them. */
export const Unit = {
  None: 'None',
  Count: 'Count',
  Milliseconds: 'Milliseconds',
  Seconds: 'Seconds',
  Bits: 'Bits',
  Percent: 'Percent',
} as const;
export type MetricUnit = (typeof Unit)[keyof typeof Unit];

/** Dimension names, in the order they are sent (alarms must repeat them exactly). */
export const DIMENSION_CHECK = 'Check';
export const DIMENSION_TARGET = 'Target';
/**
 * The alarm group of a target (fleet alarms only): a Metrics Insights alarm may look at
 * no more than 500 series, so the plan cuts each check kind into groups and every query
 * says `WHERE AlarmGroup = '…'` (not "Group": GROUP is a keyword of the query language). Absent with per-target (classic) alarms.
 */
export const DIMENSION_GROUP = 'AlarmGroup';
/** The schedule's interval (`5m`, `6h`) on the per-kind counts: one reporting alarm per interval. */
export const DIMENSION_INTERVAL = 'Interval';
export const DIMENSION_NAMES = [DIMENSION_CHECK, DIMENSION_TARGET] as const;
/** Every dimension in the order it is sent; a datum sends those it has. */
export const DIMENSION_ORDER = [DIMENSION_CHECK, DIMENSION_GROUP, DIMENSION_INTERVAL, DIMENSION_TARGET] as const;

/**
 * What a deployment publishes (config key `metrics`):
 * - `default`: per target only what alarms read (Success, CertDaysToExpiry, DhKeyBits, QuotaUsedPercent);
 * - `detailed`: also Duration and FindingCount, and the per-kind counts;
 * - `aggregate`: per-kind counts only (fleets of thousands); per-target status is in the
 *   result log lines, the state table and the change notifications.
 * The per-kind `TargetsReporting` count is published in every mode: the reporting alarm reads it.
 */
export const METRICS_MODES = ['default', 'detailed', 'aggregate'] as const;
export type MetricsMode = (typeof METRICS_MODES)[number];

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
  /** Which checks emit it. */
  readonly checks: readonly CheckKind[];
  readonly description: string;
}

export const METRICS = {
  Success: {
    name: 'Success',
    unit: Unit.Count,
    checks: DEPLOYED_KINDS,
    description: '1 when the result is not critical, else 0.',
  },
  Duration: {
    name: 'Duration',
    unit: Unit.Milliseconds,
    checks: DEPLOYED_KINDS,
    description: 'How long the check took.',
  },
  CertDaysToExpiry: {
    name: 'CertDaysToExpiry',
    // CloudWatch has no "Days" unit.
    unit: Unit.None,
    checks: ['smtp', 'tls', 'mta-sts'],
    description: 'Whole days until the earliest-expiring certificate seen (chain; policy host and MX for mta-sts).',
  },
  DhKeyBits: {
    name: 'DhKeyBits',
    unit: Unit.Bits,
    checks: ['tls'],
    description: 'Size of the DHE group the server uses; 0 when it offers no DHE suites.',
  },
  FindingCount: {
    name: 'FindingCount',
    unit: Unit.Count,
    checks: DEPLOYED_KINDS,
    description: 'Number of warning and critical findings.',
  },
  QuotaUsedPercent: {
    name: 'QuotaUsedPercent',
    unit: Unit.Percent,
    checks: ['ses-account'],
    description: 'Share of the SES 24-hour sending quota used.',
  },
  Delivered: {
    name: 'Delivered',
    unit: Unit.Count,
    checks: ['flow'],
    description: 'Per flow and run: 0 when a message was declared lost (not arrived after maxSeconds), else 1.',
  },
  DeliverySeconds: {
    name: 'DeliverySeconds',
    // Seconds, not ms: the dashboard and the warnSeconds/maxSeconds settings speak seconds.
    unit: Unit.Seconds,
    checks: ['flow'],
    description: 'Per flow: send-to-mailbox time of the newest message settled in the run.',
  },
  TargetsReporting: {
    name: 'TargetsReporting',
    unit: Unit.Count,
    checks: DEPLOYED_KINDS,
    description: 'Per check kind and interval: results produced by one run of a shard (summed over the interval).',
  },
  TargetsOk: {
    name: 'TargetsOk',
    unit: Unit.Count,
    checks: DEPLOYED_KINDS,
    description: 'Per check kind and interval: results with status ok.',
  },
  TargetsWarning: {
    name: 'TargetsWarning',
    unit: Unit.Count,
    checks: DEPLOYED_KINDS,
    description: 'Per check kind and interval: results with status warning.',
  },
  TargetsCritical: {
    name: 'TargetsCritical',
    unit: Unit.Count,
    checks: DEPLOYED_KINDS,
    description: 'Per check kind and interval: results with status critical.',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

/** Per-target metrics, with dimensions Check (+ Group) + Target. */
export type TargetMetricName =
  | 'Success'
  | 'Duration'
  | 'CertDaysToExpiry'
  | 'DhKeyBits'
  | 'FindingCount'
  | 'QuotaUsedPercent'
  | 'Delivered'
  | 'DeliverySeconds';
/** Per-kind counts, with dimensions Check + Interval. */
export type KindMetricName = 'TargetsReporting' | 'TargetsOk' | 'TargetsWarning' | 'TargetsCritical';

/**
 * The per-target metrics each mode publishes. `Delivered` is in every mode: a lost message
 * must page through its own alarm, and flows are a handful per deployment (each sends real
 * mail), not a fleet whose per-target series would cost.
 */
export const TARGET_METRICS_BY_MODE: Readonly<Record<MetricsMode, readonly TargetMetricName[]>> = {
  default: ['Success', 'CertDaysToExpiry', 'DhKeyBits', 'QuotaUsedPercent', 'Delivered', 'DeliverySeconds'],
  detailed: [
    'Success',
    'Duration',
    'CertDaysToExpiry',
    'DhKeyBits',
    'FindingCount',
    'QuotaUsedPercent',
    'Delivered',
    'DeliverySeconds',
  ],
  aggregate: ['Delivered'],
};
/** The per-kind counts each mode publishes. */
export const KIND_METRICS_BY_MODE: Readonly<Record<MetricsMode, readonly KindMetricName[]>> = {
  default: ['TargetsReporting'],
  detailed: ['TargetsReporting', 'TargetsOk', 'TargetsWarning', 'TargetsCritical'],
  aggregate: ['TargetsReporting', 'TargetsOk', 'TargetsWarning', 'TargetsCritical'],
};

/**
 * The metric settings of one shard, chosen by the plan and passed in the shard event.
 * Absent (older shards, tests): every per-target metric, no per-kind counts.
 */
export interface ShardMetrics {
  readonly mode: MetricsMode;
  /** The shard's schedule interval, e.g. `5m`: the Interval dimension of the per-kind counts. */
  readonly interval: string;
  /** The alarm group (fleet alarms): added as the Group dimension of per-target metrics. */
  readonly group?: string;
  /** Per-target metrics this shard leaves out although its mode has them (e.g. CertDaysToExpiry alarmed on another check). */
  readonly omit?: readonly TargetMetricName[];
  /** Fleet alarms of a slow schedule: a second schedule republishes the last statuses (metrics/heartbeat.ts). */
  readonly heartbeat?: ShardHeartbeat;
}

/** The heartbeat of a shard whose schedule is too slow for Metrics Insights' 3-hour window (lib/config/fleet-route.ts). */
export interface ShardHeartbeat {
  /** The heartbeat schedule's expression, e.g. `rate(15 minutes)`. */
  readonly schedule: string;
  /** Its period: the fleet Success alarm's period. */
  readonly periodSeconds: number;
  /** A last status older than this is not republished (the probe stopped; TargetsReporting pages). */
  readonly maxAgeSeconds: number;
}

export interface Dimensions {
  readonly Check: CheckKind;
  readonly Target?: string;
  readonly AlarmGroup?: string;
  readonly Interval?: string;
}

/** One value of one metric for one (Check, Target). */
export interface Datum {
  readonly metric: MetricName;
  readonly value: number;
  readonly dimensions: Dimensions;
  /** When the check started: the datapoint belongs to that moment. */
  readonly timestamp: Date;
}

/** As the API wants them, in DIMENSION_ORDER: `[{ Name: 'Check', Value }, { Name: 'Target', Value }]`. */
export function dimensionList(d: Dimensions): { Name: string; Value: string }[] {
  const out: { Name: string; Value: string }[] = [];
  for (const name of DIMENSION_ORDER) {
    const value = d[name];
    if (value !== undefined) out.push({ Name: name, Value: value });
  }
  return out;
}
