/**
 * The heartbeat route's cost (lib/config/fleet-route.ts): one invocation per slow shard every
 * 15 minutes, one state read per target, a datum only for the critical share. Recomputed by
 * hand from the prices, so a change in the model or the plan shows here.
 */
import { describe, expect, it } from 'vitest';
import { planConfig } from '../../../lib/config/plan.js';
import {
  estimateCost,
  HEARTBEAT_CRITICAL_SHARE,
  HEARTBEAT_FIXED_ITEM,
  HEARTBEAT_TARGET_ITEM,
  INVOCATION_LOG_BYTES,
  INVOCATION_OVERHEAD_SECONDS,
} from '../../../lib/cost/model.js';
import { HOURS_PER_MONTH, PRICES } from '../../../lib/cost/prices.js';
import { smtpEndpointConfig } from '../../../lib/cost/sample-configs.js';

const item = (items: readonly { item: string; usd: number }[], name: string) => items.find((i) => i.item === name)?.usd;

describe('the heartbeat in mailprobe cost', () => {
  it('prices the heartbeat of a 6-hourly tls check in fleet mode, per target and per shard', () => {
    const plan = planConfig(smtpEndpointConfig({ alarms: { mode: 'fleet' } }));
    const cost = estimateCost(plan);
    const beats = (HOURS_PER_MONTH * 3600) / 900;
    const target =
      (beats / 1e6) * PRICES.dynamoReadPerMillion +
      HEARTBEAT_CRITICAL_SHARE * ((beats / 1e6) * PRICES.apiRequestsPer1000 + PRICES.customMetricMonth * (1 - 1 / 6));
    expect(item(cost.items, HEARTBEAT_TARGET_ITEM)).toBeCloseTo(target, 6);
    const gb = plan.capacity.tls.memoryMb / 1024;
    const fixed =
      (beats / 1e6) * (PRICES.schedulerPerMillion + PRICES.lambdaRequestsPerMillion) +
      beats * INVOCATION_OVERHEAD_SECONDS * gb * PRICES.lambdaArmGbSecond +
      (beats / 1000) * PRICES.apiRequestsPer1000 +
      ((beats * INVOCATION_LOG_BYTES) / 1e9) * (PRICES.logIngestionPerGb + PRICES.logStoragePerGbMonth);
    expect(item(cost.fixedItems, HEARTBEAT_FIXED_ITEM)).toBeCloseTo(fixed, 6);
    // About 5.6 cents a month per slow shard, a tenth of a cent per target.
    expect(fixed).toBeGreaterThan(0.04);
    expect(fixed).toBeLessThan(0.08);
    expect(cost.assumptions.some((a) => a.includes('heartbeat every 15 minutes'))).toBe(true);
  });

  it('costs nothing where no group takes the heartbeat route (per-target alarms, aggregate metrics)', () => {
    for (const extra of [
      { alarms: { mode: 'per-target' as const } },
      { metrics: 'aggregate' as const, alarms: { mode: 'fleet' as const } },
    ]) {
      const cost = estimateCost(planConfig(smtpEndpointConfig(extra)));
      expect(item(cost.items, HEARTBEAT_TARGET_ITEM)).toBeUndefined();
      expect(item(cost.fixedItems, HEARTBEAT_FIXED_ITEM)).toBeUndefined();
    }
  });
});
