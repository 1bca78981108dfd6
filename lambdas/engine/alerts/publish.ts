/**
 * The one entry point the handlers call after the metrics: `processAlerts` (`publishAlert`
 * is re-exported from sns-publish.ts). Nothing here throws into the probe run: a failed
 * read of the state, a message that cannot be built or a publish that still fails after
 * retries is logged and counted in the summary, and the probe's results and metrics stand.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Clock } from '../deadline.js';
import type { BaseResult } from '../result.js';
import type { AlertLinks, AlertTransition } from './format.js';
import { formatAlert } from './format.js';
import type { AlertPolicy, AlertState } from './state.js';
import { DEFAULT_HOLD_COUNT, DEFAULT_REMINDER_INTERVAL_MS, decide, observe } from './state.js';
import type { AlertKey, AlertStateStore, SaveEntry } from './store.js';
import { CloudWatchAlertStore, keyId } from './store.js';
import type { AlertLog } from './sns-publish.js';
import type { Backoff } from './retry.js';
import { publishAlert } from './sns-publish.js';
import { errorFacts } from './retry.js';

export { publishAlert } from './sns-publish.js';
export { isRetryable } from './retry.js';
export type { AlertLog, PublishOptions, PublishOutcome } from './sns-publish.js';

/** Per-target settings: the config's alerting block merged with the target's overrides. */
export interface TargetAlertPolicy extends AlertPolicy {
  readonly enabled: boolean;
}

export interface ProcessAlertsDeps {
  readonly sns: SNSClient;
  readonly topicArn: string;
  /** Either a CloudWatch client (the default store, see store.ts) or another store. */
  readonly cloudwatch?: CloudWatchClient;
  readonly store?: AlertStateStore;
  /** Metrics namespace for the CloudWatch store. @default 'MailProbe' */
  readonly namespace?: string;
  /** @default 2 */
  readonly holdCount?: number;
  /** 0 turns reminders off. @default 24 h */
  readonly reminderIntervalMs?: number;
  /** Per-target on/off and overrides; undefined fields fall back to the defaults above. */
  readonly policyFor?: (result: BaseResult) => Partial<TargetAlertPolicy> | undefined;
  readonly links?: AlertLinks;
  readonly redact: (text: string) => string;
  readonly clock: Clock;
  readonly log: AlertLog;
  /** Retries of the SNS and CloudWatch calls (tests inject a sleep that does not wait). */
  readonly retry?: Backoff;
}

export interface AlertSummary {
  readonly evaluated: number;
  readonly sent: number;
  readonly failed: number;
  /** Set when the previous state could not be read or written. */
  readonly stateError?: string;
  readonly alerts: readonly {
    readonly check: string;
    readonly target: string;
    readonly transition: string;
    readonly status: string;
    readonly published: boolean;
  }[];
}

export function alertKeyOf(result: BaseResult): AlertKey {
  return { check: result.check, target: result.name ?? result.target };
}

function runTime(result: BaseResult, clock: Clock): number {
  const t = Date.parse(result.startedAt);
  return Number.isFinite(t) ? t : clock.now();
}

/** Publishes at most this many alerts at once. */
const PUBLISH_CONCURRENCY = 8;

async function inPool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

/** Formats and publishes one alert; true when SNS accepted it. Never rejects. */
async function sendOne(
  result: BaseResult,
  key: AlertKey,
  transition: AlertTransition,
  deps: ProcessAlertsDeps,
  now: number,
): Promise<boolean> {
  try {
    const message = formatAlert(result, transition, {
      redact: deps.redact,
      now,
      ...(deps.links === undefined ? {} : { links: deps.links }),
    });
    const outcome = await publishAlert(message, {
      ...deps.retry,
      client: deps.sns,
      topicArn: deps.topicArn,
      log: deps.log,
    });
    deps.log({
      level: outcome.ok ? 'info' : 'error',
      msg: outcome.ok ? 'alert published' : 'alert not published; a later run will retry',
      check: result.check,
      target: key.target,
      transition: transition.kind,
      status: result.status,
      attempts: outcome.attempts,
      bytes: message.bytes,
      omittedFindings: message.omittedFindings,
    });
    return outcome.ok;
  } catch (err) {
    deps.log({
      level: 'error',
      msg: 'alert could not be built',
      check: result.check,
      target: key.target,
      error: errorFacts(err).name,
    });
    return false;
  }
}

/**
 * Decides, formats, publishes and records the alert state for the results of one run.
 * Resolves with a summary and never rejects, whatever fails (a bug included).
 */
