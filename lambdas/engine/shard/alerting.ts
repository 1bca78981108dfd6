/**
 * The alert settings of each target, looked up one way from the shards the plan made: the
 * probe function for its shard, `mailprobe run --state` for every shard of the config. The
 * run itself (state, checks, publishing, commit) is one pipeline for both: run-shard.ts.
 */
import type { TargetAlertPolicy } from '../alerts/probe-state.js';
import type { BaseResult } from '../result.js';
import type { ShardAlertPolicy, ShardEvent } from './event.js';

/** The shard's defaults under the target's own settings (config `alerting.notifications`, `targets[].alerting`). */
export function targetAlertPolicy(
  alerts: ShardEvent['alerts'],
  name: string,
): Partial<TargetAlertPolicy> & ShardAlertPolicy {
  const { targets, ...defaults } = alerts ?? {};
  return { ...defaults, ...targets?.[name] };
}

/** The lookup for results of any of `shards`, by check kind and target name. */
export function policyLookup(
  shards: readonly Pick<ShardEvent, 'alerts' | 'specs'>[],
  nameOf: (spec: ShardEvent['specs'][number]) => string,
): (result: BaseResult) => Partial<TargetAlertPolicy> | undefined {
  const byKey = new Map<string, Partial<TargetAlertPolicy>>();
  for (const shard of shards) {
    for (const spec of shard.specs)
      byKey.set(`${spec.check}#${nameOf(spec)}`, targetAlertPolicy(shard.alerts, nameOf(spec)));
  }
  return (result) => byKey.get(`${result.check}#${result.name ?? result.target}`);
}
