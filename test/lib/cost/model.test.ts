import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planConfig } from '../../../lib/config/plan.js';
import { estimateCost, HEARTBEAT_TARGET_ITEM, hoursWithDataRatio } from '../../../lib/cost/model.js';
import { PRICES } from '../../../lib/cost/prices.js';
import { domainConfig, smtpEndpointConfig } from '../../../lib/cost/sample-configs.js';
import { withCostTable } from '../../../lib/cost/table.js';

/**
 * Hand-computed figures (730-hour month, us-east-1): smtp every 5 min = 8,760 runs, tls every
 * 6 h = 121.67 runs, mta-sts hourly = 730 runs.
 *   Lambda smtp: 8,760 × (1 s / 16) × 0.5 GB × $0.0000133334 = $0.0036500
 *   Lambda tls:  121.67 × (2 s / 8) × 1 GB × $0.0000133334   = $0.0004056
 *   logs smtp: 8,760 × 3,000 B = 26.28 MB × $0.53/GB = $0.0139284; tls: 121.67 × 2,700 B = 328.5 kB → $0.0001741
 *   state table: 8,881.67 runs × (1 × $0.125 + 1 × $0.625) / 10^6 = $0.0066613
 *   → per endpoint, without metrics and alarms: $0.0248194
 */
const COMPUTE_LOGS_STATE = 0.00365 + 0.0004056 + 0.0139284 + 0.0001741 + 0.0066613;

describe('cost model', () => {
  it.each([
    // metrics, alarms, custom metrics, alarm metrics, PutMetricData share
    // per-target: smtp Success ($0.30) + tls Success, CertDaysToExpiry, DhKeyBits at 1/6 of the hours ($0.15);
    // 4 alarms ($0.40); 8,760 + 3 × 121.67 datums / 10^6 requests × $0.01.
    ['default', 'per-target', 0.45, 0.4, 0.0000913],
    // fleet: smtp Success + CertDaysToExpiry ($0.60), tls Success + DhKeyBits ($0.10); 3 Metrics Insights alarm
    // metrics: smtp Success and CertDaysToExpiry, and tls Success through the heartbeat (issue #20).
    ['default', 'fleet', 0.7, 0.3, 0.0001776],
    // detailed per-target: + Duration and FindingCount on both checks, + CertDaysToExpiry on smtp:
    // (8,760 × 4 + 121.67 × 5) datums / 10^6 requests × $0.01 = $0.0003565 (items are rounded to 6 decimals).
    ['detailed', 'per-target', 0.3 * 4 + 0.05 * 5, 0.4, 0.000356],
    ['aggregate', 'per-target', 0, 0, 0],
  ] as const)('prices one SMTP endpoint in %s metrics with %s alarms', (metrics, mode, metricsUsd, alarmsUsd, put) => {
    const c = estimateCost(planConfig(smtpEndpointConfig({ metrics, alarms: { mode } })));
    expect(c.targets).toHaveLength(1);
    const t = c.targets[0]!;
    expect(t.name).toBe('relay');
    expect(t.checks).toEqual(['smtp', 'tls']);
    const item = (name: string) => t.items.find((i) => i.item === name)?.usd ?? 0;
    expect(item('custom metrics')).toBeCloseTo(metricsUsd, 6);
    expect(item('alarms')).toBeCloseTo(alarmsUsd, 6);
    expect(item('PutMetricData requests')).toBeCloseTo(put, 6);
    // The heartbeat route (test/lib/cost/heartbeat.test.ts): fleet alarms only, where the tls group is too slow.
    const heartbeat = item(HEARTBEAT_TARGET_ITEM);
    expect(heartbeat > 0).toBe(mode === 'fleet');
    expect(t.usd).toBeCloseTo(metricsUsd + alarmsUsd + put + COMPUTE_LOGS_STATE + heartbeat, 5);
  });

  it('meets the targets: an SMTP endpoint ≤ $1.00 a month by default, ≤ $0.05 in aggregate mode', () => {
    expect(estimateCost(planConfig(smtpEndpointConfig())).targets[0]!.usd).toBeLessThanOrEqual(1);
    // Fleet alarms: the tls check's Success alarm (issue #20) adds one alarm metric ($0.10) and the
    // heartbeat's reads, so a fleet endpoint pays ≤ $1.05 for a page on every check.
    expect(
      estimateCost(planConfig(smtpEndpointConfig({ alarms: { mode: 'fleet' } }))).targets[0]!.usd,
    ).toBeLessThanOrEqual(1.05);
    expect(estimateCost(planConfig(smtpEndpointConfig({ metrics: 'aggregate' }))).targets[0]!.usd).toBeLessThanOrEqual(
      0.05,
    );
  });

  it('itemises the fixed costs of the stack by hand', () => {
    const c = estimateCost(planConfig(smtpEndpointConfig()));
    const fixed = Object.fromEntries(c.fixedItems.map((i) => [i.item, i.usd]));
    expect(fixed).toMatchObject({
      dashboard: 3,
      'KMS key of the alert topic': 1,
      // 2 functions × 3 alarms; 2 reporting alarms (smtp 5m, tls 6h).
      'function alarms (errors, throttles, duration)': 0.6,
      'reporting and per-kind alarms': 0.2,
      // TargetsReporting: smtp every hour ($0.30) + tls 1/6 of the hours ($0.05).
      'per-kind counts (custom metrics)': 0.35,
    });
    // 8,881.67 runs a month: one PutMetricData request and one Scheduler invocation each.
    expect(fixed['PutMetricData requests (one per run)']).toBeCloseTo(0.0888167, 6);
    expect(fixed['schedules (EventBridge Scheduler)']).toBeCloseTo(0.0088817, 6);
    expect(c.fixedUsd).toBeCloseTo(5.284193, 5);
    expect(c.totalUsd).toBeCloseTo(c.fixedUsd + c.targets[0]!.usd, 6);
  });

  it('prices an MTA-STS domain without a VPC: Success and CertDaysToExpiry with their alarms', () => {
    const t = estimateCost(planConfig(domainConfig())).targets[0]!;
    const runs = 730;
    const rest =
      ((runs * 2) / 8) * 0.5 * PRICES.lambdaArmGbSecond + ((runs * 12_000) / 1e9) * 0.53 + (runs / 1e6) * 0.75;
    expect(t.usd).toBeCloseTo(0.6 + 0.2 + (runs * 2 * 0.01) / 1e6 + rest, 6);
  });

  it('prorates custom metrics by the hours with data', () => {
    expect(hoursWithDataRatio(300)).toBe(1);
    expect(hoursWithDataRatio(3600)).toBe(1);
    expect(hoursWithDataRatio(21_600)).toBeCloseTo(1 / 6, 10);
  });

  it('the README cost table is generated from the model (run `npx tsx scripts/cost-doc.ts --write`)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(withCostTable(readme)).toBe(readme);
  }, 60_000);
});
