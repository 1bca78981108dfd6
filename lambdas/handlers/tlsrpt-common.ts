/**
 * What both TLS-RPT receivers read from their environment, and their AWS clients
 * (bounded timeouts, no SDK retries: the engine retries itself).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DEFAULT_NAMESPACE } from '../engine/metrics/definitions.js';
import type { IngestDeps } from '../engine/tlsrpt/ingest.js';
import type { DomainTarget } from '../engine/tlsrpt/metrics.js';
import { TLSRPT_ENV } from './tlsrpt-env.js';

export { TLSRPT_ENV };

const SDK_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 10_000 } as const;

export interface ReceiverDeps {
  readonly s3?: IngestDeps['s3'];
  readonly cloudwatch?: IngestDeps['cloudwatch'];
  readonly sns?: IngestDeps['sns'];
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

/** Built once per warm function; throws (a deployment error) when the environment is wrong. */
export function ingestDepsFrom(deps: ReceiverDeps): IngestDeps {
  const env = deps.env ?? process.env;
  const bucket = env[TLSRPT_ENV.bucket];
  if (!bucket) throw new Error(`${TLSRPT_ENV.bucket} is not set`);
  const topicArn = env[TLSRPT_ENV.alertTopicArn];
  return {
    s3: deps.s3 ?? new S3Client({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }),
    bucket,
    cloudwatch: deps.cloudwatch ?? new CloudWatchClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }),
    namespace: env[TLSRPT_ENV.namespace] ?? DEFAULT_NAMESPACE,
    ...(topicArn ? { topicArn, sns: deps.sns ?? new SNSClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS }) } : {}),
    targets: parseDomainTargets(env[TLSRPT_ENV.domains]),
    now: deps.now ?? Date.now,
    writeLine: deps.writeLine ?? ((line: string) => void process.stdout.write(`${line}\n`)),
    ...(deps.backoff ? { backoff: deps.backoff } : {}),
  };
}
