/**
 * CloudWatch `Metric` objects for alarms and widgets, built from the one definition
 * the publisher uses (lambdas/engine/metrics/definitions.ts), so names, units and
 * dimensions cannot drift apart.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DIMENSION_CHECK, DIMENSION_TARGET, METRICS, type MetricName } from '../lambdas/engine/metrics/definitions.js';
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
