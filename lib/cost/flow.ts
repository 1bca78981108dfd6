/**
 * The monthly cost of the deployed mail flows (`mailprobe cost`, the bench's per-flow line).
 * Pure, as model.ts: prices from prices.ts and the few Secrets Manager / SES / S3 prices below,
 * usage from the flow plan (lib/config/flow-plan.ts) and the assumptions listed here.
 *
 * Each flow's line is everything it adds: its schedule's invocations and their Lambda time
 * (the send and one IMAP look, or for SES receiving the receiver's run per message), its
 * metrics and alarm, its flow-log traffic in the state table, its secret reads, its log
 * lines, and the mail itself where SES carries it. What the flows share (the token key, the
 * reporting alarm per interval, the flow function's three function alarms, the per-kind
 * counts) is one fixed line each. Flows are few: priced at the first volume tier.
 */
import {
  KIND_METRICS_BY_MODE,
  METRICS,
  TARGET_METRICS_BY_MODE,
  type MetricsMode,
} from '../../lambdas/engine/metrics/definitions.js';
import type { FlowPlan, PlannedFlow } from '../config/flow-plan.js';
import type { Plan } from '../config/plan.js';
import type { CostEstimate, CostItem, TargetCost } from './model.js';
import {
  CHECK_SECONDS,
  hoursWithDataRatio,
  INVOCATION_LOG_BYTES,
  INVOCATION_OVERHEAD_SECONDS,
  RESULT_LINE_BYTES,
} from './model.js';
import { HOURS_PER_MONTH, PRICES } from './prices.js';

/** us-east-1 list prices (checked 2026-12-05): Secrets Manager, SES, S3 Standard. */
export const FLOW_PRICES = {
  secretMonth: 0.4,
  secretApiPer10000: 0.05,
  sesSendPer1000: 0.1,
  sesReceivePer1000: 0.1,
  /** SES receiving bills each incoming 256 KB chunk too; a flow message is one chunk. */
  sesReceiveChunkPer1000: 0.09,
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
} as const;

/**
 * Flow-log traffic per run (flow/log-store.ts): the send is logged (read + conditional write),
 * the settlement is logged (read + write), the alert pipeline reads and writes the flow's state.
 */
export const FLOW_STATE_READS_PER_RUN = 3;
export const FLOW_STATE_WRITES_PER_RUN = 3;
/** The SES receiver per message: the flow log read and written once, the message fetched from S3. */
export const FLOW_RECEIVER_STATE_RW = 1;
/** A flow run with SES receiving: the send, and the flow log read (no mailbox to look into). */
export const FLOW_SES_RUN_SECONDS = 1.5;
/** The SES receiver's run per message (read from S3, verify the token, log it), at its memory. */
export const FLOW_RECEIVER_SECONDS = 0.3;
export const FLOW_RECEIVER_MEMORY_MB = 256;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GB = 1e9;
/** The per-target metrics a flow publishes at all (from-result.ts); which of them go out is the mode's choice. */
const FLOW_METRICS = new Set<string>(['Success', 'Duration', 'FindingCount', 'Delivered', 'DeliverySeconds']);
const SES_SMTP_ENDPOINT = /^email-smtp(-fips)?\.[a-z0-9-]+\.amazonaws\.com\.?$/i;

export const FLOW_ASSUMPTIONS: readonly string[] = [
  `a flow run takes ${CHECK_SECONDS.flow} s of Lambda time with IMAP (the send and one mailbox look), ${FLOW_SES_RUN_SECONDS} s with SES receiving, plus ${INVOCATION_OVERHEAD_SECONDS} s start-up; the scheduled run does not wait for its message, the next run settles it`,
  `a flow run reads ${FLOW_STATE_READS_PER_RUN} and writes ${FLOW_STATE_WRITES_PER_RUN} state-table items, and reads its secrets (token key, relay and mailbox logins) once each`,
  `SES receiving: $${FLOW_PRICES.sesReceivePer1000} per 1,000 messages and $${FLOW_PRICES.sesReceiveChunkPer1000} per 1,000 256 KB chunks, one S3 PUT and GET each, the receiver ${FLOW_RECEIVER_SECONDS} s at ${FLOW_RECEIVER_MEMORY_MB} MB; sending through SES $${FLOW_PRICES.sesSendPer1000} per 1,000`,
];

