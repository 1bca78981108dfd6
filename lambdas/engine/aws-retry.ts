/**
 * Retries for the AWS calls (SNS Publish, DynamoDB, CloudWatch PutMetricData, S3): which
 * errors are worth another try, and exponential backoff with full jitter on those only. The
 * handlers build their clients with maxAttempts 1, so these are the only retries.
 */

export interface Backoff {
  /** @default 4 */
  readonly maxAttempts?: number;
  /** First delay cap; doubles per attempt, capped at 5 s. @default 200 */
  readonly baseDelayMs?: number;
  /** Injected so tests do not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const RETRYABLE_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'TooManyRequestsException',
  'KMSThrottlingException',
  'InternalErrorException',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
  'NetworkingError',
  // DynamoDB throttling (on-demand tables too, when a partition is hot or the account limit is hit).
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
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
  // The SDK marks throttling and transient errors with $retryable, server errors with $fault.
  if ((err as { $retryable?: unknown })?.$retryable !== undefined) return true;
  if ((err as { $fault?: unknown })?.$fault === 'server') return true;
  if (facts.status !== undefined) return facts.status === 429 || facts.status >= 500;
  // No HTTP status at all: the request never got an answer (reset, refused, DNS, timeout).
  return NETWORK_CODES.has((err as { code?: string })?.code ?? '');
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` until it succeeds, fails with an error not worth retrying, or runs out of
 * attempts; `onError` sees every failure (with whether another try follows). Rethrows the last error.
 */
export async function withRetries<T>(
  work: (attempt: number) => Promise<T>,
  backoff: Backoff = {},
  onError?: (err: unknown, attempt: number, willRetry: boolean) => void,
): Promise<T> {
  const maxAttempts = Math.max(1, backoff.maxAttempts ?? 4);
  const base = backoff.baseDelayMs ?? 200;
  const sleep = backoff.sleep ?? defaultSleep;
  const random = backoff.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work(attempt);
    } catch (err) {
      const willRetry = attempt < maxAttempts && isRetryable(err);
      onError?.(err, attempt, willRetry);
      if (!willRetry) throw err;
      // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
      await sleep(Math.floor(random() * Math.min(5_000, base * 2 ** (attempt - 1))));
    }
  }
}
