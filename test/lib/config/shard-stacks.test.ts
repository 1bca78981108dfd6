/**
 * Which stack holds each shard's schedules (issue #20 item 3): none apart while the plan fits
 * one stack; past it, a power of two of shard stacks, each well under 500 schedules, a shard's
 * stack fixed by its ID alone; the fleet groups' alarms likewise in alarm stacks once the fleet
 * is split; and the plan's limit check on what stays in the root.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShardEvent } from '../../../lambdas/engine/shard/event.js';
import { PlanError, planConfig, type Plan } from '../../../lib/config/plan.js';
import {
  alarmStackLayout,
  FLEET_ALARMS_PER_ALARM_STACK,
  SCHEDULES_PER_SHARD_STACK,
  schedulesOf,
  shardStackLayout,
  type FleetAlarmGroup,
} from '../../../lib/config/shard-stacks.js';
import { planLimitProblems } from '../../../lib/config/validate.js';
import { fleetConfig } from '../../../lib/cost/sample-configs.js';
import { fleetAlarmGroups } from '../../../lib/monitoring/alarm-layout.js';

let big: Plan;
beforeAll(() => {
  big = planConfig(fleetConfig(100_000, { metrics: 'aggregate' }));
}, 120_000);

/** The same shards under other IDs' company: only the IDs matter to the layout. */
const renamed = (shards: readonly ShardEvent[], prefix: string) =>
  shards.map((s) => ({ ...s, shard: `${prefix}${s.shard}` }));

describe('shardStackLayout', () => {
  it('keeps everything in one stack while the plan fits 500 resources', () => {
    expect(shardStackLayout(big.shards, 500).stacks).toBe(0);
    expect(shardStackLayout(big.shards, 501).stacks).toBeGreaterThan(0);
  });

  it('counts a heartbeat schedule with its shard', () => {
    const fleet = planConfig(fleetConfig(1000));
    const slow = fleet.shards.find((s) => s.metrics?.heartbeat !== undefined)!;
    const fast = fleet.shards.find((s) => s.metrics?.heartbeat === undefined)!;
    expect([schedulesOf(slow), schedulesOf(fast)]).toEqual([2, 1]);
  });

  it('spreads 100,000 endpoints over a power of two of stacks, each well under 500 schedules', () => {
    const layout = shardStackLayout(big.shards, big.estimate.resources);
    const total = big.shards.reduce((n, s) => n + schedulesOf(s), 0);
    expect(total).toBeGreaterThan(1000);
    expect(Math.log2(layout.stacks) % 1).toBe(0);
    expect(layout.stacks * SCHEDULES_PER_SHARD_STACK).toBeGreaterThanOrEqual(total);
    expect(layout.stacks / 2).toBeLessThan(total / SCHEDULES_PER_SHARD_STACK);
    expect(layout.schedules.reduce((a, b) => a + b, 0)).toBe(total);
    for (const n of layout.schedules) {
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(500);
    }
  });

  it('places a shard by its ID alone: other shards, added or removed, do not move it', () => {
    const layout = shardStackLayout(big.shards, big.estimate.resources);
    // Fewer shards (still the same stack count) and more shards: the same stack for every ID kept.
    const fewer = shardStackLayout(big.shards.slice(0, -20), big.estimate.resources);
    const more = shardStackLayout([...big.shards, ...renamed(big.shards.slice(0, 20), 'new-')], big.estimate.resources);
    expect([fewer.stacks, more.stacks]).toEqual([layout.stacks, layout.stacks]);
    for (const s of big.shards) {
      expect(more.stackOf(s.shard)).toBe(layout.stackOf(s.shard));
      expect(fewer.stackOf(s.shard)).toBe(layout.stackOf(s.shard));
    }
  });

  it('when the count doubles, each schedule stays or moves to the one stack its bucket splits into', () => {
    const layout = shardStackLayout(big.shards, big.estimate.resources);
    const doubled = shardStackLayout(
      [...big.shards, ...renamed(big.shards, 'a-'), ...renamed(big.shards, 'b-')],
      big.estimate.resources,
    );
    expect(doubled.stacks).toBeGreaterThanOrEqual(layout.stacks * 2);
    let moved = 0;
    for (const s of big.shards) {
      expect(doubled.stackOf(s.shard) % layout.stacks).toBe(layout.stackOf(s.shard));
      if (doubled.stackOf(s.shard) !== layout.stackOf(s.shard)) moved++;
    }
    // About half (or three quarters after two doublings) move; never all.
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(big.shards.length);
  });
});

