/**
 * Publishing alerts, and the one entry point the handlers call after the metrics:
 * `processAlerts`. Nothing here throws into the probe run: a failed read of the state,
 * a message that cannot be built or a publish that still fails after retries is logged
 * and counted in the summary, and the probe's results and metrics stand.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { Clock } from '../deadline.js';
import type { BaseResult } from '../result.js';
import type { AlertLinks, AlertMessage } from './format.js';
import { formatAlert } from './format.js';
import type { AlertPolicy, AlertState, Decision } from './state.js';
import { DEFAULT_HOLD_COUNT, DEFAULT_REMINDER_INTERVAL_MS, decide, observe } from './state.js';
import type { AlertKey, AlertStateStore, SaveEntry } from './store.js';
import { CloudWatchAlertStore, keyId } from './store.js';

/** One structured log line (the handlers print it as JSON). Never receives a message body. */
export type AlertLog = (entry: { level: 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>) => void;

export interface PublishOptions {
  readonly client: SNSClient;
  readonly topicArn: string;
  readonly log?: AlertLog;
  /** @default 4 */
  readonly maxAttempts?: number;
  /** First backoff; doubles per attempt with full jitter, capped at 5 s. @default 200 */
  readonly baseDelayMs?: number;
  /** Injected so tests do not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export type PublishOutcome =
  | { readonly ok: true; readonly messageId?: string; readonly attempts: number }
  | { readonly ok: false; readonly error: string; readonly attempts: number };

const RETRYABLE_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'KMSThrottlingException',
  'InternalErrorException',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
]);

function errorFacts(err: unknown): { name: string; status?: number; message: string } {
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    ...(status === undefined ? {} : { status }),
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

/** Throttling and server-side failures are worth another try; a denied or invalid request is not. */
export function isRetryable(err: unknown): boolean {
  const facts = errorFacts(err);
  if (RETRYABLE_NAMES.has(facts.name)) return true;
  if ((err as { $fault?: unknown })?.$fault === 'server') return true;
  if (facts.status !== undefined) return facts.status === 429 || facts.status >= 500;
  // Network errors from the HTTP handler carry no status (ECONNRESET, socket hang-up).
  return /^(ECONNRESET|ETIMEDOUT|EPIPE|ECONNREFUSED)$/.test((err as { code?: string })?.code ?? '');
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Publishes one alert with retries; resolves with the outcome, never rejects. */
export async function publishAlert(message: AlertMessage, options: PublishOptions): Promise<PublishOutcome> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  let last: ReturnType<typeof errorFacts> | undefined;
  let attempts = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    attempts = attempt;
    try {
      const out = await options.client.send(new PublishCommand({ TopicArn: options.topicArn, ...message.input }));
      return { ok: true, attempts: attempt, ...(out.MessageId === undefined ? {} : { messageId: out.MessageId }) };
    } catch (err) {
      last = errorFacts(err);
      const retry = attempt < maxAttempts && isRetryable(err);
      options.log?.({
        level: retry ? 'warn' : 'error',
        msg: retry ? 'alert publish failed, retrying' : 'alert publish failed',
        attempt,
        error: last.name,
        ...(last.status === undefined ? {} : { httpStatus: last.status }),
        errorMessage: last.message,
        subject: message.subject,
      });
      if (!retry) break;
      // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
      await sleep(Math.floor(random() * Math.min(5_000, base * 2 ** (attempt - 1))));
    }
  }
  return { ok: false, error: last?.name ?? 'Error', attempts };
}

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
  /** Passed to publishAlert (tests inject a sleep that does not wait). */
  readonly publish?: Omit<PublishOptions, 'client' | 'topicArn' | 'log'>;
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

/** Decides, formats, publishes and records the alert state for the results of one run. */
export async function processAlerts(results: readonly BaseResult[], rawDeps: ProcessAlertsDeps): Promise<AlertSummary> {
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

  const entries: SaveEntry[] = [];
  for (const [i, { result, policy }] of active.entries()) {
    const key = keys[i]!;
    const observation = observe(result, runTime(result, deps.clock));
    const decision: Decision = decide(observation, previous.get(keyId(key)), policy);
    let published = false;
    if (decision.send && decision.transition !== undefined) {
      try {
        const message = formatAlert(result, decision.transition, {
          redact: deps.redact,
          now,
          ...(deps.links === undefined ? {} : { links: deps.links }),
        });
        const outcome = await publishAlert(message, {
          ...deps.publish,
          client: deps.sns,
          topicArn: deps.topicArn,
          log: deps.log,
        });
        published = outcome.ok;
        deps.log({
          level: outcome.ok ? 'info' : 'error',
          msg: outcome.ok ? 'alert published' : 'alert not published; a later run will retry',
          check: result.check,
          target: key.target,
          transition: decision.transition.kind,
          status: result.status,
          attempts: outcome.attempts,
          bytes: message.bytes,
          omittedFindings: message.omittedFindings,
        });
      } catch (err) {
        const facts = errorFacts(err);
        deps.log({
          level: 'error',
          msg: 'alert could not be built',
          check: result.check,
          target: key.target,
          error: facts.name,
        });
      }
      if (published) summary.sent += 1;
      else summary.failed += 1;
      summary.alerts.push({
        check: result.check,
        target: key.target,
        transition: decision.transition.kind,
        status: result.status,
        published,
      });
    }
    entries.push({ key, observation, sent: published, state: published ? decision.state : decision.unsentState });
  }

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
