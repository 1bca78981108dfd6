/**
 * Which stack holds each shard's schedules when one stack cannot (issue #20 item 3). Pure: the
 * plan's limit check (validate.ts), `mailprobe plan` and the CDK construct (lib/shard-stacks.ts)
 * make the same choice.
 *
 * The schedules move (one or two per shard), and so do the fleet groups' Metrics Insights
 * alarms (two per group of at most 400 targets), the other part that grows with the fleet: into
 * alarm stacks of their own (alarmStackLayout). The functions, topic, state table, the other
 * alarms and the dashboard stay in the root stack.
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
  const stackOf = (shardId: string) => stableHash(shardId) % stacks;
  const schedules = Array.from({ length: stacks }, () => 0);
  for (const s of shards) schedules[stackOf(s.shard)]! += schedulesOf(s);
  return { stacks, schedules, stackOf };
}

/** Fleet alarms per alarm stack on average: as for schedules, room for the hash's unevenness and growth. */
export const FLEET_ALARMS_PER_ALARM_STACK = 200;

/** What places a fleet group's alarms (alarm-layout.ts fleetAlarmsOf decides which it has). */
export interface FleetAlarmGroup {
  readonly id: string;
  /** Its critical alarms (Success), which the stack's composite watches. */
  readonly critical: number;
  /** Its warning alarms (CertDaysToExpiry). */
  readonly warning: number;
}

export interface AlarmStackLayout {
  /** Alarm stacks; 0 when the fleet is not split, so the fleet alarms stay in the root as before. */
  readonly stacks: number;
  /** Fleet alarms in each alarm stack. */
  readonly alarms: readonly number[];
  /** Resources of each alarm stack: its alarms and the composite(s) over its critical ones. */
  readonly resources: readonly number[];
  /** The alarm stack of a fleet group's alarms (0 … stacks − 1). */
  stackOf(groupId: string): number;
}

/**
 * Where the fleet groups' alarms go once the fleet is split (`split`: the schedules went to shard
 * stacks). Their own stacks rather than the shard stacks: a group's targets span shards whose
 * schedules hash to different stacks, so the group has no one shard stack, and alarm stacks
 * sized by the alarm count keep a schedule stack's count independent of the metrics mode. As
 * for shards, a group's stack is a hash of its ID (`smtp-5m-g12`), never its position, and the
 * count a power of two: a new group lands in its own place and moves nothing, and only a
 * doubling moves alarms (half of them, once).
 */
export function alarmStackLayout(groups: readonly FleetAlarmGroup[], split: boolean): AlarmStackLayout {
  const total = groups.reduce((n, g) => n + g.critical + g.warning, 0);
  if (!split || total === 0) return { stacks: 0, alarms: [], resources: [], stackOf: () => 0 };
  let stacks = 1;
  while (stacks * FLEET_ALARMS_PER_ALARM_STACK < total) stacks *= 2;
  const stackOf = (groupId: string) => stableHash(groupId) % stacks;
  const alarms = Array.from({ length: stacks }, () => 0);
  const critical = Array.from({ length: stacks }, () => 0);
  for (const g of groups) {
    const i = stackOf(g.id);
    alarms[i]! += g.critical + g.warning;
    critical[i]! += g.critical;
  }
  return { stacks, alarms, resources: alarms.map((n, i) => n + compositesOver(critical[i]!)), stackOf };
}

export interface StackLayouts {
  readonly shards: ShardStackLayout;
  readonly alarms: AlarmStackLayout;
}

/**
 * Both layouts of a plan, decided together: the fleet alarms go to alarm stacks exactly when the
 * schedules go to shard stacks. The limit check (validate.ts) and `mailprobe plan` read this.
 */
export function stackLayoutsOf(
  shards: readonly ShardEvent[],
  estimatedResources: number,
  fleetGroups: readonly FleetAlarmGroup[],
): StackLayouts {
  const layout = shardStackLayout(shards, estimatedResources);
  return { shards: layout, alarms: alarmStackLayout(fleetGroups, layout.stacks > 0) };
}

/**
 * Composite alarms over `critical` children (critical-composite.ts): one, or parts of at most 100
 * and the one over them. Group alarm names are short (`<prefix>-<check>-<interval>-g<N>-Success`),
 * so 100 of them stay far under the rule's 10,240 characters and the count decides the parts.
 */
function compositesOver(critical: number): number {
  if (critical === 0) return 0;
  return critical <= 100 ? 1 : Math.ceil(critical / 100) + 1;
}

/** The first 32 bits of SHA-256: stable across Node versions and platforms, evenly spread. */
function stableHash(shardId: string): number {
  return createHash('sha256').update(shardId).digest().readUInt32BE(0);
}
