/**
 * The plan's shape (lib/config/plan.ts builds it): what the stack deploys, the alarms
 * and the estimates the limits are checked on. Types only.
 */
import type { FlowPlan } from './flow-plan.js';
import type { MetricsMode } from '../../lambdas/engine/metrics/definitions.js';
import type { Thresholds } from '../../lambdas/engine/context.js';
import type { CheckKind } from '../../lambdas/engine/result.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import type { KindCapacity } from './defaults.js';
import type { FleetRoute } from './fleet-route.js';
import type { MailProbeConfig } from './schema.js';

/** `per-target`: classic alarms per target; `fleet`: Metrics Insights alarms per group of targets. */
export type AlarmMode = 'per-target' | 'fleet';

/** One (check, target) pair as alarms and the dashboard see it. */
export interface PlannedTarget {
  readonly check: CheckKind;
  /** The metric dimension `Target`. */
  readonly name: string;
  /** `host:port`, domain or region. */
  readonly target: string;
  readonly schedule: string;
  /** The schedule's interval: the alarms' period. */
  readonly periodSeconds: number;
  /** `5m`, `6h`: the Interval dimension of the per-kind counts. */
  readonly interval: string;
  readonly thresholds: Thresholds;
  /** The fleet alarm group (the metric dimension `Group`); absent with per-target alarms. */
  readonly group?: string;
  /** This check publishes CertDaysToExpiry and carries the endpoint's certificate alarm (one per endpoint). */
  readonly alarmCertExpiry: boolean;
  /** This check emits DhKeyBits. */
  readonly alarmDhBits: boolean;
  /** Needs outbound port 25 (SMTP on 25, or an MTA-STS domain whose MX hosts are probed). */
  readonly port25: boolean;
  /** ses-account: alarm when QuotaUsedPercent reaches this. */
  readonly quotaWarnPercent?: number;
}

/** One Metrics Insights alarm scope: a check kind, one interval and thresholds, at most FLEET_GROUP_SIZE targets. */
export interface AlarmGroup {
  /** The value of the Group dimension, e.g. `smtp-5m-g1`. */
  readonly id: string;
  readonly check: CheckKind;
  readonly interval: string;
  readonly periodSeconds: number;
  readonly thresholds: Thresholds;
  readonly targets: number;
  /** Every fleet group has a Success alarm (slow schedules through the heartbeat route). */
  readonly alarmSuccess: boolean;
  /** The certificate alarm needs its one period inside Metrics Insights' window, with the margin. */
  readonly alarmCertExpiry: boolean;
  /** `direct`: alarmed on the runs; `heartbeat`: on statuses republished from the state table (fleet-route.ts). */
  readonly route: FleetRoute;
  /** The Success alarm's period: the schedule's (direct) or the heartbeat's. */
  readonly alarmPeriodSeconds: number;
}

/** One "targets reporting" alarm: a check kind at one interval. */
export interface ReportingGroup {
  readonly check: CheckKind;
  readonly interval: string;
  readonly periodSeconds: number;
  /** Results the plan expects per interval. */
  readonly expected: number;
}

export interface Plan {
  readonly namespace: string;
  /** `defaults.concurrency` when set, else the smtp kind's; each shard carries its own. */
  readonly concurrency: number;
  readonly capacity: Readonly<Record<CheckKind, KindCapacity>>;
  readonly functionTimeoutSeconds: number;
  readonly metricsMode: MetricsMode;
  readonly alarmMode: AlarmMode;
  readonly shards: readonly ShardEvent[];
  readonly targets: readonly PlannedTarget[];
  readonly alarmGroups: readonly AlarmGroup[];
  readonly reporting: readonly ReportingGroup[];
  /** Secrets the smtp function may read. */
  readonly secretArns: readonly string[];
  /** Regions whose SES account the ses-account function reads. */
  readonly sesRegions: readonly string[];
  readonly alerting: NonNullable<MailProbeConfig['alerting']>;
  readonly vpc?: MailProbeConfig['vpc'];
  /** What the stack will hold, estimated before synth (the limits are checked on these). */
  readonly estimate: PlanEstimate;
  /** The TLS-RPT receivers, as configured (lib/tlsrpt-receiver.ts). */
  readonly tlsRpt?: MailProbeConfig['tlsRpt'];
  /** The mail flows (`flows[]`), planned apart from the shards (flow-plan.ts). */
  readonly flows?: FlowPlan;
}

export interface PlanEstimate {
  readonly perTargetAlarms: number;
  readonly insightsAlarms: number;
  readonly otherAlarms: number;
  readonly resources: number;
}

export interface PlanOptions {
  /** Prefix of alarm names (the stack name by default), for the 255-character check. @default 'MailProbe' */
  readonly alarmNamePrefix?: string;
  /**
   * Where the checks run can reach port 25 without a VPC (the CLI on a workstation), so
   * `mx: auto` probes MX hosts. @default false (Lambda: only from a VPC)
   */
  readonly port25Reachable?: boolean;
  /** Overrides the config's `alarms.mode` (for CDK users who build the plan in code). @default - the config's, else 'auto' */
  readonly alarmMode?: AlarmMode | 'auto';
}