export async function processAlerts(results: readonly BaseResult[], deps: ProcessAlertsDeps): Promise<AlertSummary> {
  try {
    return await processUnguarded(results, deps);
  } catch (err) {
    const facts = errorFacts(err);
    try {
      deps.log({ level: 'error', msg: 'alerting failed', error: facts.name, errorMessage: deps.redact(facts.message) });
    } catch {
      // A logger that throws must not fail the probe run either.
    }
    return { evaluated: 0, sent: 0, failed: 0, alerts: [], stateError: facts.name };
  }
}

async function processUnguarded(results: readonly BaseResult[], rawDeps: ProcessAlertsDeps): Promise<AlertSummary> {
  // SDK error messages and names from the config end up in log lines: redact them too.
  const deps: ProcessAlertsDeps = {
    ...rawDeps,
    log: (entry) =>
      rawDeps.log(
        Object.fromEntries(
          Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? rawDeps.redact(v) : v]),
        ) as typeof entry,
      ),
  };
  const policies = results.map((r) => {
    const own = deps.policyFor?.(r) ?? {};
    return {
      enabled: own.enabled ?? true,
      holdCount: own.holdCount ?? deps.holdCount ?? DEFAULT_HOLD_COUNT,
      reminderIntervalMs: own.reminderIntervalMs ?? deps.reminderIntervalMs ?? DEFAULT_REMINDER_INTERVAL_MS,
    };
  });
  const active = results.map((r, i) => ({ result: r, policy: policies[i]! })).filter((a) => a.policy.enabled);
  const summary = { evaluated: active.length, sent: 0, failed: 0, alerts: [] as AlertSummary['alerts'][number][] };
  if (active.length === 0) return summary;

  const store =
    deps.store ??
    (deps.cloudwatch === undefined
      ? undefined
      : new CloudWatchAlertStore({
          client: deps.cloudwatch,
          namespace: deps.namespace ?? 'MailProbe',
          holdCount: Math.max(...active.map((a) => a.policy.holdCount)),
          // Far enough back to see the last reminder, plus an hour for late runs.
          lookbackMs: Math.max(...active.map((a) => a.policy.reminderIntervalMs), 2 * 60 * 60 * 1000) + 60 * 60 * 1000,
          ...(deps.retry === undefined ? {} : { backoff: deps.retry }),
        }));
  if (store === undefined) {
    deps.log({ level: 'error', msg: 'alerting has no state store: pass cloudwatch or store' });
    return { ...summary, stateError: 'NoStore' };
  }

  const now = deps.clock.now();
  const keys = active.map((a) => alertKeyOf(a.result));
  let previous: Map<string, AlertState>;
  try {
    previous = await store.load(keys, Math.min(...active.map((a) => runTime(a.result, deps.clock))));
  } catch (err) {
    // Without the history a decision would be a guess: stay silent (the Success alarm still pages).
    const facts = errorFacts(err);
    deps.log({
      level: 'error',
      msg: 'alert state could not be read; no alerts this run',
      error: facts.name,
      errorMessage: facts.message,
    });
    return { ...summary, stateError: facts.name };
  }

  const decided = active.map(({ result, policy }, i) => {
    const key = keys[i]!;
    const observation = observe(result, runTime(result, deps.clock));
    return { result, key, observation, decision: decide(observation, previous.get(keyId(key)), policy) };
  });
  const toSend = decided.filter((d) => d.decision.send && d.decision.transition !== undefined);
  const published = new Set<(typeof decided)[number]>();
  // A shared outage turns many targets critical in the same run: publish a few at a time.
  await inPool(toSend, PUBLISH_CONCURRENCY, async (d) => {
    if (await sendOne(d.result, d.key, d.decision.transition!, deps, now)) published.add(d);
  });
  for (const d of toSend) {
    const ok = published.has(d);
    if (ok) summary.sent += 1;
    else summary.failed += 1;
    summary.alerts.push({
      check: d.result.check,
      target: d.key.target,
      transition: d.decision.transition!.kind,
      status: d.result.status,
      published: ok,
    });
  }
  const entries: SaveEntry[] = decided.map((d) => ({
    key: d.key,
    observation: d.observation,
    sent: published.has(d),
    state: published.has(d) ? d.decision.state : d.decision.unsentState,
  }));

  try {
    await store.save(entries);
  } catch (err) {
    const facts = errorFacts(err);
    deps.log({
      level: 'error',
      msg: 'alert state could not be written',
      error: facts.name,
      errorMessage: facts.message,
    });
    return { ...summary, stateError: facts.name };
  }
  return summary;
}
