/**
 * Entry point of the flow receiver: the SES receipt rule stores each message sent to a flow
 * address in the bucket (S3 action, under `flow/`) and then invokes this function with the
 * receipt event (Lambda action, Event invocation), which carries SES's verdicts. Each
 * message's token is verified with the deployment's key and the arrival is logged in the
 * flow's log in the state table (flow/ses-receiver.ts), where the flow's next run settles it.
 *
 * A message without a valid token (spam to the flow address, a forgery) is logged as
 * ignored and not retried. Only failures worth a retry (S3, DynamoDB or Secrets Manager
 * unavailable) throw: Lambda retries the event, then dead-letters it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock, type Clock } from '../engine/deadline.js';
import { receiveFlowMail, s3ObjectGetter, type ReceiverOutcome } from '../engine/flow/ses-receiver.js';
import { parseFlowKey } from '../engine/flow/token.js';
import { readSecretString } from '../engine/secrets.js';
import { FLOW_ENV } from '../engine/flow/env.js';
import { ENV } from '../engine/shard/env.js';
import { DynamoStateStore } from '../engine/state/dynamodb.js';

/** Bounded SDK calls (as probe.ts's): a stalled request fails and Lambda retries the event. */
const S3_SDK_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 10_000 } as const;
const STATE_SDK_TIMEOUTS = { connectionTimeout: 2_000, requestTimeout: 3_000 } as const;
/** Secrets Manager reads of the key are bounded: the event is retried by Lambda if this runs out. */
const KEY_READ_TIMEOUT_MS = 10_000;

export interface FlowReceiverDeps {
  readonly s3?: S3Client;
  readonly dynamodb?: DynamoDBClient;
  readonly secretsManager?: SecretsManagerClient;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  readonly writeLine?: (line: string) => void;
  readonly stateRetry?: { readonly sleep?: (ms: number) => Promise<void>; readonly maxAttempts?: number };
}

export function createFlowReceiverHandler(deps: FlowReceiverDeps = {}) {
  let s3 = deps.s3;
  let dynamodb = deps.dynamodb;
  const writeLine = deps.writeLine ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const clock = deps.clock ?? systemClock;

  return async function handler(event: unknown): Promise<ReceiverOutcome[]> {
    const env = deps.env ?? process.env;
    const bucket = env[FLOW_ENV.bucket];
    const keyArn = env[FLOW_ENV.keySecretArn];
    const tableName = env[ENV.stateTableName];
    if (!bucket || !keyArn || !tableName) {
      // A deployment bug: fail, so the event is retried and dead-lettered rather than lost unseen.
      throw new Error(`the flow receiver needs ${FLOW_ENV.bucket}, ${FLOW_ENV.keySecretArn} and ${ENV.stateTableName}`);
    }
    const key = parseFlowKey(
      await readSecretString(keyArn, {
        ...(deps.secretsManager ? { secretsManager: deps.secretsManager } : {}),
        abortSignal: AbortSignal.timeout(KEY_READ_TIMEOUT_MS),
      }),
    );
    s3 ??= new S3Client({ maxAttempts: 3, requestHandler: S3_SDK_TIMEOUTS });
    dynamodb ??= new DynamoDBClient({ maxAttempts: 1, requestHandler: STATE_SDK_TIMEOUTS });
    const store = new DynamoStateStore({ client: dynamodb, tableName, clock, ...deps.stateRetry });
    const outcomes = await receiveFlowMail(event, {
      key,
      store,
      getObject: s3ObjectGetter(s3, bucket),
      now: () => clock.now(),
    });
    // No token values in the log: they are only proof for this deployment, but nothing needs them here.
    for (const o of outcomes) writeLine(JSON.stringify({ msg: 'flow mail received', ...o }));
    return outcomes;
  };
}

export const handler = createFlowReceiverHandler();
