/**
 * Publishing one alert to SNS with retries. Resolves with the outcome and never rejects:
 * a failed alert must not fail the probe run whose results and metrics already stand.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { AlertMessage } from './format.js';

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

export function errorFacts(err: unknown): { name: string; status?: number; message: string } {
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
