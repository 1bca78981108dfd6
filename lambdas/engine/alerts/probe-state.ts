/**
 * The alerting step of a probe run, over a StateStore (DynamoDB in the Lambdas, a JSON file
 * in the CLI): `openState` reads every target's state in one batched read before the checks
 * run, `ProbeState.annotate` adds to each result what changed since the last run (so the
 * log line carries it), and `ProbeState.commit` decides, records and notifies.
 *
 * Exactly once under concurrency: the new state (with the notification in it) is written
 * first, conditional on the version read; only the invocation whose write succeeded sends.
 * A lost race is logged and the other invocation's state stands. If the publish then fails,
 * a second conditional write takes the notification back out, so a later run sends it again.
 *
 * Nothing here throws into the probe run: an unreadable item is logged and treated as "no
 * history" (no burst of notifications follows, as a new target counts as ok until it holds
 * otherwise); a throttled or unreachable table means no notifications for the targets
 * concerned this run (logged and counted), while the results and metrics stand.
 */
import type { Clock } from '../deadline.js';
import type { BaseResult, Change } from '../result.js';
import { changesOf, factsOf, mergeFacts, type Facts } from '../state/facts.js';
import {
  MAX_RUNS,
  keyId,
  type LoadResult,
  type StateKey,
  type StateStore,
  type StateWrite,
  type StoredState,
  type TargetState,
  type WriteOutcome,
} from '../state/types.js';
import type { AlertLinks, AlertMessage, AlertTransition } from './format.js';
import { formatAlert } from './format.js';
import { chatbotAlert, type AlertFormat } from './chatbot.js';
import type { AlertPolicy, AlertHistory, Decision, Observation } from './transitions.js';
import { DEFAULT_HOLD_COUNT, DEFAULT_REMINDER_INTERVAL_MS, decide, observe } from './transitions.js';
import type { AlertLog } from './sns.js';
import { errorFacts } from '../aws-retry.js';

// No SNS here: the CLI runs this module too (with --state) and must not load the SDK for it.
export type { AlertLog } from './sns.js';

/** Per-target settings: the config's alerting block merged with the target's overrides. */
export interface TargetAlertPolicy extends AlertPolicy {
  readonly enabled: boolean;
}

/** Sends one message; resolves true when it was accepted (SNS), never rejects. */
export type Notify = (
  message: AlertMessage,
  about: { check: string; target: string; kind: string },
) => Promise<boolean>;

export interface ProcessAlertsDeps {
  readonly store: StateStore;
  /** Where messages go. */
  readonly notify: Notify;
  /** @default 2 */
  readonly holdCount?: number;
  /** 0 turns reminders off. @default 24 h */
  readonly reminderIntervalMs?: number;
  /** Per-target on/off and overrides; undefined fields fall back to the defaults above. */
  readonly policyFor?: (result: BaseResult) => Partial<TargetAlertPolicy> | undefined;
  /** Send "changed since the last run" notices. @default true */
  readonly notifyChanges?: boolean;
  readonly links?: AlertLinks;
  /** `chatbot`: HTTPS and default subscribers get the AWS Chatbot custom notification (chatbot.ts). @default 'text' */
  readonly format?: AlertFormat;
  readonly redact: (text: string) => string;
  readonly clock: Clock;
  readonly log: AlertLog;
}

export interface AlertSummary {
  /** Targets with notifications enabled. */
  readonly evaluated: number;
  readonly sent: number;
  /** Messages that could not be published (a later run sends them again). */
  readonly failed: number;
  /** Changes seen this run (all targets). */
  readonly changes: number;
  /** Targets whose write lost to an overlapping invocation (that one notifies). */
  readonly conflicts: number;
  /** Targets without notifications this run because the state could not be read or written. */
  readonly stateUnavailable: number;
  /** Items that could not be read and were treated as "no history". */
  readonly corrupt: number;
  /** The first state error of the run, when there was one. */
  readonly stateError?: string;
  readonly alerts: readonly {
    readonly check: string;
    readonly target: string;
    readonly transition: string;
    readonly status: string;
    readonly published: boolean;
  }[];
}

