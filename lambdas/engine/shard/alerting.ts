/**
 * What the probe function and `mailprobe run --state` share after the checks ran: the alert
 * settings of each target, looked up one way from the shards the plan made, and the commit of
 * a run into the state (annotated results, the store, the notifier). The Lambda passes the
 * DynamoDB store and the SNS notifier; the CLI the state file and a notifier that prints. So
 * `--state` decides as the Lambda does because both run this code, not two copies.
 */
import type { AlertSummary, Notify, ProbeState, TargetAlertPolicy } from '../alerts/probe-state.js';
import type { Clock } from '../deadline.js';
import type { Log } from '../log.js';
import type { BaseResult } from '../result.js';
import type { StateStore } from '../state/types.js';
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

export interface CommitRunOptions {
  readonly store: StateStore;
  readonly notify: Notify;
  readonly policyFor: (result: BaseResult) => Partial<TargetAlertPolicy> | undefined;
  readonly clock: Clock;
  readonly log: Log;
  /** Links to the dashboard and the saved query in the messages (the Lambda knows them). */
  readonly links?: { readonly region: string; readonly dashboardName: string; readonly queryName: string };
  readonly format?: 'text' | 'chatbot';
}

/** Records this run's (annotated) results in the state and sends what the decisions call for. */
export function commitRun(
  state: ProbeState,
  results: readonly BaseResult[],
  options: CommitRunOptions,
): Promise<AlertSummary> {
  return state.commit(results, {
    store: options.store,
    notify: options.notify,
    policyFor: options.policyFor,
    // Results arrive masked (each check masks its own secrets); alerting's own text holds none.
    redact: (text) => text,
    clock: options.clock,
    log: options.log,
    ...(options.links !== undefined ? { links: options.links } : {}),
    ...(options.format === 'chatbot' ? { format: 'chatbot' as const } : {}),
  });
}