export function flowMetricNames(mode: MetricsMode): string[] {
  return TARGET_METRICS_BY_MODE[mode].filter((m) => FLOW_METRICS.has(m)).map((m) => METRICS[m].name);
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

export interface FlowCostOptions {
  readonly metricsMode: MetricsMode;
  readonly memoryMb: number;
  /** The flow's relay is an SES SMTP endpoint: SES bills the message. */
  readonly viaSes: boolean;
}

/** One flow's monthly items. */
export function flowCostItems(flow: PlannedFlow, o: FlowCostOptions): CostItem[] {
  const runs = SECONDS_PER_MONTH / flow.periodSeconds;
  const gb = o.memoryMb / 1024;
  const metrics = flowMetricNames(o.metricsMode).length;
  const secretsPerRun = 3;
  const items: CostItem[] = [
    {
      item: 'schedule and Lambda',
      usd:
        (runs / 1e6) * (PRICES.schedulerPerMillion + PRICES.lambdaRequestsPerMillion) +
        runs *
          ((flow.receive === 'imap' ? CHECK_SECONDS.flow : FLOW_SES_RUN_SECONDS) + INVOCATION_OVERHEAD_SECONDS) *
          gb *
          PRICES.lambdaArmGbSecond,
    },
    { item: 'custom metrics', usd: metrics * PRICES.customMetricMonth * hoursWithDataRatio(flow.periodSeconds) },
    // The Delivered alarm: a classic alarm, or this flow's series in the Metrics Insights one (both one alarm metric).
    { item: 'alarms', usd: PRICES.alarmMetricMonth },
    { item: 'PutMetricData requests', usd: (runs / 1000) * PRICES.apiRequestsPer1000 },
    {
      item: 'state table (DynamoDB)',
      usd:
        (runs / 1e6) *
        (FLOW_STATE_READS_PER_RUN * PRICES.dynamoReadPerMillion +
          FLOW_STATE_WRITES_PER_RUN * PRICES.dynamoWritePerMillion),
    },
    { item: 'Secrets Manager reads', usd: ((runs * secretsPerRun) / 10_000) * FLOW_PRICES.secretApiPer10000 },
    {
      item: 'log ingestion and storage',
      usd:
        ((runs * (RESULT_LINE_BYTES.flow + INVOCATION_LOG_BYTES)) / GB) *
        (PRICES.logIngestionPerGb + PRICES.logStoragePerGbMonth),
    },
  ];
  if (o.viaSes) items.push({ item: 'SES sending', usd: (runs / 1000) * FLOW_PRICES.sesSendPer1000 });
  if (flow.receive === 'ses') {
    const receiverGb = FLOW_RECEIVER_MEMORY_MB / 1024;
    items.push({
      item: 'SES receiving, S3 and the receiver',
      usd:
        (runs / 1000) *
          (FLOW_PRICES.sesReceivePer1000 +
            FLOW_PRICES.sesReceiveChunkPer1000 +
            FLOW_PRICES.s3PutPer1000 +
            FLOW_PRICES.s3GetPer1000) +
        (runs / 1e6) * PRICES.lambdaRequestsPerMillion +
        runs * FLOW_RECEIVER_SECONDS * receiverGb * PRICES.lambdaArmGbSecond +
        (runs / 1e6) * FLOW_RECEIVER_STATE_RW * (PRICES.dynamoReadPerMillion + PRICES.dynamoWritePerMillion),
    });
  }
  return items.map((i) => ({ item: i.item, usd: round(i.usd) }));
}

/** What the flows share: the token key, the reporting alarm and per-kind count per interval, the function alarms. */
export function flowFixedItems(flows: FlowPlan, metricsMode: MetricsMode): CostItem[] {
  const intervals = new Map(flows.flows.map((f) => [f.interval, f.periodSeconds]));
  const kindMetrics = [...intervals.values()].reduce(
    (usd, period) =>
      usd + KIND_METRICS_BY_MODE[metricsMode].length * PRICES.customMetricMonth * hoursWithDataRatio(period),
    0,
  );
  return [
    { item: 'flows: token key (Secrets Manager)', usd: FLOW_PRICES.secretMonth },
    {
      item: 'flows: reporting alarms and per-kind counts',
      usd: round(intervals.size * PRICES.alarmMetricMonth + kindMetrics),
    },
    { item: 'flows: function alarms (errors, throttles, duration)', usd: round(3 * PRICES.alarmMetricMonth) },
  ];
}

/** The flows' cost lines, one per flow. */
export function flowTargetCosts(plan: Plan): TargetCost[] {
  const flows = plan.flows;
  if (flows === undefined) return [];
  return flows.flows.map((flow) => {
    const spec = flows.shards.find((s) => s.shard === flow.shard)?.specs[0];
    const viaSes = spec?.check === 'flow' && SES_SMTP_ENDPOINT.test(spec.via.host);
    const items = flowCostItems(flow, { metricsMode: plan.metricsMode, memoryMb: flows.capacity.memoryMb, viaSes });
    return { name: flow.name, checks: ['flow'], usd: round(items.reduce((a, i) => a + i.usd, 0)), items };
  });
}

/** The estimate of model.ts with the flows added: their lines, their fixed items, the totals. */
export function withFlowCosts(estimate: CostEstimate, plan: Plan): CostEstimate {
  if (plan.flows === undefined) return estimate;
  const targets = flowTargetCosts(plan);
  const fixed = flowFixedItems(plan.flows, plan.metricsMode);
  const byItem = new Map(estimate.items.map((i) => [i.item, i.usd]));
  for (const t of targets) for (const i of t.items) byItem.set(i.item, (byItem.get(i.item) ?? 0) + i.usd);
  const added = targets.reduce((a, t) => a + t.usd, 0) + fixed.reduce((a, i) => a + i.usd, 0);
  return {
    ...estimate,
    totalUsd: round(estimate.totalUsd + added),
    fixedUsd: round(estimate.fixedUsd + fixed.reduce((a, i) => a + i.usd, 0)),
    targets: [...estimate.targets, ...targets],
    items: [...byItem.entries()].map(([item, usd]) => ({ item, usd: round(usd) })),
    fixedItems: [...estimate.fixedItems, ...fixed],
    assumptions: [...estimate.assumptions, ...FLOW_ASSUMPTIONS],
  };
}