export function alertKeyOf(result: Pick<BaseResult, 'check' | 'target' | 'name'>): StateKey {
  return { check: result.check, target: result.name ?? result.target };
}

function runTime(result: BaseResult, clock: Clock): number {
  const t = Date.parse(result.startedAt);
  return Number.isFinite(t) ? t : clock.now();
}

/** Publishes at most this many messages at once (a shared outage turns many targets critical). */
const PUBLISH_CONCURRENCY = 8;

async function inPool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

/** SDK error messages and names from the config end up in log lines: redact them too. */
function redactingLog(log: AlertLog, redact: (text: string) => string): AlertLog {
  return (entry) => {
    try {
      log(
        Object.fromEntries(
          Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? redact(v) : v]),
        ) as typeof entry,
      );
    } catch {
      // A logger that throws must not fail the probe run.
    }
  };
}

/**
 * Reads the state of `keys`; never rejects. Corrupt items and unavailable keys are logged
 * here once; the returned ProbeState knows which targets have no state this run.
 */
export async function openState(store: StateStore, keys: readonly StateKey[], log: AlertLog): Promise<ProbeState> {
  let loaded: LoadResult;
  try {
    loaded = await store.load(keys);
  } catch (err) {
    // Stores report faults in the result; a throw is a bug, handled the same way.
    const facts = errorFacts(err);
    loaded = { states: new Map(), corrupt: [], unavailable: [...keys], error: facts.name };
  }
  for (const item of loaded.corrupt) {
    log({
      level: 'warn',
      msg: 'state item unreadable; treated as no history',
      check: item.key.check,
      target: item.key.target,
      reason: item.reason,
    });
  }
  if (loaded.unavailable.length > 0) {
    log({
      level: 'error',
      msg: 'state could not be read; no notifications for these targets this run',
      targets: loaded.unavailable.length,
      error: loaded.error ?? 'unknown',
    });
  }
  return new ProbeState(loaded);
}

interface Planned {
  readonly result: BaseResult;
  readonly key: StateKey;
  readonly stored: StoredState;
  readonly enabled: boolean;
  readonly observation: Observation;
  readonly decision: Decision;
  readonly changes: readonly Change[];
  readonly facts: Facts;
  /** What this run would send: the status alert, or else a change notice. */
  readonly transition?: AlertTransition;
}

export class ProbeState {
  private readonly loaded: LoadResult;

  constructor(loaded: LoadResult) {
    this.loaded = loaded;
  }

  /** The stored state of a target, undefined when it could not be read this run. */
  stored(key: StateKey): StoredState | undefined {
    return this.loaded.states.get(keyId(key));
  }

  /**
   * The result with `changes` (schema/mailprobe.result.schema.json): what differs from the last run's facts. Left
   * without the field when the state could not be read (nothing is known to compare with).
   */
  annotate<R extends BaseResult>(result: R): R {
    const stored = this.stored(alertKeyOf(result));
    if (stored === undefined) return result;
    return { ...result, changes: changesOf(stored.state?.facts, result) };
  }

  /** Decides, records and notifies for the run's results. Never rejects. */
  async commit(results: readonly BaseResult[], rawDeps: ProcessAlertsDeps): Promise<AlertSummary> {
    const deps: ProcessAlertsDeps = { ...rawDeps, log: redactingLog(rawDeps.log, rawDeps.redact) };
    try {
      return await this.commitUnguarded(results, deps);
    } catch (err) {
      const facts = errorFacts(err);
      deps.log({ level: 'error', msg: 'alerting failed', error: facts.name, errorMessage: facts.message });
      return { ...emptySummary(0), stateError: facts.name };
    }
  }

