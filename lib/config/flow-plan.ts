/**
 * `flows[]` → what a deployment runs for them: one shard per flow (its own schedule, so each
 * flow keeps its own rhythm and a slow relay delays no other flow), the secrets the flow
 * function reads, and the alarm layout. Pure, like plan.ts, which calls it and carries the
 * result as `plan.flows`.
 *
 * Flows stay out of `plan.shards`: their specs point at a relay among the targets rather than
 * being targets, they need the deployment's token key, and `mailprobe run --config` runs them
 * through its own path (bin/cli/run.ts) with the key it is given.
 */
import { FLOW_DEFAULTS } from '../../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS, DEFAULT_TIMEOUT_MS } from '../../lambdas/engine/context.js';
import { assertSesReceivingRegion, SesRegionError } from '../../lambdas/engine/flow/ses-event.js';
import type { MetricsMode } from '../../lambdas/engine/metrics/definitions.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { KIND_CAPACITY, type KindCapacity } from './defaults.js';
import { expandFlows } from './expand.js';
import { fleetRouteOf } from './fleet-route.js';
import type { MailProbeConfig } from './schema.js';
import { alertPolicyOf, periodSecondsOf, scheduleSlug } from './shard.js';

/** A Metrics Insights query looks at 500 series at most; flows are a handful, this bounds a mistake. */
export const MAX_FLOWS = 100;

export interface PlannedFlow {
  readonly name: string;
  /** Its shard's ID (`flow-<name>`, lower case): also the construct ID of its schedule. */
  readonly shard: string;
  readonly schedule: string;
  readonly periodSeconds: number;
  /** The schedule's interval (`15m`): the Interval dimension of the per-kind counts. */
  readonly interval: string;
  readonly warnSeconds: number;
  readonly maxSeconds: number;
  readonly from: string;
  readonly to: string;
  readonly receive: 'imap' | 'ses';
}

/**
 * How a lost message pages. `per-flow`: one classic alarm per flow on Delivered. `insights`:
 * fleet mode, one Metrics Insights alarm over every flow (each lost flow a contributor), when
 * the shortest flow schedule fits Insights' 3-hour window (its period): a slower flow's 0 still
 * stays in the window for 3 periods.
 */
export type FlowAlarmLayout = 'per-flow' | 'insights';

/** SES receiving for the flows that use it: one receipt rule for their recipients (lib/flow-receiver.ts). */
export interface FlowSesReceiving {
  /** Where SES receives: must be the stack's region (checked when the stack's region is known). */
  readonly region: string;
  /** The flows' `to` addresses: the receipt rule's recipients. */
  readonly recipients: readonly string[];
  /** An existing active rule set to add the rule to. @default - a new rule set */
  readonly ruleSetName?: string;
}

export interface FlowPlan {
  readonly flows: readonly PlannedFlow[];
  readonly shards: readonly ShardEvent[];
  /** Secrets the flow function reads: the relays' and the mailboxes' logins (the token key is the stack's own). */
  readonly secretArns: readonly string[];
  readonly capacity: KindCapacity;
  readonly alarmLayout: FlowAlarmLayout;
  /** With `insights`: the alarm's period, the shortest flow schedule's. */
  readonly insightsPeriodSeconds?: number;
  /** When a flow receives through SES. */
  readonly sesReceiving?: FlowSesReceiving;
}

/**
 * The function and what it always brings (role and policy, log group, dead-letter queue and its
 * policy, scheduler role and policy, 3 function alarms, the token key, the latency widget's share):
 * measured on synthesized stacks, 14 whatever the flows.
 */
const FLOW_RESOURCES_FIXED = 14;
/** SES receiving (lib/flow-receiver.ts): bucket and its policy, receipt rule (and set), receiver function, role, policy, log group, queue, permission, Errors alarm. Measured: 13. */
const FLOW_RESOURCES_SES = 13;

/**
 * The CloudFormation resources the flows add to the stack, for the plan's estimate and its
 * 500-resource check: a schedule per flow, a Delivered alarm per flow (or one Metrics Insights
 * alarm), a reporting alarm per interval. Checked against synthesized stacks in test/lib/flow-probes.test.ts.
 */
export function flowResources(fp: FlowPlan): number {
  const intervals = new Set(fp.flows.map((f) => f.interval)).size;
  const deliveredAlarms = fp.alarmLayout === 'per-flow' ? fp.flows.length : 1;
  return (
    FLOW_RESOURCES_FIXED +
    fp.shards.length +
    deliveredAlarms +
    intervals +
    (fp.sesReceiving !== undefined ? FLOW_RESOURCES_SES : 0)
  );
}

/** What plan.ts has decided for the whole deployment. */
export interface FlowPlanOptions {
  readonly metricsMode: MetricsMode;
  /** plan-types.ts AlarmMode (not imported: plan-types.ts imports this file's FlowPlan). */
  readonly alarmMode: 'per-target' | 'fleet';
  /** The work budget of one invocation (shard.ts workBudgetMs). */
  readonly budgetMs: number;
}

