/**
 * The fleet alarm route (issue #20): the margin below Metrics Insights' 3-hour window, and what
 * the plan hands the heartbeat.
 */
import { describe, expect, it } from 'vitest';
import {
  FLEET_DIRECT_MAX_SPAN_SECONDS,
  HEARTBEAT_PERIOD_SECONDS,
  INSIGHTS_EVALUATION_WINDOW_SECONDS,
  SUCCESS_EVALUATION_PERIODS,
} from '../../../lib/config/defaults.js';
import { validateConfig } from '../../../lib/config/load.js';
import {
  certInsightsCapable,
  fleetAlarmPeriodSeconds,
  fleetRouteOf,
  heartbeatOf,
} from '../../../lib/config/fleet-route.js';
import { planConfig } from '../../../lib/config/plan.js';

describe('fleet alarm route', () => {
  it('keeps its margin below Metrics Insights window, and the heartbeat alarm inside it', () => {
    expect(FLEET_DIRECT_MAX_SPAN_SECONDS).toBeLessThan(INSIGHTS_EVALUATION_WINDOW_SECONDS);
    expect(HEARTBEAT_PERIOD_SECONDS * SUCCESS_EVALUATION_PERIODS).toBeLessThanOrEqual(FLEET_DIRECT_MAX_SPAN_SECONDS);
  });

  it.each([
    [60, 'direct'],
    [300, 'direct'],
    // 3 × 50 min = 2.5 h: the last schedule that fits with the margin.
    [50 * 60, 'direct'],
    [51 * 60, 'heartbeat'],
    // 3 × 1 h = 3 h sat exactly on the window (issue #20): now the heartbeat.
    [3600, 'heartbeat'],
    [6 * 3600, 'heartbeat'],
    [86_400, 'heartbeat'],
  ] as const)('a %i s schedule goes %s', (period, route) => {
    expect(fleetRouteOf(period)).toBe(route);
    expect(fleetAlarmPeriodSeconds(period)).toBe(route === 'direct' ? period : 900);
    expect(heartbeatOf(period)).toEqual(
      route === 'direct' ? undefined : { schedule: 'rate(15 minutes)', periodSeconds: 900, maxAgeSeconds: 2 * period },
    );
  });

  it('keeps a one-period certificate alarm up to 2.5 hours (the hourly mta-sts domain keeps its own)', () => {
    expect(certInsightsCapable(3600)).toBe(true);
    expect(certInsightsCapable(2.5 * 3600)).toBe(true);
    expect(certInsightsCapable(3 * 3600)).toBe(false);
    const plan = planConfig(validateConfig({ alarms: { mode: 'fleet' }, domains: ['example.com'] }));
    expect(plan.alarmGroups).toEqual([
      expect.objectContaining({ check: 'mta-sts', route: 'heartbeat', alarmSuccess: true, alarmCertExpiry: true }),
    ]);
    expect(plan.shards[0]!.metrics?.heartbeat?.periodSeconds).toBe(900);
  });

  it('gives no heartbeat with per-target alarms or aggregate metrics, and counts heartbeat schedules as resources', () => {
    const targets = [{ name: 'relay', host: 'smtp.example.com', port: 587 }];
    for (const extra of [
      { alarms: { mode: 'per-target' as const } },
      { alarms: { mode: 'fleet' as const }, metrics: 'aggregate' as const },
    ]) {
      const plan = planConfig(validateConfig({ ...extra, targets }));
      expect(plan.shards.every((s) => s.metrics?.heartbeat === undefined)).toBe(true);
    }
    const fleet = planConfig(validateConfig({ alarms: { mode: 'fleet' }, targets }));
    const direct = planConfig(
      validateConfig({
        alarms: { mode: 'fleet' },
        targets: [{ ...targets[0]!, schedule: { tls: 'rate(30 minutes)' } }],
      }),
    );
    // The same shards; the 6-hourly tls shard adds its heartbeat schedule, the 30-minute one does not.
    expect(fleet.shards.length).toBe(direct.shards.length);
    expect(fleet.estimate.resources).toBe(direct.estimate.resources + 1);
  });
});