  private async commitUnguarded(results: readonly BaseResult[], deps: ProcessAlertsDeps): Promise<AlertSummary> {
    const summary = emptySummary(0);
    const alerts: AlertSummary['alerts'][number][] = [];
    let stateError = this.loaded.unavailable.length > 0 ? (this.loaded.error ?? 'StateUnavailable') : undefined;
    let evaluated = 0;
    let unavailable = 0;
    let conflicts = 0;
    let changeCount = 0;

    const planned: Planned[] = [];
    for (const input of results) {
      const own = deps.policyFor?.(input) ?? {};
      const policy: TargetAlertPolicy = {
        enabled: own.enabled ?? true,
        // The store keeps MAX_RUNS runs (the config allows 1–10): a larger hold could never be reached.
        holdCount: Math.min(MAX_RUNS, own.holdCount ?? deps.holdCount ?? DEFAULT_HOLD_COUNT),
        reminderIntervalMs: own.reminderIntervalMs ?? deps.reminderIntervalMs ?? DEFAULT_REMINDER_INTERVAL_MS,
      };
      if (policy.enabled) evaluated += 1;
      const key = alertKeyOf(input);
      const stored = this.stored(key);
      if (stored === undefined) {
        unavailable += 1;
        continue;
      }
      const result = input.changes === undefined ? this.annotate(input) : input;
      const changes = result.changes ?? [];
      changeCount += changes.length;
      const previous: AlertHistory | undefined =
        stored.state === undefined
          ? undefined
          : {
              recent: stored.state.runs,
              ...(stored.state.announced === undefined ? {} : { announced: stored.state.announced }),
            };
      const observation = observe(result, runTime(result, deps.clock));
      // A change announces its status at once, in one message with it (unless change notices are off).
      const explained = changes.length > 0 && deps.notifyChanges !== false;
      const decision = decide(observation, previous, policy, { explained });
      const transition: AlertTransition | undefined = !policy.enabled
        ? undefined
        : decision.send
          ? decision.transition
          : changes.length > 0 && deps.notifyChanges !== false
            ? { kind: 'changes', previousStatus: result.status }
            : undefined;
      planned.push({
        result,
        key,
        stored,
        enabled: policy.enabled,
        observation,
        decision,
        changes,
        facts: mergeFacts(stored.state?.facts, factsOf(result)),
        ...(transition === undefined ? {} : { transition }),
      });
    }

    // 1. Claim: the state as it will be once this run's message is sent, conditional on the version read.
    const claims: StateWrite[] = planned.map((p) => ({
      key: p.key,
      expected: p.stored.version,
      state: nextState(p, p.transition !== undefined),
    }));
    const outcomes = await safeSave(deps, claims);

    // 2. Send what this invocation won.
    const toSend: { p: Planned; version: number }[] = [];
    planned.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.kind === 'conflict') {
        conflicts += 1;
        deps.log({
          level: 'warn',
          msg: 'state changed by an overlapping run; its decision stands, nothing sent from this one',
          check: p.key.check,
          target: p.key.target,
        });
      } else if (outcome.kind === 'failed') {
        unavailable += 1;
        stateError ??= outcome.error;
        if (p.transition !== undefined) {
          deps.log({
            level: 'error',
            msg: 'state could not be written; no notification this run',
            check: p.key.check,
            target: p.key.target,
            transition: p.transition.kind,
            error: outcome.error,
          });
        }
      } else if (p.transition !== undefined) {
        toSend.push({ p, version: outcome.version });
      }
    });
    if (outcomes.some((o) => o.kind === 'failed')) {
      deps.log({
        level: 'error',
        msg: 'state could not be written for some targets',
        targets: outcomes.filter((o) => o.kind === 'failed').length,
        error: stateError ?? 'unknown',
      });
    }

    const unsent: { p: Planned; version: number }[] = [];
    let sent = 0;
    let failed = 0;
    await inPool(toSend, PUBLISH_CONCURRENCY, async (item) => {
      const ok = await sendOne(item.p, deps);
      alerts.push({
        check: item.p.key.check,
        target: item.p.key.target,
        transition: item.p.transition!.kind,
        status: item.p.result.status,
        published: ok,
      });
      if (ok) sent += 1;
      else {
        failed += 1;
        unsent.push(item);
      }
    });

    // 3. A message that did not go out is taken back out of the state, so a later run sends it.
    if (unsent.length > 0) {
      const reverts = await safeSave(
        deps,
        unsent.map(({ p, version }) => ({ key: p.key, expected: version, state: nextState(p, false) })),
      );
      reverts.forEach((o, i) => {
        if (o.kind !== 'saved') {
          const { p } = unsent[i]!;
          deps.log({
            level: 'error',
            msg: 'an unsent notification could not be marked as unsent; it will not be retried',
            check: p.key.check,
            target: p.key.target,
            error: o.kind === 'failed' ? o.error : 'conflict',
          });
        }
      });
    }

    return {
      ...summary,
      evaluated,
      sent,
      failed,
      changes: changeCount,
      conflicts,
      stateUnavailable: unavailable,
      corrupt: this.loaded.corrupt.length,
      ...(stateError === undefined ? {} : { stateError }),
      alerts,
    };
  }
}

