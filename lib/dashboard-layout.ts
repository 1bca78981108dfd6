/**
 * What the dashboard shows, as data: its Metrics Insights widgets, their queries and
 * periods. Pure (no aws-cdk-lib), so the dashboard construct (probe-dashboard.ts) draws
 * exactly these widgets and the cost model (cost/dashboard.ts) prices exactly these queries.
 */
import type { KindMetricName, MetricsMode } from '../lambdas/engine/metrics/definitions.js';
import { DEPLOYED_KINDS, type CheckKind } from '../lambdas/engine/checks.js';
import type { AlarmMode, PlannedTarget } from './config/plan.js';
import type { InsightsQueryOptions } from './probe-metrics.js';
import { metricsGrouped } from './monitoring/alarm-layout.js';

export const DEFAULT_TOP_N = 10;
/** The dashboard's time range when opened (its defaultInterval); the log widget scans this much. */
export const DASHBOARD_RANGE_HOURS = 24;
/** The period of the count widget's queries. */
export const COUNT_PERIOD_SECONDS = 300;
/** The period of the certificate, DH and quota widgets. */
export const SLOW_WIDGET_PERIOD_SECONDS = 6 * 3600;

/** The target fields the layout depends on. */
export type LayoutTarget = Pick<
  PlannedTarget,
  'check' | 'periodSeconds' | 'alarmCertExpiry' | 'alarmDhBits' | 'quotaWarnPercent'
>;

export interface DashboardLayoutInput {
  readonly targets: readonly LayoutTarget[];
  /** @default 'per-target' */
  readonly alarmMode?: AlarmMode;
  /** @default 'default' */
  readonly metricsMode?: MetricsMode;
  /** @default DEFAULT_TOP_N */
  readonly topN?: number;
}

/** One Metrics Insights widget: a per-target query drawn as a graph or a table of values. */
export interface InsightsWidget {
  readonly type: 'graph' | 'single-value';
  readonly title: string;
  readonly query: Omit<InsightsQueryOptions, 'namespace'>;
  readonly periodSeconds: number;
  readonly width: 12 | 24;
  /** A 0–1 left axis (Success). */
  readonly unitInterval?: boolean;
}

/** The per-kind counts the first graph plots (one Metrics Insights query each). */
export function countMetrics(metricsMode: MetricsMode = 'default'): KindMetricName[] {
  return [
    'TargetsReporting',
    ...(metricsMode === 'default' ? [] : (['TargetsCritical', 'TargetsWarning', 'TargetsOk'] as const)),
  ];
}

/** Check kinds the dashboard has widgets for, in the order they appear. */
export const DASHBOARD_KINDS: readonly CheckKind[] = DEPLOYED_KINDS;

/** The per-target Metrics Insights widgets, in dashboard order (none in aggregate mode). */
export function insightsWidgets(input: DashboardLayoutInput): InsightsWidget[] {
  const metricsMode = input.metricsMode ?? 'default';
  if (metricsMode === 'aggregate') return [];
  const grouped = (input.alarmMode ?? 'per-target') === 'fleet';
  const topN = input.topN ?? DEFAULT_TOP_N;
  const { targets } = input;
  const periodOf = (kind: CheckKind) =>
    Math.max(60, Math.min(...targets.filter((t) => t.check === kind).map((t) => t.periodSeconds)));
  const widgets: InsightsWidget[] = [];
  for (const kind of DASHBOARD_KINDS.filter((k) => targets.some((t) => t.check === k))) {
    // Kinds alarmed classically (alarm-layout.ts) publish without the AlarmGroup dimension.
    const kindGrouped = metricsGrouped(kind, input.alarmMode ?? 'per-target', metricsMode);
    const title =
      kind === 'mta-sts' ? `MTA-STS status per domain, worst ${topN}` : `${kind}: Success, worst ${topN} targets`;
    widgets.push({
      type: 'graph',
      title: `${title} (1 = ok or warning, 0 = critical)`,
      query: { metric: 'Success', fn: 'MIN', grouped: kindGrouped, check: kind, order: 'ASC', limit: topN },
      periodSeconds: periodOf(kind),
      width: 12,
      unitInterval: true,
    });
    if (metricsMode === 'detailed') {
      widgets.push({
        type: 'graph',
        title: `${kind}: Duration (ms), slowest ${topN}`,
        query: { metric: 'Duration', fn: 'MAX', grouped: kindGrouped, check: kind, order: 'DESC', limit: topN },
        periodSeconds: periodOf(kind),
        width: 12,
      });
    }
  }
  if (targets.some((t) => t.alarmCertExpiry || t.check === 'tls')) {
    widgets.push({
      type: 'single-value',
      title: `Certificate days to expiry (earliest in chain): the ${topN} that expire first`,
      query: {
        metric: 'CertDaysToExpiry',
        fn: 'MIN',
        grouped,
        groupBy: ['Check', 'Target'],
        order: 'ASC',
        limit: topN,
      },
      periodSeconds: SLOW_WIDGET_PERIOD_SECONDS,
      width: 24,
    });
  }
  if (targets.some((t) => t.alarmDhBits)) {
    widgets.push({
      type: 'single-value',
      title: `DHE key bits (0 = no DHE suites): the ${topN} smallest`,
      query: { metric: 'DhKeyBits', fn: 'MIN', grouped, check: 'tls', order: 'ASC', limit: topN },
      periodSeconds: SLOW_WIDGET_PERIOD_SECONDS,
      width: 24,
    });
  }
  if (targets.some((t) => t.quotaWarnPercent !== undefined)) {
    widgets.push({
      type: 'single-value',
      title: 'SES 24-hour quota used (%)',
      query: {
        metric: 'QuotaUsedPercent',
        fn: 'MAX',
        grouped: false,
        check: 'ses-account',
        order: 'DESC',
        limit: topN,
      },
      periodSeconds: SLOW_WIDGET_PERIOD_SECONDS,
      width: 24,
    });
  }
  return widgets;
}
