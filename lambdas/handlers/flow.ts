/**
 * Entry point of the `flow` probe function. The shared pipeline (probe.ts: metrics, state,
 * change notifications) runs the flows; this file only adds what a flow needs on top: the
 * deployment's token key (Secrets Manager, read once per invocation, never logged) and the
 * flows' send/arrival log in the state table (flow/log-store.ts), both passed to the engine.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseFlowKey } from '../engine/flow/token.js';
import { runFlowChecks } from '../engine/run/flow.js';
import { readSecretString } from '../engine/secrets.js';
import { FLOW_ENV } from '../engine/flow/env.js';
import { ENV } from '../engine/shard/env.js';
import { ShardEventError } from '../engine/shard/event.js';
import { DynamoStateStore } from '../engine/state/dynamodb.js';
import { createProbeHandler, STATE_SDK_TIMEOUTS, type ProbeHandlerDeps } from './probe.js';

export interface FlowHandlerDeps extends ProbeHandlerDeps {
  /** Reads the token key and the IMAP / relay credentials (tests: aws-sdk-client-mock). */
  readonly secretsManager?: SecretsManagerClient;
  /** Pause between IMAP looks (the engine's default when absent). */
  readonly pollIntervalMs?: number;
}

/** The flow log's writes retry a few conflicts; each call is bounded like the pipeline's own state calls. */
const FLOW_LOG_BUDGET_MS = 8_000;

export function createFlowHandler(deps: FlowHandlerDeps = {}) {
  let dynamodb = deps.dynamodb;
  return createProbeHandler(
    'flow',
    async (specs, ctx, options) => {
      const env = deps.env ?? process.env;
      const keyArn = env[FLOW_ENV.keySecretArn];
      const tableName = env[ENV.stateTableName];
      // Both are set by the construct (lib/flow-probes.ts): without them a run could send but never
      // settle, so it fails (and lands in the dead-letter queue, the Errors alarm pages) instead.
      if (!keyArn) throw new ShardEventError(`the flow function needs ${FLOW_ENV.keySecretArn} (the token key)`);
      if (!tableName) throw new ShardEventError(`the flow function needs ${ENV.stateTableName} (the flow log)`);
      const secrets = deps.secretsManager !== undefined ? { secretsManager: deps.secretsManager } : {};
      const key = parseFlowKey(
        await readSecretString(keyArn, { ...secrets, abortSignal: AbortSignal.timeout(ctx.timeoutMs) }),
      );
      dynamodb ??= new DynamoDBClient({ maxAttempts: 1, requestHandler: STATE_SDK_TIMEOUTS });
      const store = new DynamoStateStore({
        client: dynamodb,
        tableName,
        clock: ctx.clock,
        budgetMs: Math.min(FLOW_LOG_BUDGET_MS, ctx.timeoutMs),
        ...deps.stateRetry,
      });
      return runFlowChecks(specs, ctx, {
        ...options,
        deps: {
          key,
          store,
          credentials: { ...secrets, env },
          ...(deps.pollIntervalMs !== undefined ? { pollIntervalMs: deps.pollIntervalMs } : {}),
        },
      });
    },
    deps,
  );
}

export const handler = createFlowHandler();
