/**
 * What viewing the dashboard costs, for a stated viewing pattern (`mailprobe cost
 * --dashboard-hours H --dashboard-refresh M`). Each refresh runs every widget's query:
 *
 *  - GetMetricData is priced per 1,000 metrics requested; a Metrics Insights query counts
 *    the metrics it analyzes, i.e. every series its SCHEMA and WHERE match, not the top N
 *    it returns. The widgets and their queries are dashboard-layout.ts's, the very list the
 *    dashboard construct draws; the series are counted from the plan (which targets publish
 *    which metric under their shard's metrics settings).
 *  - The "failed checks" Logs Insights widget scans the result logs of the dashboard's range.
 *
 * AWS documents Metrics Insights queries run in the CloudWatch console as free of charge:
 * these figures are what the same viewing costs through the API (Grafana, scripts, a
 * dashboard embedded elsewhere); for a console-only team they are an upper bound.
 */
import { effectiveTlsMode } from '../../lambdas/engine/checks.js';
import type { TargetMetricName } from '../../lambdas/engine/metrics/definitions.js';
import type { CheckKind } from '../../lambdas/engine/result.js';
import { periodSecondsOf, type Plan } from '../config/plan.js';
import { countMetrics, DASHBOARD_RANGE_HOURS, insightsWidgets } from '../dashboard-layout.js';
import { INVOCATION_LOG_BYTES, publishedMetrics, RESULT_LINE_BYTES } from './model.js';
import { HOURS_PER_MONTH, PRICES } from './prices.js';

export interface ViewingPattern {
  /** Hours a day the dashboard is open. */
  readonly hoursPerDay: number;
  /** Minutes between refreshes while it is open (the dashboard's auto-refresh). */
  readonly refreshMinutes: number;
}

/** A dashboard on a wall or a second screen through the working day, refreshing itself. */
export const DEFAULT_VIEWING: ViewingPattern = { hoursPerDay: 8, refreshMinutes: 5 };

export interface WidgetMetrics {
  readonly title: string;
  /** Metrics one refresh of this widget requests (analyzes). */
  readonly metrics: number;
}

export interface DashboardViewingCost {
  readonly pattern: ViewingPattern;
  readonly refreshesPerMonth: number;
  readonly widgets: readonly WidgetMetrics[];
  readonly metricsPerRefresh: number;
  readonly getMetricDataUsd: number;
  /** Bytes the Logs Insights widget scans per refresh (the result logs of the dashboard's range). */
  readonly logBytesPerRefresh: number;
  readonly logsInsightsUsd: number;
  readonly usd: number;
  readonly assumptions: readonly string[];
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
const GB = 1e9;

export function estimateDashboardViewing(plan: Plan, pattern: ViewingPattern = DEFAULT_VIEWING): DashboardViewingCost {
  if (!(pattern.hoursPerDay >= 0 && pattern.hoursPerDay <= 24)) {
    throw new RangeError(`hours a day must be 0–24, got ${pattern.hoursPerDay}`);
  }
  if (!(pattern.refreshMinutes >= 1)) throw new RangeError(`refresh must be ≥ 1 minute, got ${pattern.refreshMinutes}`);
  const daysPerMonth = HOURS_PER_MONTH / 24;
  const refreshesPerMonth = daysPerMonth * ((pattern.hoursPerDay * 60) / pattern.refreshMinutes);

  // Series per (check, metric): one per target spec that publishes it (Check + Target dimensions).
  const series = new Map<string, number>();
  let logBytesPerDay = 0;
  for (const shard of plan.shards) {
    const runsPerDay = 86_400 / periodSecondsOf(shard.schedule);
    logBytesPerDay += runsPerDay * INVOCATION_LOG_BYTES;
    for (const spec of shard.specs) {
      const usesTls = spec.check === 'smtp' ? effectiveTlsMode(spec.tls, spec.port) !== 'none' : true;
      for (const metric of publishedMetrics(spec.check, shard.metrics, usesTls)) {
        const key = `${spec.check} ${metric}`;
        series.set(key, (series.get(key) ?? 0) + 1);
      }
      logBytesPerDay += runsPerDay * RESULT_LINE_BYTES[spec.check];
    }
  }
  const seriesOf = (metric: TargetMetricName, check: CheckKind | undefined) =>
    [...series.entries()]
      .filter(([key]) => {
        const [c, m] = key.split(' ');
        return m === metric && (check === undefined || c === check);
      })
      .reduce((n, [, count]) => n + count, 0);

  const widgets: WidgetMetrics[] = [
    {
      title: 'Results per check kind and status',
      // kindCountQuery: SCHEMA(ns, Check, Interval), one series per reporting group and count metric.
      metrics: plan.reporting.length * countMetrics(plan.metricsMode).length,
    },
    ...insightsWidgets({ targets: plan.targets, alarmMode: plan.alarmMode, metricsMode: plan.metricsMode }).map(
      (w) => ({ title: w.title, metrics: seriesOf(w.query.metric as TargetMetricName, w.query.check) }),
    ),
  ];
  const metricsPerRefresh = widgets.reduce((n, w) => n + w.metrics, 0);
  const getMetricDataUsd = ((refreshesPerMonth * metricsPerRefresh) / 1000) * PRICES.getMetricDataPer1000Metrics;
  const logBytesPerRefresh = logBytesPerDay * (DASHBOARD_RANGE_HOURS / 24);
  const logsInsightsUsd = ((refreshesPerMonth * logBytesPerRefresh) / GB) * PRICES.logsInsightsPerGbScanned;
  return {
    pattern,
    refreshesPerMonth: Math.round(refreshesPerMonth),
    widgets,
    metricsPerRefresh,
    getMetricDataUsd: round(getMetricDataUsd),
    logBytesPerRefresh: Math.round(logBytesPerRefresh),
    logsInsightsUsd: round(logsInsightsUsd),
    usd: round(getMetricDataUsd + logsInsightsUsd),
    assumptions: [
      `the dashboard is open ${pattern.hoursPerDay} h a day and refreshes every ${pattern.refreshMinutes} min (${Math.round(refreshesPerMonth)} refreshes a month); --dashboard-hours and --dashboard-refresh change this`,
      "each refresh runs every widget's query; a Metrics Insights query is billed for every series it analyzes, not the top N it shows",
      `the Logs Insights widget scans the result logs of the dashboard's ${DASHBOARD_RANGE_HOURS} h range at $${PRICES.logsInsightsPerGbScanned} per GB`,
      'alarm status widgets (DescribeAlarms, a request per 100 alarms) cost under a cent and are not counted',
      'AWS does not charge Metrics Insights queries run in the CloudWatch console: for a console-only team this is an upper bound; it is what Grafana, scripts or an embedded dashboard pay',
    ],
  };
}
