/**
 * The body every probe function shares: run the shard's checks, log one JSON line per
 * result (the result contract, schema/mailprobe.result.schema.json, secrets masked, with what changed since the last run),
 * publish the §5 metrics, send change notifications, record the state in DynamoDB, and
 * return a summary. Each `lambdas/handlers/<kind>.ts` is a
 * one-line entry point so each function gets its own bundle.
 *
 * Lines go straight to stdout, not through console.log: with the Lambda runtime's text
 * log format, stdout lines reach CloudWatch Logs unchanged, so Logs Insights discovers
 * the JSON fields and EMF lines are recognised as metrics.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { AlertSummary } from '../engine/alerts/probe-state.js';
import { snsNotifier } from '../engine/alerts/sns.js';
import { targetOf, type CheckSpec } from '../engine/checks.js';
import { parseTrustAnchors } from '../engine/dnssec/anchors.js';
import { datumsForRun } from '../engine/metrics/from-result.js';
import { DEFAULT_NAMESPACE } from '../engine/metrics/definitions.js';
import { publishMetrics, type PublishReport, type PublisherDeps } from '../engine/metrics/publisher.js';
import { createResolver, dnsQueryTimeoutMs } from '../engine/net/resolver.js';
import { systemClock } from '../engine/deadline.js';
import { createContext, DEFAULT_TIMEOUT_MS, type ProbeContext } from '../engine/context.js';
import type { CheckKind } from '../engine/result.js';
import type { CheckResult } from '../engine/run/all.js';
import type { PoolOptions } from '../engine/run/pool.js';
import { DynamoStateStore } from '../engine/state/dynamodb.js';
import { clearCredentialCache } from '../engine/secrets.js';
import { loadShardEvent } from '../engine/shard/artifact.js';
import { jsonLog } from '../engine/log.js';
import { targetAlertPolicy } from '../engine/shard/alerting.js';
import { runShard, stateKeyOf, type ShardState } from '../engine/shard/run-shard.js';
import { ENV } from '../engine/shard/env.js';
import { heartbeatDatums, type HeartbeatOutcome } from '../engine/metrics/heartbeat.js';
import { isHeartbeatEvent, parseShardEvent, ShardEventError, type ShardEvent } from '../engine/shard/event.js';

export { ENV };

export interface ProbeSummary {
  readonly shard: string;
  readonly check: CheckKind;
  readonly checks: number;
  readonly ok: number;
  readonly warning: number;
  readonly critical: number;
  readonly metrics: PublishReport;
  /** Absent when neither an alert topic nor a state table is configured. */
  readonly alerts?: AlertSummary;
  /** A heartbeat invocation (no checks run): what it republished. */
  readonly heartbeat?: Omit<HeartbeatOutcome, 'datums'>;
}

type SpecOf<K extends CheckKind> = Extract<CheckSpec, { readonly check: K }>;

/**
 * Runs a shard's specs. Each entry point passes its kind's runner (lambdas/engine/run/),
 * so a bundle holds only the code of its own check.
 */
export type RunChecks<K extends CheckKind> = (
  specs: readonly SpecOf<K>[],
  ctx: ProbeContext,
  options?: PoolOptions,
) => Promise<CheckResult[]>;

export interface ProbeHandlerDeps {
  readonly cloudwatch?: CloudWatchClient;
  readonly sns?: SNSClient;
  /** The state table's client (tests point it at dynalite). */
  readonly dynamodb?: DynamoDBClient;
  /** Passed to the state store (tests inject a sleep that does not wait). */
  readonly stateRetry?: { readonly sleep?: (ms: number) => Promise<void>; readonly maxAttempts?: number };
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly writeLine?: (line: string) => void;
  /** Resolver, trust anchors and clock for tests; thresholds and allowPrivate come from the shard. */
  readonly context?: Partial<Pick<ProbeContext, 'resolver' | 'extraCa' | 'clock' | 'timeoutMs'>>;
  /** Passed to the publisher (tests inject a sleep that does not wait). */
  readonly publisher?: Pick<PublisherDeps, 'sleep' | 'random' | 'retry'>;
}

