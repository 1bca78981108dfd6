/**
 * Publishes datums with PutMetricData, in batches within the API's limits, retrying
 * throttling and server errors with exponential backoff and full jitter. Whatever
 * still fails is written as Embedded Metric Format log lines: CloudWatch Logs turns
 * them into the same metrics, so a bad minute of the CloudWatch API loses nothing.
 * The report says what happened, and the handler returns it.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { METRICS, dimensionList, type Datum } from './definitions.js';
import { isRetryable } from '../aws-retry.js';

/** PutMetricData limits (CloudWatch API reference, PutMetricData): 1,000 datums and 1 MB per request. */
export const MAX_DATUMS_PER_REQUEST = 1000;
export const MAX_REQUEST_BYTES = 1_000_000;
/** Room for the envelope and protocol overhead, which the SDK adds after we measure. */
const REQUEST_BYTES_BUDGET = 900_000;
/** EMF: at most 100 metrics per document (CloudWatch EMF specification). */
export const MAX_EMF_METRICS = 100;

export interface RetryPolicy {
  /** Attempts per batch, the first included. @default 4 */
  readonly maxAttempts: number;
  /** @default 100 */
  readonly baseDelayMs: number;
  /** @default 2000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };

export interface PublisherDeps {
  /** Configure it with `maxAttempts: 1`: the retries are ours, so SDK retries would multiply them. */
  readonly client: Pick<CloudWatchClient, 'send'>;
  readonly namespace: string;
  readonly retry?: RetryPolicy;
  /** Injected for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Where EMF lines go: stdout, one line each (the Lambda runtime ships stdout to CloudWatch Logs). */
  readonly writeLine?: (line: string) => void;
}

export interface PublishReport {
  readonly datums: number;
  /** PutMetricData calls made, retries included. */
  readonly requests: number;
  readonly retries: number;
  /** Datums CloudWatch accepted through PutMetricData. */
  readonly published: number;
  /** Datums written as EMF log lines instead. */
  readonly emfFallback: number;
  /** Why batches fell back (error names and HTTP status), without request contents. */
  readonly errors: readonly string[];
}

export function toMetricDatum(d: Datum): MetricDatum {
  return {
    MetricName: METRICS[d.metric].name,
    Dimensions: dimensionList(d.dimensions),
    Timestamp: d.timestamp,
    Value: d.value,
    Unit: METRICS[d.metric].unit,
    // Standard resolution: the probes run every few minutes at most; high resolution costs more.
    StorageResolution: 60,
  };
}

/** Splits datums into requests of at most 1,000 datums and well under 1 MB each. */
export function batch(datums: readonly Datum[]): Datum[][] {
  return batchBy(datums, (d) => JSON.stringify(toMetricDatum(d)).length + 64);
}

function batchBy<T>(datums: readonly T[], sizeOf: (d: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const d of datums) {
    const size = sizeOf(d);
    if (current.length > 0 && (current.length >= MAX_DATUMS_PER_REQUEST || bytes + size > REQUEST_BYTES_BUDGET)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

interface AwsLikeError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function describeError(err: unknown): string {
  const e = (err ?? {}) as AwsLikeError & { message?: string };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status !== undefined ? ` (HTTP ${status})` : ''}`;
}

/**
 * One EMF document per (dimension set, timestamp): the datums of one result, or one run's per-kind counts.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function toEmfLines(namespace: string, datums: readonly Datum[]): string[] {
  return emfLinesOf(namespace, datums.map(toMetricDatum));
}

/** The same EMF documents from SDK datums, for metrics outside METRICS (the TLS-RPT receivers'). */
export function emfLinesOf(namespace: string, datums: readonly MetricDatum[]): string[] {
  const groups = new Map<string, MetricDatum[]>();
  for (const d of datums) {
    const key = JSON.stringify([d.Dimensions ?? [], (d.Timestamp as Date).getTime()]);
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const lines: string[] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += MAX_EMF_METRICS) {
      const slice = group.slice(i, i + MAX_EMF_METRICS);
      const first = slice[0]!;
      const dims = first.Dimensions ?? [];
      const doc: Record<string, unknown> = {
        _aws: {
          Timestamp: (first.Timestamp as Date).getTime(),
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [dims.map((d) => d.Name!)],
              Metrics: slice.map((d) => ({ Name: d.MetricName!, Unit: d.Unit! })),
            },
          ],
        },
        ...Object.fromEntries(dims.map((d) => [d.Name!, d.Value!])),
      };
      for (const d of slice) doc[d.MetricName!] = d.Value;
      lines.push(JSON.stringify(doc));
    }
  }
  return lines;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function publishMetrics(datums: readonly Datum[], deps: PublisherDeps): Promise<PublishReport> {
  return publishMetricData(datums.map(toMetricDatum), deps);
}

/** publishMetrics for SDK datums: the same batching, retries and EMF fallback for metrics outside METRICS. */
export async function publishMetricData(datums: readonly MetricDatum[], deps: PublisherDeps): Promise<PublishReport> {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const writeLine = deps.writeLine ?? ((line: string) => process.stdout.write(`${line}\n`));
  let requests = 0;
  let retries = 0;
  let published = 0;
  let emfFallback = 0;
  const errors: string[] = [];

  for (const group of batchBy(datums, (d) => JSON.stringify(d).length + 64)) {
    const command = new PutMetricDataCommand({ Namespace: deps.namespace, MetricData: group });
    let attempt = 0;
    for (;;) {
      attempt += 1;
      requests += 1;
      try {
        await deps.client.send(command);
        published += group.length;
        break;
      } catch (err) {
        if (attempt < retry.maxAttempts && isRetryable(err)) {
          retries += 1;
          // Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): spreads out the
          // retries of many shards that were throttled together.
          const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
          await sleep(Math.floor(random() * cap));
          continue;
        }
        errors.push(`${describeError(err)} after ${attempt} attempt${attempt === 1 ? '' : 's'}`);
        for (const line of emfLinesOf(deps.namespace, group)) writeLine(line);
        emfFallback += group.length;
        break;
      }
    }
  }
  return { datums: datums.length, requests, retries, published, emfFallback, errors };
}
