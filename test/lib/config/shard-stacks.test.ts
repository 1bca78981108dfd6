/**
 * Which stack holds each shard's schedules (issue #20 item 3): none apart while the plan fits
 * one stack; past it, a power of two of shard stacks, each well under 500 schedules, a shard's
 * stack fixed by its ID alone; and the plan's limit check on what stays in the root.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShardEvent } from '../../../lambdas/engine/shard/event.js';
import { PlanError, planConfig, type Plan } from '../../../lib/config/plan.js';
import { SCHEDULES_PER_SHARD_STACK, schedulesOf, shardStackLayout } from '../../../lib/config/shard-stacks.js';
import { fleetConfig } from '../../../lib/cost/sample-configs.js';

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

describe('the plan at 100,000 endpoints', () => {
  it('default metrics: refused for the account-wide Insights quota and the root, each with its fix', () => {
    let err: unknown;
    try {
      planConfig(fleetConfig(100_000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    const problems = (err as PlanError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^the plan needs 693 Metrics Insights alarms, more than the account's quota of 200 per region; .*set metrics: aggregate \(a quota of the account: splitting the stack does not lift it\)$/,
    );
    expect(problems[1]).toMatch(
      /^the stack's shared resources \(functions, \d+ alarms, topic, table\) come to about \d+, more than the 500 .*\(the schedules already go to \d+ shard stacks\); set metrics: aggregate/,
    );
  }, 120_000);

  it('metrics: aggregate: planned, its schedules in shard stacks and the root far under 500', () => {
    expect(big.estimate.resources).toBeGreaterThan(500);
    const schedules = big.shards.reduce((n, s) => n + schedulesOf(s), 0);
    expect(big.estimate.resources - schedules).toBeLessThan(100);
  });
});
