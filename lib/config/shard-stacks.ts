/**
 * Which stack holds each shard's schedules when one stack cannot (issue #20 item 3). Pure: the
 * plan's limit check (validate.ts), `mailprobe plan` and the CDK construct (lib/shard-stacks.ts)
 * make the same choice.
 *
 * Only the schedules move: they are what grows with the fleet (one or two per shard). The
 * functions, topic, state table, alarms and dashboard stay in the root stack, so the alarm
 * count and the functions' alarms do not change when the fleet is split.
 */
import { createHash } from 'node:crypto';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { CFN_MAX_RESOURCES_PER_STACK } from './defaults.js';

/**
 * Schedules per shard stack on average. Well under the 500 resources a stack holds, because a
 * hash does not fill its buckets evenly, and so that a fleet can grow by half before the
 * number of shard stacks doubles. At roughly 700 bytes of template per schedule, 200 make
 * about 150 kB, far under CloudFormation's 1 MB.
 */
export const SCHEDULES_PER_SHARD_STACK = 200;

export interface ShardStackLayout {
  /** Shard stacks; 0 when everything fits one stack, which then synthesizes as before the split. */
  readonly stacks: number;
  /** Schedules (probe and heartbeat) in each shard stack. */
  readonly schedules: readonly number[];
  /** The shard stack of a shard's schedules (0 … stacks − 1). */
  stackOf(shardId: string): number;
}

/** One schedule per shard, a second for the shards of slow fleet groups (fleet-route.ts). */
export function schedulesOf(shard: ShardEvent): number {
  return shard.metrics?.heartbeat !== undefined ? 2 : 1;
}

/**
 * A shard's stack is a hash of its ID, never its position: adding a target adds at most a
 * shard (a new ID, its own place) and moves no other shard's schedules. The stack count is a
 * power of two, so when the fleet outgrows it and it doubles, each schedule either stays or
 * moves to the one new stack its bucket splits into: half move, once.
 */
export function shardStackLayout(shards: readonly ShardEvent[], estimatedResources: number): ShardStackLayout {
  if (estimatedResources <= CFN_MAX_RESOURCES_PER_STACK) {
    return { stacks: 0, schedules: [], stackOf: () => 0 };
  }
  const total = shards.reduce((n, s) => n + schedulesOf(s), 0);
  let stacks = 2;
  while (stacks * SCHEDULES_PER_SHARD_STACK < total) stacks *= 2;
  const stackOf = (shardId: string) => shardHash(shardId) % stacks;
  const schedules = Array.from({ length: stacks }, () => 0);
  for (const s of shards) schedules[stackOf(s.shard)]! += schedulesOf(s);
  return { stacks, schedules, stackOf };
}

/** The first 32 bits of SHA-256: stable across Node versions and platforms, evenly spread. */
function shardHash(shardId: string): number {
  return createHash('sha256').update(shardId).digest().readUInt32BE(0);
}