/**
 * The SDK sets no connection or request timeout by default: a stalled PutMetricData would
 * never count as failed, so neither the retry nor the EMF fallback would run before the
 * function timed out. Bounded calls let the publishers' own retries and fallback work.
 */
export const SDK_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 10_000 } as const;
/** DynamoDB answers in milliseconds; a call that takes seconds is better retried (or given up). */
export const STATE_SDK_TIMEOUTS = { connectionTimeout: 2_000, requestTimeout: 3_000 } as const;
/** The state store's retries end within this budget, and within the per-check deadline. */
const STATE_BUDGET_MS = 8_000;

/**
 * The shard's DNS settings: with `dnsServer`, every lookup (a resolver of its own, its query
 * timeout sized to the deadline as the CLI's) and every DNSSEC query go to that server;
 * without it, the system's resolver. A resolver the deps inject (tests) wins.
 */
function shardDns(
  shard: ShardEvent,
  overrides: ProbeHandlerDeps['context'],
): Partial<Pick<ProbeContext, 'resolver' | 'dnssec'>> {
  const server = shard.dnsServer;
  const dnssec = {
    ...(server !== undefined ? { server } : {}),
    ...(shard.trustAnchors !== undefined ? { anchors: parseTrustAnchors(shard.trustAnchors) } : {}),
  };
  const timeoutMs = overrides?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const resolver =
    overrides?.resolver ??
    (server !== undefined ? createResolver({ server, timeoutMs: dnsQueryTimeoutMs(timeoutMs) }) : undefined);
  return {
    ...(resolver !== undefined ? { resolver } : {}),
    ...(Object.keys(dnssec).length > 0 ? { dnssec } : {}),
  };
}