function shardIdOf(name: string, taken: Set<string>): string {
  const base = `flow-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.replace(/-+$/, '');
  let id = base;
  // Names differing only in case or punctuation (`a.b`, `a_b`) still get distinct, stable IDs (config order).
  for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

/** The flows of a config, or undefined when it has none. Problems are collected, not thrown. */
export function planFlows(config: MailProbeConfig, problems: string[], o: FlowPlanOptions): FlowPlan | undefined {
  if ((config.flows ?? []).length === 0) return undefined;
  const entries = expandFlows(config, problems);
  if (entries.length > MAX_FLOWS) {
    problems.push(`flows: ${entries.length} flows, at most ${MAX_FLOWS} per deployment (each sends real mail)`);
  }
  const taken = new Set<string>();
  const flows: PlannedFlow[] = [];
  const shards: ShardEvent[] = [];
  const capacity: KindCapacity = KIND_CAPACITY.flow;
  for (const e of entries) {
    const spec = e.spec;
    const timeoutMs = spec.timeoutMs ?? config.defaults?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // A run sends under one deadline and reads the mailbox under another (flow/check.ts).
    if (2 * timeoutMs > o.budgetMs) {
      problems.push(
        `${e.where}.timeoutMs: a flow run takes up to twice its timeout (${timeoutMs} ms: the send, then the mailbox), more than the function's work budget of ${o.budgetMs} ms; lower timeoutMs or raise defaults.functionTimeoutSeconds`,
      );
    }
    const shard = shardIdOf(spec.name, taken);
    const interval = scheduleSlug(e.schedule);
    flows.push({
      name: spec.name,
      shard,
      schedule: e.schedule,
      periodSeconds: periodSecondsOf(e.schedule),
      interval,
      warnSeconds: spec.warnSeconds ?? FLOW_DEFAULTS.warnSeconds,
      maxSeconds: spec.maxSeconds ?? FLOW_DEFAULTS.maxSeconds,
      from: spec.from,
      to: spec.to,
      receive: 'ses' in spec.receive ? 'ses' : 'imap',
    });
    shards.push({
      version: 1,
      shard,
      check: 'flow',
      schedule: e.schedule,
      specs: [spec],
      // Certificate thresholds: the relay's certificate is graded by the smtp check, not here.
      thresholds: DEFAULT_THRESHOLDS,
      allowPrivate: config.allowPrivate ?? false,
      concurrency: 1,
      ...(config.dnsServer !== undefined ? { dnsServer: config.dnsServer } : {}),
      alerts: {
        ...alertPolicyOf(config.alerting?.notifications),
        ...(e.alerting !== undefined ? { targets: { [spec.name]: alertPolicyOf(e.alerting) } } : {}),
      },
      metrics: { mode: o.metricsMode, interval },
    });
  }
  const secretArns = new Set<string>();
  for (const e of entries) {
    const via = e.spec.via.auth;
    if (via !== undefined && 'secretArn' in via) secretArns.add(via.secretArn);
    if ('imap' in e.spec.receive && 'secretArn' in e.spec.receive.imap.auth)
      secretArns.add(e.spec.receive.imap.auth.secretArn);
  }
  const sesReceiving = sesReceivingOf(config, problems);
  const shortest = Math.min(...flows.map((f) => f.periodSeconds));
  const insights = o.alarmMode === 'fleet' && flows.length > 0 && fleetRouteOf(shortest) === 'direct';
  return {
    flows,
    shards,
    secretArns: [...secretArns].sort(),
    capacity,
    alarmLayout: insights ? 'insights' : 'per-flow',
    ...(insights ? { insightsPeriodSeconds: shortest } : {}),
    ...(sesReceiving !== undefined ? { sesReceiving } : {}),
  };
}

/**
 * The SES flows' one receipt rule. SES receives in a region's endpoint only, and the rule, its
 * bucket and the receiver live in the stack's region: so one region and one rule set for all.
 */
function sesReceivingOf(config: MailProbeConfig, problems: string[]): FlowSesReceiving | undefined {
  const ses = (config.flows ?? []).flatMap((f, i) => ('ses' in f.receive ? [{ f, i, ses: f.receive.ses }] : []));
  const first = ses[0];
  if (first === undefined) return undefined;
  for (const { i, ses: s } of ses) {
    try {
      assertSesReceivingRegion(s.region);
    } catch (err) {
      if (!(err instanceof SesRegionError)) throw err;
      problems.push(`flows[${i}].receive.ses.region: ${err.message}`);
    }
    if (s.region !== first.ses.region || s.ruleSetName !== first.ses.ruleSetName) {
      problems.push(
        `flows[${i}].receive.ses: every SES-received flow uses the stack's region and one receipt rule set; flows[${first.i}] has region ${first.ses.region}${first.ses.ruleSetName ? ` and rule set ${first.ses.ruleSetName}` : ''}`,
      );
    }
  }
  return {
    region: first.ses.region,
    recipients: [...new Set(ses.map(({ f }) => f.to.toLowerCase()))].sort(),
    ...(first.ses.ruleSetName !== undefined ? { ruleSetName: first.ses.ruleSetName } : {}),
  };
}
