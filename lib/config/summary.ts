/**
 * What a plan deploys, in numbers a person can check (`mailprobe plan`, the bench): per
 * check kind the shards, checks, invocations per hour and how long one run takes.
 */
import { DEFAULT_TIMEOUT_MS } from '../../lambdas/engine/context.js';
import type { CheckKind } from '../../lambdas/engine/result.js';
import { CHECK_SECONDS } from '../cost/model.js';
import { CHECK_KINDS, periodSecondsOf, type Plan } from './plan.js';

export interface KindSummary {
  readonly check: CheckKind;
  readonly shards: number;
  readonly checks: number;
  readonly invocationsPerHour: number;
  /** Heartbeat invocations on top (fleet alarms of slow schedules: no probing, statuses republished). */
  readonly heartbeatsPerHour: number;
  readonly concurrency: number;
  readonly memoryMb: number;
  /** The longest shard's run at the typical check duration (waves × CHECK_SECONDS). */
  readonly expectedRunSeconds: number;
  /** The longest shard's run if every check used its whole deadline. */
  readonly worstRunSeconds: number;
}

export interface PlanSummary {
  readonly kinds: readonly KindSummary[];
  readonly alarmMode: Plan['alarmMode'];
  readonly metricsMode: Plan['metricsMode'];
  readonly alarms: { readonly perTarget: number; readonly insights: number; readonly other: number };
  readonly estimatedResources: number;
  readonly functionTimeoutSeconds: number;
}

export function summarizePlan(plan: Plan): PlanSummary {
  const kinds: KindSummary[] = [];
  for (const check of CHECK_KINDS) {
    const shards = plan.shards.filter((s) => s.check === check);
    if (shards.length === 0) continue;
    const waves = (n: number, c: number) => Math.ceil(n / c);
    kinds.push({
      check,
      shards: shards.length,
      checks: shards.reduce((n, s) => n + s.specs.length, 0),
      invocationsPerHour: Math.round(shards.reduce((n, s) => n + 3600 / periodSecondsOf(s.schedule), 0) * 100) / 100,
      heartbeatsPerHour:
        Math.round(
          shards.reduce((n, s) => n + (s.metrics?.heartbeat ? 3600 / s.metrics.heartbeat.periodSeconds : 0), 0) * 100,
        ) / 100,
      concurrency: plan.capacity[check].concurrency,
      memoryMb: plan.capacity[check].memoryMb,
      expectedRunSeconds: Math.max(...shards.map((s) => waves(s.specs.length, s.concurrency) * CHECK_SECONDS[check])),
      worstRunSeconds: Math.max(
        ...shards.map(
          (s) =>
            (waves(s.specs.length, s.concurrency) *
              Math.max(...s.specs.map((p) => p.timeoutMs ?? DEFAULT_TIMEOUT_MS))) /
            1000,
        ),
      ),
    });
  }
  return {
    kinds,
    alarmMode: plan.alarmMode,
    metricsMode: plan.metricsMode,
    alarms: {
      perTarget: plan.estimate.perTargetAlarms,
      insights: plan.estimate.insightsAlarms,
      other: plan.estimate.otherAlarms + kinds.length * 3,
    },
    estimatedResources: plan.estimate.resources,
    functionTimeoutSeconds: plan.functionTimeoutSeconds,
  };
}
