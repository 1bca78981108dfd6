/**
 * CloudWatch `Metric` objects and Metrics Insights queries for alarms and widgets, built
 * from the one definition the publisher uses (lambdas/engine/metrics/definitions.ts), so
 * names, units and dimensions cannot drift apart.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  DIMENSION_CHECK,
  DIMENSION_GROUP,
  DIMENSION_INTERVAL,
  DIMENSION_TARGET,
  METRICS,
  type KindMetricName,
  type MetricName,
} from '../lambdas/engine/metrics/definitions.js';
import type { CheckKind } from '../lambdas/engine/result.js';

export interface ProbeMetricOptions {
  readonly namespace: string;
  readonly check: CheckKind;
  /** The dimension `Target`: the target's name. */
  readonly target: string;
  readonly period: Duration;
  /** @default 'Minimum' (the worst value in the period: one failed run must count) */
  readonly statistic?: string;
  readonly label?: string;
}

export function probeMetric(metric: MetricName, options: ProbeMetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: options.namespace,
    metricName: METRICS[metric].name,
    dimensionsMap: { [DIMENSION_CHECK]: options.check, [DIMENSION_TARGET]: options.target },
    period: options.period,
    statistic: options.statistic ?? cloudwatch.Stats.MINIMUM,
    ...(options.label !== undefined ? { label: options.label } : {}),
  });
}

/** A per-kind count (dimensions Check, Interval), summed over the period. */
export function kindMetric(
  metric: KindMetricName,
  options: { namespace: string; check: CheckKind; interval: string; period: Duration; label?: string },
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: options.namespace,
    metricName: METRICS[metric].name,
    dimensionsMap: { [DIMENSION_CHECK]: options.check, [DIMENSION_INTERVAL]: options.interval },
    period: options.period,
    statistic: cloudwatch.Stats.SUM,
    ...(options.label !== undefined ? { label: options.label } : {}),
  });
}

/** A string literal of the Metrics Insights language: single quotes, `'` escaped as `\'`. */
const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** Identifiers (namespace) in double quotes. */
const ident = (s: string) => `"${s.replace(/"/g, '\\"')}"`;

export interface InsightsQueryOptions {
  readonly namespace: string;
  readonly metric: MetricName;
  readonly fn: 'MIN' | 'MAX' | 'SUM' | 'AVG' | 'COUNT';
  /** Per-target metrics carry AlarmGroup in fleet mode: SCHEMA must list the exact dimension set. */
  readonly grouped: boolean;
  readonly check?: CheckKind;
  readonly group?: string;
  /** @default ['Target'] */
  readonly groupBy?: readonly string[];
  readonly order?: 'ASC' | 'DESC';
  readonly limit?: number;
}

/**
 * `SELECT MIN(Success) FROM SCHEMA("MailProbe", Check, AlarmGroup, Target) WHERE Check = 'smtp'
 * AND AlarmGroup = 'smtp-5m-g1' GROUP BY Target`: one series per target, each a contributor of
 * the alarm (its notifications name the Target).
 */
export function insightsQuery(o: InsightsQueryOptions): string {
  const dims = o.grouped ? [DIMENSION_CHECK, DIMENSION_GROUP, DIMENSION_TARGET] : [DIMENSION_CHECK, DIMENSION_TARGET];
  const where = [
    ...(o.check !== undefined ? [`${DIMENSION_CHECK} = ${literal(o.check)}`] : []),
    ...(o.group !== undefined ? [`${DIMENSION_GROUP} = ${literal(o.group)}`] : []),
  ];
  return [
    `SELECT ${o.fn}(${METRICS[o.metric].name}) FROM SCHEMA(${ident(o.namespace)}, ${dims.join(', ')})`,
    ...(where.length > 0 ? [`WHERE ${where.join(' AND ')}`] : []),
    `GROUP BY ${(o.groupBy ?? [DIMENSION_TARGET]).join(', ')}`,
    ...(o.order ? [`ORDER BY ${o.fn}() ${o.order}`] : []),
    ...(o.limit !== undefined ? [`LIMIT ${o.limit}`] : []),
  ].join(' ');
}

/** A per-kind count across intervals, one series per check kind. */
export function kindCountQuery(namespace: string, metric: KindMetricName): string {
  return `SELECT SUM(${METRICS[metric].name}) FROM SCHEMA(${ident(namespace)}, ${DIMENSION_CHECK}, ${DIMENSION_INTERVAL}) GROUP BY ${DIMENSION_CHECK}`;
}

/**
 * A Metrics Insights query as a CDK expression. The label defaults to `${LABEL}` (CloudWatch's
 * dynamic label: each series' own name, e.g. the Target), not the query text CDK would put there.
 */
export function insightsExpression(
  expression: string,
  period: Duration,
  label = '${LABEL}',
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression, usingMetrics: {}, period, label });
}
