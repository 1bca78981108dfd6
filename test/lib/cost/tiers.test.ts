import { describe, expect, it } from 'vitest';
import { CUSTOM_METRIC_TIERS, LAMBDA_ARM_GB_SECOND_TIERS, tieredCost, tierFactor } from '../../../lib/cost/tiers.js';

describe('volume tiers', () => {
  it('prices custom metrics as AWS does: $0.30 to 10,000, $0.10 to 250,000, $0.05 to 1 M, $0.02 beyond', () => {
    expect(tieredCost(5_000, CUSTOM_METRIC_TIERS)).toBeCloseTo(1_500, 6);
    expect(tieredCost(10_000, CUSTOM_METRIC_TIERS)).toBeCloseTo(3_000, 6);
    // The figure: 23,333 metrics at 10,000 endpoints cost about $4,333, not $7,000.
    expect(tieredCost(23_333, CUSTOM_METRIC_TIERS)).toBeCloseTo(3_000 + 13_333 * 0.1, 6);
    expect(tieredCost(250_000, CUSTOM_METRIC_TIERS)).toBeCloseTo(3_000 + 24_000, 6);
    expect(tieredCost(1_000_000, CUSTOM_METRIC_TIERS)).toBeCloseTo(27_000 + 37_500, 6);
    expect(tieredCost(2_000_000, CUSTOM_METRIC_TIERS)).toBeCloseTo(64_500 + 20_000, 6);
  });

  it('prices Lambda arm64 GB-seconds in its three tiers', () => {
    expect(tieredCost(1e9, LAMBDA_ARM_GB_SECOND_TIERS)).toBeCloseTo(1e9 * 0.0000133334, 3);
    expect(tieredCost(10e9, LAMBDA_ARM_GB_SECOND_TIERS)).toBeCloseTo(7.5e9 * 0.0000133334 + 2.5e9 * 0.0000120001, 3);
  });

  it('leaves a deployment inside the first tier at the list price, and lowers the average beyond it', () => {
    expect(tierFactor(0, CUSTOM_METRIC_TIERS)).toBe(1);
    expect(tierFactor(9_999, CUSTOM_METRIC_TIERS)).toBe(1);
    expect(tierFactor(20_000, CUSTOM_METRIC_TIERS)).toBeCloseTo((3_000 + 1_000) / 6_000, 9);
    expect(tierFactor(5e6, CUSTOM_METRIC_TIERS)).toBeLessThan(0.1);
  });
});

describe('the cost model at fleet scale', () => {
  it('prices 10,000 endpoints with the tiers: the metrics line falls by the tier factor, and the sums still add up', async () => {
    const { estimateCost } = await import('../../../lib/cost/model.js');
    const { planConfig } = await import('../../../lib/config/plan.js');
    const { fleetConfig } = await import('../../../lib/cost/sample-configs.js');
    const small = estimateCost(planConfig(fleetConfig(100, { metrics: 'detailed' })));
    const large = estimateCost(planConfig(fleetConfig(10_000, { metrics: 'detailed' })));
    const metricsUsd = (e: typeof large) => e.items.find((i) => i.item === 'custom metrics')?.usd ?? 0;
    // 100 endpoints stay in the first tier: $0.30 a metric, as before.
    const perEndpoint = (e: typeof large, n: number) => metricsUsd(e) / n;
    expect(perEndpoint(large, 10_000)).toBeLessThan(perEndpoint(small, 100) * 0.7);
    const addsUp = (e: typeof large) =>
      e.items.reduce((n, i) => n + i.usd, 0) + e.fixedItems.reduce((n, i) => n + i.usd, 0);
    expect(addsUp(large)).toBeCloseTo(large.totalUsd, 3);
    expect(large.targets.reduce((n, t) => n + t.usd, 0)).toBeCloseTo(
      large.items.reduce((n, i) => n + i.usd, 0),
      1,
    );
  });
});
