/**
 * Which alarms watch a target, decided once (issue #19 item 2): the plan counts them (and
 * decides `alarms.mode: auto` from the count), `ProbeAlarms` builds exactly these, the
 * dashboard groups metrics the same way and the cost model prices the same alarm metrics.
 * Pure: no CDK here, so the CLI's `plan` and `cost` read it without aws-cdk-lib. As in
 * cdk-monitoring-constructs, the constructs ask this layout which alarms to make and never
 * decide it themselves.
 */
import type { CheckKind } from '../../lambdas/engine/checks.js';
import type { MetricsMode } from '../../lambdas/engine/metrics/definitions.js';
import { certInsightsCapable } from '../config/fleet-route.js';
import type { AlarmGroup, AlarmMode, PlannedTarget } from '../config/plan-types.js';
import type { FleetAlarmGroup } from '../config/shard-stacks.js';

/**
 * Critical: mail may not be flowing, or nothing would tell (Success, TargetsReporting,
 * TargetsCritical, function Errors); page. Warning: act within days (an expiring certificate,
 * weak DH, SES quota, throttles and slow runs, which TargetsReporting escalates if runs are lost).
 */
export type AlarmSeverity = 'critical' | 'warning';

/** The per-target metrics an alarm can watch. */
export type AlarmedMetric = 'Success' | 'CertDaysToExpiry' | 'DhKeyBits' | 'QuotaUsedPercent';

export interface AlarmSpec {
  readonly metric: AlarmedMetric;
  readonly severity: AlarmSeverity;
}

/**
 * How a target's own status is alarmed: `classic` (alarms on its own metrics, named after it),
 * `fleet` (a contributor of its group's Metrics Insights alarms) or `none` (aggregate metrics:
 * only the per-kind TargetsCritical alarm sees it).
 */
export type TargetAlarmRoute = 'classic' | 'fleet' | 'none';

export function targetAlarmRoute(check: CheckKind, alarmMode: AlarmMode, metricsMode: MetricsMode): TargetAlarmRoute {
  if (metricsMode === 'aggregate') return 'none';
  // ses-account has one target per region and a 6-hour interval: classic alarms in every mode
  // (a handful of alarms, and no Metrics Insights window to fit).
  if (alarmMode === 'per-target' || check === 'ses-account') return 'classic';
  return 'fleet';
}

/** Whether a kind's per-target metrics carry the alarm group dimension (fleet alarms query by it). */
export function metricsGrouped(check: CheckKind, alarmMode: AlarmMode, metricsMode: MetricsMode): boolean {
  return targetAlarmRoute(check, alarmMode, metricsMode) === 'fleet';
}

/** What decides which of an endpoint's checks carries its certificate alarm. */
export interface CertAlarmInput {
  readonly check: CheckKind;
  /** smtp: the endpoint speaks TLS (STARTTLS or implicit). */
  readonly usesTls: boolean;
  readonly periodSeconds: number;
  /** The same endpoint's tls check, when it has one. */
  readonly tlsCheck?: { readonly periodSeconds: number };
}

/**
 * One certificate alarm per endpoint. Classic: on the tls check when the endpoint has one (it
 * sees the whole chain), else on smtp. Fleet: on the check whose interval fits Metrics Insights'
 * window with the margin (the tls check's 6 hours does not; the smtp check sees the same chain).
 */
export function certAlarmHere(e: CertAlarmInput, alarmMode: AlarmMode, metricsMode: MetricsMode): boolean {
  switch (targetAlarmRoute(e.check, alarmMode, metricsMode)) {
    case 'none':
      return false;
    case 'classic':
      return e.check === 'tls' || e.check === 'mta-sts' || (e.check === 'smtp' && e.usesTls && !e.tlsCheck);
    case 'fleet':
      if (e.check === 'mta-sts') return true;
      if (e.check === 'tls') return certInsightsCapable(e.periodSeconds);
      if (e.check === 'smtp' && e.usesTls) return !(e.tlsCheck && certInsightsCapable(e.tlsCheck.periodSeconds));
      return false;
  }
}

/** What decides a target's classic alarms (a `PlannedTarget`, or the plan's draft of one). */
export type ClassicAlarmInput = Pick<PlannedTarget, 'alarmCertExpiry' | 'alarmDhBits' | 'quotaWarnPercent'>;

/** The classic alarms of one target, in the order `ProbeAlarms` creates them. */
export function classicAlarmsOf(t: ClassicAlarmInput): AlarmSpec[] {
  return [
    { metric: 'Success', severity: 'critical' },
    ...(t.alarmCertExpiry ? [{ metric: 'CertDaysToExpiry', severity: 'warning' } as const] : []),
    ...(t.alarmDhBits ? [{ metric: 'DhKeyBits', severity: 'warning' } as const] : []),
    ...(t.quotaWarnPercent !== undefined ? [{ metric: 'QuotaUsedPercent', severity: 'warning' } as const] : []),
  ];
}

/** The Metrics Insights alarms of one fleet group. */
export function fleetAlarmsOf(g: Pick<AlarmGroup, 'alarmSuccess' | 'alarmCertExpiry'>): AlarmSpec[] {
  return [
    ...(g.alarmSuccess ? [{ metric: 'Success', severity: 'critical' } as const] : []),
    ...(g.alarmCertExpiry ? [{ metric: 'CertDaysToExpiry', severity: 'warning' } as const] : []),
  ];
}

/**
 * The alarms whose metrics include this target's series (what CloudWatch bills: a classic
 * alarm one metric, a Metrics Insights alarm one per series it analyzes).
 */
export function alarmsWatching(
  t: PlannedTarget,
  group: AlarmGroup | undefined,
  alarmMode: AlarmMode,
  metricsMode: MetricsMode,
): AlarmSpec[] {
  switch (targetAlarmRoute(t.check, alarmMode, metricsMode)) {
    case 'classic':
      return classicAlarmsOf(t);
    case 'fleet':
      // The group's certificate alarm analyzes only the series of targets that publish the metric.
      return group ? fleetAlarmsOf(group).filter((a) => a.metric !== 'CertDaysToExpiry' || t.alarmCertExpiry) : [];
    case 'none':
      return [];
  }
}

/** The per-target and Metrics Insights alarm counts of a plan (its estimate and quota checks). */
export function countTargetAlarms(
  targets: readonly PlannedTarget[],
  groups: readonly AlarmGroup[],
  alarmMode: AlarmMode,
  metricsMode: MetricsMode,
): { perTarget: number; insights: number } {
  const perTarget = targets
    .filter((t) => targetAlarmRoute(t.check, alarmMode, metricsMode) === 'classic')
    .reduce((n, t) => n + classicAlarmsOf(t).length, 0);
  const insights = fleetAlarmGroups(groups, alarmMode, metricsMode).reduce((n, g) => n + g.critical + g.warning, 0);
  return { perTarget, insights };
}

/** The fleet groups that get Metrics Insights alarms, with their counts (what alarm stacks place). */
export function fleetAlarmGroups(
  groups: readonly AlarmGroup[],
  alarmMode: AlarmMode,
  metricsMode: MetricsMode,
): FleetAlarmGroup[] {
  if (alarmMode !== 'fleet' || metricsMode === 'aggregate') return [];
  return groups.map((g) => {
    const specs = fleetAlarmsOf(g);
    const critical = specs.filter((a) => a.severity === 'critical').length;
    return { id: g.id, critical, warning: specs.length - critical };
  });
}