export function createProbeHandler<K extends CheckKind>(kind: K, runChecks: RunChecks<K>, deps: ProbeHandlerDeps = {}) {
  // Clients live across invocations of a warm function. maxAttempts 1: the publishers retry themselves.
  let cloudwatch = deps.cloudwatch;
  let sns = deps.sns;
  let dynamodb = deps.dynamodb;
  const writeLine = deps.writeLine ?? ((line: string) => void process.stdout.write(`${line}\n`));

  return async function handler(event: unknown): Promise<ProbeSummary> {
    const env = deps.env ?? process.env;
    const shard = parseShardEvent(await loadShardEvent(event), kind);
    const runStartedAt = new Date();
    const namespace = env[ENV.namespace] ?? DEFAULT_NAMESPACE;
    cloudwatch ??= new CloudWatchClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS });
    if (isHeartbeatEvent(event)) {
      const tableName = env[ENV.stateTableName];
      const settings = shard.metrics;
      // A heartbeat schedule without its settings or table is a deployment bug: fail into the DLQ.
      if (settings?.heartbeat === undefined)
        throw new ShardEventError(`shard ${shard.shard} has no heartbeat settings, but a heartbeat invoked it`);
      if (!tableName) throw new ShardEventError(`a heartbeat needs the state table: ${ENV.stateTableName} is not set`);
      const clock = deps.context?.clock ?? systemClock;
      dynamodb ??= new DynamoDBClient({ maxAttempts: 1, requestHandler: STATE_SDK_TIMEOUTS });
      const store = new DynamoStateStore({
        client: dynamodb,
        tableName,
        clock,
        budgetMs: STATE_BUDGET_MS,
        ...deps.stateRetry,
      });
      const targets = shard.specs.map((spec) => ({ check: spec.check, target: spec.name ?? targetOf(spec) }));
      const { datums, ...outcome } = await heartbeatDatums(store, targets, settings, clock.now());
      const metrics = await publishMetrics(datums, { client: cloudwatch, namespace, writeLine, ...deps.publisher });
      const summary: ProbeSummary = {
        shard: shard.shard,
        check: kind,
        checks: 0,
        ok: 0,
        warning: 0,
        critical: 0,
        metrics,
        heartbeat: outcome,
      };
      writeLine(JSON.stringify({ msg: 'heartbeat finished', ...summary }));
      return summary;
    }
    // A rotated secret must be picked up by the next run, not after the cache's TTL.
    clearCredentialCache();

    const ctx = createContext({
      ...deps.context,
      ...shardDns(shard, deps.context),
      thresholds: shard.thresholds,
      allowPrivate: shard.allowPrivate,
    });
    // parseShardEvent has checked that every spec is of this function's kind.
    const specs = shard.specs as readonly SpecOf<K>[];
    // Alerting's own text (SDK errors, config names) holds no password; results arrive masked.
    const logLine = jsonLog(writeLine, { shard: shard.shard });

    // The state is read before the checks (one BatchGetItem per 100 targets), so each result's
    // log line can say what changed since the last run.
    const tableName = env[ENV.stateTableName];
    const topicArn = env[ENV.alertTopicArn];
    let state: ShardState | undefined;
    if (tableName) {
      dynamodb ??= new DynamoDBClient({ maxAttempts: 1, requestHandler: STATE_SDK_TIMEOUTS });
      if (topicArn) sns ??= new SNSClient({ maxAttempts: 1, requestHandler: SDK_TIMEOUTS });
      const client = sns;
      const sleep = deps.publisher?.sleep;
      const dashboardName = env[ENV.dashboardName];
      const queryName = env[ENV.queryName];
      const region = env['AWS_REGION'];
      state = {
        store: new DynamoStateStore({
          client: dynamodb,
          tableName,
          clock: ctx.clock,
          budgetMs: Math.min(STATE_BUDGET_MS, ctx.timeoutMs),
          ...deps.stateRetry,
        }),
        // Without a topic the state (and so change detection) is still kept; nothing is sent.
        notify:
          client !== undefined && topicArn
            ? snsNotifier({ ...(sleep ? { sleep } : {}), client, topicArn, log: logLine })
            : async () => false,
        policyFor: (result) =>
          topicArn ? targetAlertPolicy(shard.alerts, result.name ?? result.target) : { enabled: false },
        ...(dashboardName && queryName && region ? { links: { region, dashboardName, queryName } } : {}),
        ...(env[ENV.alertFormat] === 'chatbot' ? { format: 'chatbot' as const } : {}),
      };
    } else if (topicArn) {
      logLine({ level: 'error', msg: `notifications need the state table: ${ENV.stateTableName} is not set` });
    }

    const cw = cloudwatch;
    const { results, published, alerts } = await runShard<CheckResult, PublishReport>({
      keys: specs.map((spec) => stateKeyOf(spec, targetOf(spec))),
      // Each check masks its own target's secrets in its own result (smtp/check.ts); masking
      // here with every secret of the shard would garble other targets' text (a one-letter
      // password turning "smtp" into "smt********" in a neighbour's subject).
      run: (onResult) => runChecks(specs, ctx, { concurrency: shard.concurrency, onResult }),
      // Each result is logged as soon as it is ready: if something later hangs until the
      // function times out, the results already known are not lost with it.
      onResult: (result) => writeLine(JSON.stringify(result)),
      publish: (annotated) =>
        publishMetrics(datumsForRun(annotated, shard.metrics, kind, runStartedAt), {
          client: cw,
          namespace,
          writeLine,
          ...deps.publisher,
        }),
      ...(state ? { state } : {}),
      clock: ctx.clock,
      log: logLine,
    });
    const metrics = published!;

    const count = (status: string) => results.filter((r) => r.status === status).length;
    const summary: ProbeSummary = {
      shard: shard.shard,
      check: kind,
      checks: results.length,
      ok: count('ok'),
      warning: count('warning'),
      critical: count('critical'),
      metrics,
      ...(alerts !== undefined ? { alerts } : {}),
    };
    writeLine(JSON.stringify({ msg: 'probe run finished', ...summary }));
    return summary;
  };
}
