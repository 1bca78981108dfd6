/**
 * The one pipeline of a probe run: open the state of the targets, run the checks (each result
 * annotated with what changed since the last run as soon as it is ready), publish, record the
 * run in the state and send what the alert decisions call for. The probe function calls it
 * for its shard (DynamoDB, SNS, CloudWatch); `mailprobe run --state` and the single-check
 * commands with `--state` call it with the state file, a notifier that prints and no
 * publisher. So `--state` decides as the Lambda does because both run this function.
 */
import {
  alertKeyOf,
  openState,
  type AlertSummary,
  type Notify,
  type ProbeState,
  type TargetAlertPolicy,
} from '../alerts/probe-state.js';
import type { Clock } from '../deadline.js';
import type { Log } from '../log.js';
import type { BaseResult } from '../result.js';
import type { StateKey, StateStore } from '../state/types.js';

export interface ShardState {
  readonly store: StateStore;
  readonly notify: Notify;
  /** Each target's alert settings (alerting.ts: `targetAlertPolicy`, `policyLookup`). */
  readonly policyFor: (result: BaseResult) => Partial<TargetAlertPolicy> | undefined;
  /** Links to the dashboard and the saved query in the messages (the Lambda knows them). */
  readonly links?: { readonly region: string; readonly dashboardName: string; readonly queryName: string };
  readonly format?: 'text' | 'chatbot';
}

export interface RunShardOptions<R extends BaseResult, P> {
  /**
   * The targets whose state the run reads, before the checks run, so each result can be
   * annotated the moment it is ready (the Lambda logs it then: a later hang loses nothing).
   * Absent for commands that know their targets only from their results (`mailprobe smtp
   * HOST --state F`): the state is then read after the checks.
   */
  readonly keys?: readonly StateKey[];
  /** Runs the checks, calling `onResult` with each result as soon as it is ready. */
  readonly run: (onResult: (result: R) => void) => Promise<R[]>;
  /** Each result as soon as it is ready, annotated with its changes when there is a state. */
  readonly onResult?: (result: R) => void;
  /** Publishes the metrics of the (annotated) results; the CLI publishes nothing. */
  readonly publish?: (results: readonly R[]) => Promise<P>;
  /** The state and its notifier; without it results go out as the checks made them. */
  readonly state?: ShardState;
  readonly clock: Clock;
  readonly log: Log;
}

export interface ShardRunOutcome<R extends BaseResult, P> {
  /** The results, annotated with their changes when there is a state. */
  readonly results: R[];
  readonly published?: P;
  readonly alerts?: AlertSummary;
}

/** The state key of a spec's target: what `alertKeyOf` gives for its result. */
export function stateKeyOf(spec: { readonly check: string; readonly name?: string }, target: string): StateKey {
  return { check: spec.check, target: spec.name ?? target };
}

export async function runShard<R extends BaseResult, P = never>(
  options: RunShardOptions<R, P>,
): Promise<ShardRunOutcome<R, P>> {
  const { state: stateOptions, log } = options;
  let state: ProbeState | undefined;
  if (stateOptions && options.keys) state = await openState(stateOptions.store, options.keys, log);
  const emit = options.onResult;
  const ran = await options.run((result) => emit?.(state ? (state.annotate(result) as R) : result));
  if (stateOptions && !state) state = await openState(stateOptions.store, ran.map(alertKeyOf), log);
  const results = state ? ran.map((r) => state.annotate(r) as R) : ran;

  const published = options.publish ? await options.publish(results) : undefined;

  let alerts: AlertSummary | undefined;
  if (state && stateOptions) {
    alerts = await state.commit(results, {
      store: stateOptions.store,
      notify: stateOptions.notify,
      policyFor: stateOptions.policyFor,
      // Results arrive masked (each check masks its own secrets); alerting's own text holds none.
      redact: (text) => text,
      clock: options.clock,
      log,
      ...(stateOptions.links !== undefined ? { links: stateOptions.links } : {}),
      ...(stateOptions.format === 'chatbot' ? { format: 'chatbot' as const } : {}),
    });
  }
  return {
    results,
    ...(published !== undefined ? { published } : {}),
    ...(alerts !== undefined ? { alerts } : {}),
  };
}
