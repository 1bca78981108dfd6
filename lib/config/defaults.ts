/**
 * The plan's defaults and AWS's limits, as named constants: one place per fact. The
 * per-kind capacity (concurrency, memory) is explained in the README ("Scale") with the
 * figures `npm run bench` measured.
 */
import type { CheckKind } from '../../lambdas/engine/result.js';

export const DEFAULT_SCHEDULES: Readonly<Record<CheckKind, string>> = {
  smtp: 'rate(5 minutes)',
  'mta-sts': 'rate(1 hour)',
  tls: 'rate(6 hours)',
  'ses-account': 'rate(6 hours)',
  dane: 'rate(1 hour)',
  flow: 'rate(15 minutes)',
  // DNS edits (an include pushed past 10 lookups, a deleted selector) are found within the hour.
  'sender-auth': 'rate(1 hour)',
};
export { DEFAULT_NAMESPACE } from '../../lambdas/engine/metrics/definitions.js';
/** Port 25 is left out: AWS blocks it from Lambda unless the account's restriction is lifted. */
export const DEFAULT_SES_PORTS: readonly number[] = [587, 2587, 465, 2465];
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 300;

export interface KindCapacity {
  /** Checks one invocation runs at once (config `defaults.concurrency` overrides it for every kind). */
  readonly concurrency: number;
  /** Lambda memory in MB; CPU grows with it (about 0.3 vCPU at 512 MB, a full vCPU at 1,769 MB). */
  readonly memoryMb: number;
}

/**
 * Chosen from `npm run bench` (bench/fleet.ts, capacityPerCheck): an smtp check costs ≤ 14 ms of
 * CPU and waits on the network for the rest, so a wave of 16 fits ~0.3 vCPU (512 MB); a tls
 * posture check costs ≤ 31 ms in one burst of six handshakes, so a wave of 8 gets 1,024 MB
 * (~0.6 vCPU) to finish the burst in ~0.4 s; mta-sts waits on DNS, HTTPS and up to 4 MX
 * sessions; ses-account makes a few API calls. README "Scale" has the table.
 */
export const KIND_CAPACITY: Readonly<Record<CheckKind, KindCapacity>> = {
  smtp: { concurrency: 16, memoryMb: 512 },
  tls: { concurrency: 8, memoryMb: 1024 },
  'mta-sts': { concurrency: 8, memoryMb: 512 },
  'ses-account': { concurrency: 4, memoryMb: 256 },
  // Not scheduled on its own (the verdict is part of mta-sts); as mta-sts if it ever is.
  dane: { concurrency: 8, memoryMb: 512 },
  // One SMTP session and one IMAP session per flow, mostly waiting on the network.
  flow: { concurrency: 4, memoryMb: 512 },
  // DNS only (an SPF tree is at most ~40 lookups); the CPU is the DKIM key parse.
  'sender-auth': { concurrency: 16, memoryMb: 256 },
};

/**
 * Head-room left in every invocation for the cold start, secret look-ups, the
 * PutMetricData retries and the EMF fallback: 20 % of the timeout plus 10 s.
 */
export const TIMEOUT_MARGIN_RATIO = 0.2;
export const TIMEOUT_MARGIN_FIXED_MS = 10_000;

/** EventBridge Scheduler accepts at most 256 KB of target input (Scheduler quotas). */
export const SCHEDULER_MAX_INPUT_BYTES = 256 * 1024;
/** Shards are cut well below it. */
export const MAX_SHARD_INPUT_BYTES = 200_000;
/** CloudFormation: 500 resources per stack. */
export const CFN_MAX_RESOURCES_PER_STACK = 500;
/** CloudWatch: alarm names are at most 255 characters. */
export const ALARM_NAME_MAX_LENGTH = 255;
/** Metrics Insights alarms per account and region, AWS's default quota. */
export const DEFAULT_INSIGHTS_ALARM_QUOTA = 200;
/** A Metrics Insights query returns at most 500 series; groups keep room for targets being renamed. */
export const INSIGHTS_MAX_SERIES = 500;
export const FLEET_GROUP_SIZE = 400;
/** Metrics Insights alarms evaluate only the latest 3 hours. */
export const INSIGHTS_EVALUATION_WINDOW_SECONDS = 3 * 3600;
/** `auto` keeps per-target alarms while they are at most this many (they then fit one stack with room). */
export const AUTO_PER_TARGET_MAX_ALARMS = 250;
/** CloudWatch dashboards: at most 500 widgets; the body at most 1 MB (PutDashboard). */
export const DASHBOARD_MAX_WIDGETS = 500;
export const DASHBOARD_MAX_BODY_BYTES = 1_000_000;

/** Success below 1 in 2 of the last 3 runs: one failed run is noise, two are an incident. */
export const SUCCESS_EVALUATION_PERIODS = 3;
export const SUCCESS_DATAPOINTS_TO_ALARM = 2;

/**
 * Fleet alarms keep this margin below Metrics Insights' 3-hour window: a group whose alarm
 * span (period × evaluation periods) reaches past 2.5 hours would lose its oldest datapoint to
 * a late run or ingestion delay, so it takes the heartbeat route instead (lib/config/fleet-route.ts).
 */
export const FLEET_DIRECT_MAX_SPAN_SECONDS = 2.5 * 3600;
/**
 * How often a slow group's last statuses are republished from the state table. Any period
 * under an hour costs the same custom metrics (billed by the hours with data); 15 minutes
 * pages a failing target within 2 heartbeats of its run, and 3 periods span 45 minutes.
 */
export const HEARTBEAT_PERIOD_SECONDS = 15 * 60;
export const HEARTBEAT_SCHEDULE = 'rate(15 minutes)';
/**
 * A state older than this many of the check's periods is not republished: the probe has
 * stopped, the series drops out, and the TargetsReporting alarm says so. Republishing it
 * would keep a stopped probe looking healthy.
 */
export const HEARTBEAT_MAX_AGE_PERIODS = 2;