describe('alarmStackLayout', () => {
  /** `n` fleet groups as the plan names them, a Success and a certificate alarm each. */
  const groupsOf = (n: number, prefix = 'smtp-5m-g'): FleetAlarmGroup[] =>
    Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i + 1}`, critical: 1, warning: 1 }));

  it('keeps the fleet alarms in the root unless the fleet is split, or when there are none', () => {
    expect(alarmStackLayout(groupsOf(400), false).stacks).toBe(0);
    expect(alarmStackLayout([], true).stacks).toBe(0);
    expect(alarmStackLayout(groupsOf(3), true).stacks).toBe(1);
  });

  it('spreads 350 groups over a power of two of stacks, each with its composites well under 500 resources', () => {
    const layout = alarmStackLayout(groupsOf(350), true);
    expect(Math.log2(layout.stacks) % 1).toBe(0);
    expect(layout.stacks * FLEET_ALARMS_PER_ALARM_STACK).toBeGreaterThanOrEqual(700);
    expect((layout.stacks / 2) * FLEET_ALARMS_PER_ALARM_STACK).toBeLessThan(700);
    expect(layout.alarms.reduce((a, b) => a + b, 0)).toBe(700);
    layout.alarms.forEach((n, i) => {
      expect(n).toBeGreaterThan(0);
      // One composite over up to 100 critical alarms, else parts of 100 and the one over them.
      const critical = n / 2;
      expect(layout.resources[i]).toBe(n + (critical <= 100 ? 1 : Math.ceil(critical / 100) + 1));
      expect(layout.resources[i]).toBeLessThan(500);
    });
  });

  it("places a group by its ID alone: another kind's groups, added, move none", () => {
    const base = groupsOf(300);
    const layout = alarmStackLayout(base, true);
    const more = alarmStackLayout([...base, ...groupsOf(40, 'tls-6h-g')], true);
    expect(more.stacks).toBe(layout.stacks);
    for (const g of base) expect(more.stackOf(g.id)).toBe(layout.stackOf(g.id));
    // On doubling, a group stays or moves to the one stack its bucket splits into.
    const doubled = alarmStackLayout([...base, ...groupsOf(300, 'mta-sts-1h-g')], true);
    expect(doubled.stacks).toBe(layout.stacks * 2);
    for (const g of base) expect(doubled.stackOf(g.id) % layout.stacks).toBe(layout.stackOf(g.id));
  });

  it("counts the plan's fleet alarms: none with aggregate metrics or per-target alarms", () => {
    const plan = planConfig(fleetConfig(10_000));
    const groups = fleetAlarmGroups(plan.alarmGroups, plan.alarmMode, plan.metricsMode);
    expect(plan.alarmMode).toBe('fleet');
    expect(groups.reduce((n, g) => n + g.critical + g.warning, 0)).toBe(plan.estimate.insightsAlarms);
    expect(fleetAlarmGroups(plan.alarmGroups, plan.alarmMode, 'aggregate')).toEqual([]);
    expect(fleetAlarmGroups(plan.alarmGroups, 'per-target', plan.metricsMode)).toEqual([]);
  }, 120_000);
});

describe('the plan at 100,000 endpoints', () => {
  it('default metrics: refused for the account-wide Insights quota alone, with its fix; the root is no longer the limit', () => {
    let err: unknown;
    try {
      planConfig(fleetConfig(100_000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    const problems = (err as PlanError).problems;
    expect(problems).toEqual([
      expect.stringMatching(
        /^the plan needs 693 Metrics Insights alarms, more than the account's quota of 200 per region; .*set metrics: aggregate \(a quota of the account: splitting the stack does not lift it\)$/,
      ),
    ]);
  }, 120_000);

  it('default metrics with alarms.insightsQuota 1000: planned, the fleet alarms counted in alarm stacks, not the root', () => {
    const plan = planConfig(fleetConfig(100_000, { alarms: { insightsQuota: 1000 } }));
    expect(plan.estimate.insightsAlarms).toBe(693);
    const groups = fleetAlarmGroups(plan.alarmGroups, plan.alarmMode, plan.metricsMode);
    const limits = { shards: plan.shards, estimate: plan.estimate, insightsQuota: 1000, perTargetRequested: false };
    expect(planLimitProblems({ ...limits, fleetAlarmGroups: groups })).toEqual([]);
    // Counted where they were before (the root), the same plan would not fit.
    expect(planLimitProblems(limits)).toEqual([
      expect.stringMatching(
        /^the stack's shared resources \(functions, 696 alarms, topic, table\) come to about \d+, more than the 500/,
      ),
    ]);
  }, 120_000);

  it('refuses an alarm stack of 500 resources or more, naming it', () => {
    // Unreachable with groups of two alarms (the stacks double first); a group of many alarms is not.
    const limits = { shards: big.shards, estimate: big.estimate, insightsQuota: 1000, perTargetRequested: false };
    const problems = planLimitProblems({
      ...limits,
      fleetAlarmGroups: [{ id: 'smtp-5m-g1', critical: 300, warning: 300 }],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^alarm stack \d would hold 604 fleet alarms and composites, more than the 500 /),
    ]);
  });

  it('metrics: aggregate: planned, its schedules in shard stacks and the root far under 500', () => {
    expect(big.estimate.resources).toBeGreaterThan(500);
    const schedules = big.shards.reduce((n, s) => n + schedulesOf(s), 0);
    expect(big.estimate.resources - schedules).toBeLessThan(100);
  });
});
