/**
 * Entries → shards: one group per (check kind, schedule, thresholds, published metrics),
 * cut into shards whose work (waves × the longest deadline) fits the Lambda timeout and
 * whose input fits the Scheduler's. Pure.
 */
import type { ShardAlertPolicy, ShardEvent } from '../../lambdas/engine/shard/event.js';
import { MAX_SHARD_INPUT_BYTES, TIMEOUT_MARGIN_FIXED_MS, TIMEOUT_MARGIN_RATIO } from './defaults.js';
import { nameOf, type AlertPolicyConfig, type Entry } from './expand.js';
import { RATE_PATTERN } from './schema.js';
import { MailprobeError } from '../../lambdas/engine/errors.js';

export class PlanError extends MailprobeError {
  override readonly name = 'PlanError';
  /** The user's to fix: one line, exit 2. */
  override readonly userFacing = true;
  readonly code = 'PLAN_INVALID';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    // One problem, one line (what the CLI and `cdk synth` print); several, one line each.
    super(
      problems.length === 1
        ? `the configuration cannot be deployed as is: ${problems[0]}`
        : `the configuration cannot be deployed as is:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

export function periodSecondsOf(schedule: string): number {
  const m = RATE_PATTERN.exec(schedule);
  if (!m) throw new PlanError([`"${schedule}" is not a rate expression like "rate(5 minutes)"`]);
  const n = Number(m[1]);
  const unit = m[2]!.startsWith('minute') ? 60 : m[2]!.startsWith('hour') ? 3600 : 86_400;
  return n * unit;
}

/** `rate(5 minutes)` → `5m`: shard IDs, alarm groups and the Interval dimension. */
export function scheduleSlug(schedule: string): string {
  const s = periodSecondsOf(schedule);
  return s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : `${s / 60}m`;
}

/** Hours in config, milliseconds on the wire (the engine's unit). */
export function alertPolicyOf(policy: AlertPolicyConfig | undefined): ShardAlertPolicy {
  return {
    ...(policy?.enabled !== undefined ? { enabled: policy.enabled } : {}),
    ...(policy?.holdCount !== undefined ? { holdCount: policy.holdCount } : {}),
    ...(policy?.reminderHours !== undefined ? { reminderIntervalMs: policy.reminderHours * 3_600_000 } : {}),
  };
}

/** Work budget of one invocation: the timeout less the margin. */
export function workBudgetMs(functionTimeoutSeconds: number): number {
  const timeoutMs = functionTimeoutSeconds * 1000;
  return Math.floor(timeoutMs * (1 - TIMEOUT_MARGIN_RATIO)) - TIMEOUT_MARGIN_FIXED_MS;
}

export interface ShardOptions {
  readonly idPrefix: string;
  readonly budgetMs: number;
  readonly concurrency: number;
  readonly allowPrivate: boolean;
  readonly defaultTimeoutMs: number;
  readonly notifications: ShardAlertPolicy;
  /** The config's dnssec.trustAnchors, for the DANE verdicts. */
  readonly trustAnchors?: string;
  /** The config's dnsServer: the resolver of every lookup and DNSSEC query. */
  readonly dnsServer?: string;
  /** At most this many checks per shard (fleet alarms pack two shards per group). @default - no cap */
  readonly maxChecks?: number;
}

/** The entries of one group (same kind, schedule and thresholds), cut into shards. */
export function shardsOf(group: readonly Entry[], o: ShardOptions): ShardEvent[] {
  const deadline = (e: Entry) => e.spec.timeoutMs ?? o.defaultTimeoutMs;
  // Longest deadlines first: a shard's work is bounded by waves × its longest deadline.
  const sorted = [...group].sort((a, b) => deadline(b) - deadline(a) || nameOf(a.spec).localeCompare(nameOf(b.spec)));
  const shards: ShardEvent[] = [];
  let current: Entry[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length === 0) return;
    const first = current[0]!;
    const overrides = Object.fromEntries(
      current.filter((e) => e.alerting !== undefined).map((e) => [nameOf(e.spec), alertPolicyOf(e.alerting)]),
    );
    shards.push({
      version: 1,
      shard: `${o.idPrefix}-${shards.length + 1}`,
      check: first.spec.check,
      schedule: first.schedule,
      specs: current.map((e) => e.spec),
      thresholds: first.thresholds,
      allowPrivate: o.allowPrivate,
      concurrency: o.concurrency,
      ...(o.trustAnchors !== undefined ? { trustAnchors: o.trustAnchors } : {}),
      ...(o.dnsServer !== undefined ? { dnsServer: o.dnsServer } : {}),
      alerts: { ...o.notifications, ...(Object.keys(overrides).length > 0 ? { targets: overrides } : {}) },
    });
    current = [];
    bytes = 0;
  };
  for (const entry of sorted) {
    // Sorted by deadline, so the first entry's deadline bounds every wave of the shard.
    const longest = current.length > 0 ? deadline(current[0]!) : deadline(entry);
    const workMs = Math.ceil((current.length + 1) / o.concurrency) * longest;
    const size = JSON.stringify(entry.spec).length + 1;
    const full = o.maxChecks !== undefined && current.length >= o.maxChecks;
    if (current.length > 0 && (full || workMs > o.budgetMs || bytes + size > MAX_SHARD_INPUT_BYTES)) flush();
    current.push(entry);
    bytes += size;
  }
  flush();
  return shards;
}
