/**
 * What both TLS-RPT receivers read from their environment, and their AWS clients
 * (bounded timeouts, no SDK retries: the engine retries itself).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DEFAULT_NAMESPACE } from '../engine/metrics/definitions.js';
import type { IngestDeps } from '../engine/tlsrpt/ingest.js';
import { DEFAULT_TLSRPT_LIMITS, dayOf, DynamoDayCounters, type TlsRptLimits } from '../engine/tlsrpt/limits.js';
import { sendDigest, type DigestOutcome } from '../engine/tlsrpt/digest.js';
import type { DomainTarget } from '../engine/tlsrpt/metrics.js';
import { TLSRPT_ENV } from '../engine/shard/tlsrpt-env.js';
import { jsonLog } from '../engine/log.js';

export { TLSRPT_ENV };

const SDK_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 10_000 } as const;

export interface ReceiverDeps {
  readonly s3?: IngestDeps['s3'];
  readonly cloudwatch?: IngestDeps['cloudwatch'];
  readonly sns?: IngestDeps['sns'];
  readonly dynamodb?: Pick<DynamoDBClient, 'send'>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly writeLine?: (line: string) => void;
  readonly backoff?: IngestDeps['backoff'];
}

export function parseDomainTargets(raw: string | undefined): DomainTarget[] {
  const parsed: unknown = JSON.parse(raw ?? '[]');
  if (!Array.isArray(parsed)) throw new Error(`${TLSRPT_ENV.domains} must be a JSON array`);
  return parsed.map((t: { domain?: unknown; name?: unknown; mtaSts?: unknown }) => {
    if (typeof t.domain !== 'string' || typeof t.name !== 'string') {
      throw new Error(`${TLSRPT_ENV.domains}: each entry needs "domain" and "name"`);
    }
    return { domain: t.domain.toLowerCase().replace(/\.$/, ''), name: t.name, mtaSts: t.mtaSts === true };
  });
}

/** Absent keys take the defaults; a value that is not a positive integer is a deployment error. */
export function parseLimits(raw: string | undefined): TlsRptLimits {
  const parsed: unknown = JSON.parse(raw ?? '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${TLSRPT_ENV.limits} must be a JSON object`);
  }
  const limits: Record<string, number> = { ...DEFAULT_TLSRPT_LIMITS };
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in DEFAULT_TLSRPT_LIMITS)) throw new Error(`${TLSRPT_ENV.limits}: unknown limit ${key}`);
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new Error(`${TLSRPT_ENV.limits}.${key} must be a positive integer`);
    }
    limits[key] = value as number;
  }
  return limits as unknown as TlsRptLimits;
}

export function parseTrustedSubmitters(raw: string | undefined): string[] {
  const parsed: unknown = JSON.parse(raw ?? '[]');
  if (!Array.isArray(parsed) || parsed.some((d) => typeof d !== 'string')) {
    throw new Error(`${TLSRPT_ENV.trustedSubmitters} must be a JSON array of domains`);
  }
  return (parsed as string[]).map((d) => d.toLowerCase().replace(/\.$/, ''));
}

/** Built once per warm function; throws (a deployment error) when the environment is wrong. */
export function ingestDepsFrom(deps: ReceiverDeps): IngestDeps {
  const env = deps.env ?? process.env;
  const bucket = env[TLSRPT_ENV.bucket];
  if (!bucket) throw new Error(`${TLSRPT_ENV.bucket} is not set`);
  const tableName = env[TLSRPT_ENV.stateTable];
  // Without the counters the limits would not hold: refuse to run rather than run open.
  if (!tableName) throw new Error(`${TLSRPT_ENV.stateTable} is not set`);
  const topicArn = env[TLSRPT_ENV.alertTopicArn];
  return {
    s3: deps.s3 ?? new S3Client({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }),
    bucket,
    cloudwatch: deps.cloudwatch ?? new CloudWatchClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }),
    namespace: env[TLSRPT_ENV.namespace] ?? DEFAULT_NAMESPACE,
    ...(topicArn ? { topicArn, sns: deps.sns ?? new SNSClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }) } : {}),
    targets: parseDomainTargets(env[TLSRPT_ENV.domains]),
    now: deps.now ?? Date.now,
    counters: new DynamoDayCounters({
      client: deps.dynamodb ?? new DynamoDBClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }),
      tableName,
      ...deps.backoff,
    }),
    limits: parseLimits(env[TLSRPT_ENV.limits]),
    trustedSubmitters: parseTrustedSubmitters(env[TLSRPT_ENV.trustedSubmitters]),
    writeLine: deps.writeLine ?? ((line: string) => void process.stdout.write(`${line}\n`)),
    ...(deps.backoff ? { backoff: deps.backoff } : {}),
  };
}

/**
 * The scheduled digest run (lib/tlsrpt-receiver.ts: an EventBridge Scheduler schedule invokes
 * a receiver function with this input each morning): yesterday's uncorroborated reports.
 */
export interface DigestEvent {
  readonly tlsrptDigest: 'yesterday' | string;
}

export function isDigestEvent(event: unknown): event is DigestEvent {
  return typeof event === 'object' && event !== null && typeof (event as DigestEvent).tlsrptDigest === 'string';
}

export async function runDigest(event: DigestEvent, ingest: IngestDeps): Promise<DigestOutcome> {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(event.tlsrptDigest) ? event.tlsrptDigest : dayOf(ingest.now() - 86_400_000);
  const outcome = await sendDigest(day, {
    counters: ingest.counters,
    s3: ingest.s3,
    bucket: ingest.bucket,
    ...(ingest.sns && ingest.topicArn ? { sns: ingest.sns, topicArn: ingest.topicArn } : {}),
    writeLine: ingest.writeLine,
    ...ingest.backoff,
  });
  jsonLog(ingest.writeLine)({ level: 'info', msg: 'tlsrpt digest', ...outcome });
  return outcome;
}