function emptySummary(evaluated: number): AlertSummary {
  return { evaluated, sent: 0, failed: 0, changes: 0, conflicts: 0, stateUnavailable: 0, corrupt: 0, alerts: [] };
}

async function safeSave(deps: ProcessAlertsDeps, writes: readonly StateWrite[]): Promise<WriteOutcome[]> {
  if (writes.length === 0) return [];
  try {
    return await deps.store.save(writes);
  } catch (err) {
    const error = errorFacts(err).name;
    return writes.map(() => ({ kind: 'failed' as const, error }));
  }
}

/**
 * The state to store after this run. `sent`: with this run's message recorded (the claim);
 * otherwise as if nothing was sent, and with the facts of the last run kept when the message
 * was a change notice, so that the change is reported again by the next run.
 */
function nextState(p: Planned, sent: boolean): TargetState {
  const previous = p.stored.state;
  const alert = sent ? p.decision.state : p.decision.unsentState;
  // The changes rode in the message (a change notice, or the status alert that lists them).
  const changeNoticeLost = !sent && p.transition !== undefined && p.changes.length > 0;
  const facts = changeNoticeLost ? previous?.facts : p.facts;
  const at = p.observation.at;
  const lastNotification =
    sent && p.transition !== undefined ? { kind: p.transition.kind, at } : previous?.lastNotification;
  return {
    check: p.key.check,
    target: p.key.target,
    status: p.observation.status,
    since: previous !== undefined && previous.status === p.observation.status ? previous.since : at,
    updatedAt: at,
    runs: [...(previous?.runs ?? []), p.observation].slice(-MAX_RUNS),
    ...(alert.announced === undefined ? {} : { announced: alert.announced }),
    ...(lastNotification === undefined ? {} : { lastNotification }),
    ...(facts === undefined || Object.keys(facts).length === 0 ? {} : { facts }),
  };
}

/** Formats and sends one message; true when it was accepted. Never rejects. */
async function sendOne(p: Planned, deps: ProcessAlertsDeps): Promise<boolean> {
  const transition = p.transition!;
  try {
    const options = {
      redact: deps.redact,
      now: deps.clock.now(),
      ...(deps.links === undefined ? {} : { links: deps.links }),
    };
    const message =
      deps.format === 'chatbot'
        ? // One id per notification: a retry after a failed publish is the same event to Chatbot.
          chatbotAlert(
            p.result,
            transition,
            options,
            `${p.key.check}#${p.key.target}#${transition.kind}#${p.result.startedAt}`,
          )
        : formatAlert(p.result, transition, options);
    const ok = await deps.notify(message, { check: p.key.check, target: p.key.target, kind: transition.kind });
    deps.log({
      level: ok ? 'info' : 'error',
      msg: ok ? 'alert published' : 'alert not published; a later run will retry',
      check: p.result.check,
      target: p.key.target,
      transition: transition.kind,
      status: p.result.status,
      ...(p.changes.length > 0 ? { changes: p.changes.map((c) => c.code) } : {}),
      bytes: message.bytes,
      omittedFindings: message.omittedFindings,
    });
    return ok;
  } catch (err) {
    deps.log({
      level: 'error',
      msg: 'alert could not be built or sent',
      check: p.result.check,
      target: p.key.target,
      error: errorFacts(err).name,
    });
    return false;
  }
}

/** Loads, annotates and commits in one call (the CLI and tests; the handlers split the steps). */
export async function processAlerts(results: readonly BaseResult[], deps: ProcessAlertsDeps): Promise<AlertSummary> {
  const state = await openState(deps.store, results.map(alertKeyOf), redactingLog(deps.log, deps.redact));
  return state.commit(results, deps);
}
