/**
 * The shard event a deployed flow's schedule passes (lib/config/flow-plan.ts makes one per
 * flow): for the flow handler tests, which invoke the function with it as EventBridge would.
 */
import type { FlowCheckSpec } from '../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS } from '../lambdas/engine/context.js';
import type { ShardEvent } from '../lambdas/engine/shard/event.js';

export function flowShardEvent(shard: string, spec: FlowCheckSpec): ShardEvent {
  return {
    version: 1,
    shard,
    check: 'flow',
    schedule: 'rate(15 minutes)',
    specs: [spec],
    thresholds: DEFAULT_THRESHOLDS,
    allowPrivate: true,
    concurrency: 1,
    metrics: { mode: 'default', interval: '15m' },
  };
}
