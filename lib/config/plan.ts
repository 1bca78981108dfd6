/**
 * Config → plan: the exact list of checks, grouped by check kind, schedule and
 * thresholds, and cut into shards small enough that one invocation finishes inside
 * the Lambda timeout. Pure (no CDK, no I/O): the stack deploys one schedule per shard
 * with the shard as its input, and `mailprobe run --config` runs the same specs.
 */
import type { CheckSpec, SesAccountCheckSpec, SmtpCheckSpec, TlsCheckSpec } from '../../lambdas/engine/checks.js';
import { effectiveTlsMode, targetOf } from '../../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS, DEFAULT_TIMEOUT_MS, type Thresholds } from '../../lambdas/engine/options.js';
import type { CheckKind } from '../../lambdas/engine/result.js';
import { DEFAULT_QUOTA_WARN_PERCENT } from '../../lambdas/engine/ses/account-eval.js';
import type { ShardAlertPolicy, ShardEvent } from '../../lambdas/handlers/event.js';
import {
  expandSesPreset,
  expandSesTlsPreset,
  SesPresetError,
  type SesPresetOptions,
} from '../../lambdas/engine/ses/presets.js';
export type { ShardEvent };
import { RATE_PATTERN, type MailProbeConfig, type SmtpTargetConfig, type ThresholdsConfig } from './schema.js';

export const DEFAULT_SCHEDULES: Readonly<Record<CheckKind, string>> = {
  smtp: 'rate(5 minutes)',
  'mta-sts': 'rate(1 hour)',
  tls: 'rate(6 hours)',
  'ses-account': 'rate(6 hours)',
  dane: 'rate(1 hour)',
};
export const DEFAULT_NAMESPACE = 'MailProbe';
/** Port 25 is left out: AWS blocks it from Lambda unless the account's restriction is lifted. */
export const DEFAULT_SES_PORTS: readonly number[] = [587, 2587, 465, 2465];
export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 300;
/**
 * Head-room left in every invocation for the cold start, secret look-ups, the
 * PutMetricData retries and the EMF fallback: 20 % of the timeout plus 10 s.
 */
export const TIMEOUT_MARGIN_RATIO = 0.2;
export const TIMEOUT_MARGIN_FIXED_MS = 10_000;
/** EventBridge Scheduler accepts at most 256 KB of target input; stay well below. */
export const MAX_SHARD_INPUT_BYTES = 200_000;

/** One (check, target) pair as alarms and the dashboard see it. */
export interface PlannedTarget {
  readonly check: CheckKind;
  /** The metric dimension `Target`. */
  readonly name: string;
  /** `host:port`, domain or region. */
  readonly target: string;
  readonly schedule: string;
  /** The schedule's interval: the alarms' period. */
  readonly periodSeconds: number;
  readonly thresholds: Thresholds;
  /** This check emits CertDaysToExpiry and it should be alarmed on (one alarm per certificate, see below). */
  readonly alarmCertExpiry: boolean;
  /** This check emits DhKeyBits. */
  readonly alarmDhBits: boolean;
  /** Needs outbound port 25 (SMTP on 25, or an MTA-STS domain's MX). */
  readonly port25: boolean;
  /** ses-account: alarm when QuotaUsedPercent reaches this. */
  readonly quotaWarnPercent?: number;
}

export interface Plan {
  readonly namespace: string;
  readonly concurrency: number;
  readonly functionTimeoutSeconds: number;
  readonly shards: readonly ShardEvent[];
  readonly targets: readonly PlannedTarget[];
  /** Secrets the smtp function may read. */
  readonly secretArns: readonly string[];
  /** Regions whose SES account the ses-account function reads. */
  readonly sesRegions: readonly string[];
  readonly alerting: NonNullable<MailProbeConfig['alerting']>;
  readonly vpc?: MailProbeConfig['vpc'];
}

export class PlanError extends Error {
  override readonly name = 'PlanError';
  readonly code = 'PLAN_INVALID';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`The configuration cannot be deployed as is:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
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

/** `rate(5 minutes)` → `5m`, for readable shard IDs. */
function scheduleSlug(schedule: string): string {
  const s = periodSecondsOf(schedule);
  return s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : `${s / 60}m`;
}

function mergeThresholds(...layers: (ThresholdsConfig | undefined)[]): Thresholds {
  let t: Thresholds = DEFAULT_THRESHOLDS;
  for (const layer of layers)
    if (layer) t = { ...t, ...Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) };
  return t;
}

interface Entry {
  readonly spec: CheckSpec;
  readonly schedule: string;
  readonly thresholds: Thresholds;
  readonly where: string;
  /** The target's own change-notification settings, if any. */
  readonly alerting?: AlertPolicyConfig;
}

type AlertPolicyConfig = NonNullable<SmtpTargetConfig['alerting']>;

/** Expands every config entry into check specs, each with its schedule and thresholds. */
function expand(config: MailProbeConfig, problems: string[]): Entry[] {
  const d = config.defaults ?? {};
  const schedules = {
    ...DEFAULT_SCHEDULES,
    ...Object.fromEntries(Object.entries(d.schedules ?? {}).filter(([, v]) => v)),
  };
  const entries: Entry[] = [];

  const smtpLike = (
    base: Omit<SmtpCheckSpec, 'check'>,
    checks: readonly ('smtp' | 'tls')[] | undefined,
    schedule: string | { smtp?: string; tls?: string } | undefined,
    thresholds: Thresholds,
    where: string,
  ): void => {
    const kinds = checks ?? (base.tls === 'none' ? ['smtp'] : ['smtp', 'tls']);
    for (const kind of new Set(kinds)) {
      const own = typeof schedule === 'string' ? (kind === 'smtp' ? schedule : undefined) : schedule?.[kind];
      const sched = own ?? schedules[kind];
      if (kind === 'smtp') {
        entries.push({ spec: { check: 'smtp', ...base }, schedule: sched, thresholds, where });
      } else {
        if (base.tls === 'none') {
          problems.push(`${where}.checks: the tls check needs TLS, but tls is "none"; remove "tls" from checks`);
          continue;
        }
        const spec: TlsCheckSpec = {
          check: 'tls',
          host: base.host,
          port: base.port,
          ...(base.name !== undefined ? { name: base.name } : {}),
          ...(base.tls !== undefined ? { tls: base.tls } : {}),
          ...(base.ehloName !== undefined ? { ehloName: base.ehloName } : {}),
          ...(base.timeoutMs !== undefined ? { timeoutMs: base.timeoutMs } : {}),
        };
        entries.push({ spec, schedule: sched, thresholds, where });
      }
    }
  };

  (config.targets ?? []).forEach((t, i) => {
    const first = entries.length;
    expandTarget(t, i);
    // Every check the target expanded into carries its notification settings.
    if (t.alerting !== undefined) {
      for (let k = first; k < entries.length; k++) entries[k] = { ...entries[k]!, alerting: t.alerting };
    }
  });

  function expandTarget(t: NonNullable<MailProbeConfig['targets']>[number], i: number): void {
    const where = `targets[${i}]`;
    const timeoutMs = t.timeoutMs ?? d.timeoutMs;
    const thresholds = mergeThresholds(d.thresholds, t.thresholds);
    if ('ses' in t) {
      const kinds = new Set(t.checks ?? ['smtp', 'tls']);
      const options: SesPresetOptions = {
        region: t.ses.region,
        ports: t.ses.ports ?? DEFAULT_SES_PORTS,
        ...(t.ses.fips === true ? { fips: true } : {}),
        ...(t.name !== undefined ? { name: t.name } : {}),
        ...(t.ses.auth !== undefined ? { auth: { secretArn: t.ses.auth.secretArn } } : {}),
        ...(t.ses.testMessage !== undefined ? { testMessage: t.ses.testMessage } : {}),
        ...(t.ses.ehloName !== undefined ? { ehloName: t.ses.ehloName } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      };
      try {
        const sched = (kind: 'smtp' | 'tls') =>
          (typeof t.schedule === 'string' ? (kind === 'smtp' ? t.schedule : undefined) : t.schedule?.[kind]) ??
          schedules[kind];
        if (kinds.has('smtp')) {
          for (const spec of expandSesPreset(options))
            entries.push({ spec, schedule: sched('smtp'), thresholds, where });
        }
        // One tls posture check per TLS mode: SES serves the same TLS stack on every port.
        if (kinds.has('tls')) {
          for (const spec of expandSesTlsPreset(options))
            entries.push({ spec, schedule: sched('tls'), thresholds, where });
        }
      } catch (err) {
        if (!(err instanceof SesPresetError)) throw err;
        problems.push(`${where}.ses: ${err.message}`);
      }
      if (t.ses.account) {
        const account = typeof t.ses.account === 'object' ? t.ses.account : {};
        const spec: SesAccountCheckSpec = {
          check: 'ses-account',
          name: t.name ?? `ses-${t.ses.region}`,
          region: t.ses.region,
          ...(account.identities ? { identities: account.identities } : {}),
          ...(account.quotaWarnPercent !== undefined ? { quotaWarnPercent: account.quotaWarnPercent } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        };
        entries.push({ spec, schedule: schedules['ses-account'], thresholds, where });
      }
      return;
    }
    const base: Omit<SmtpCheckSpec, 'check'> = {
      host: t.host,
      port: t.port,
      ...(t.name !== undefined ? { name: t.name } : {}),
      ...(t.tls !== undefined ? { tls: t.tls } : {}),
      ...(t.ehloName !== undefined ? { ehloName: t.ehloName } : {}),
      ...(t.auth !== undefined ? { auth: { secretArn: t.auth.secretArn } } : {}),
      ...(t.testMessage !== undefined ? { testMessage: t.testMessage } : {}),
      ...(t.dane === true ? { dane: true } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
    if (t.dane === true && t.port !== 25) {
      problems.push(`${where}.dane: DANE for SMTP (RFC 7672) is for port 25, the MX port; this target is on ${t.port}`);
    }
    smtpLike(base, t.checks, t.schedule, thresholds, where);
  }

  (config.domains ?? []).forEach((entry, i) => {
    const e = typeof entry === 'string' ? { domain: entry } : entry;
    const timeoutMs = e.timeoutMs ?? d.timeoutMs;
    entries.push({
      spec: {
        check: 'mta-sts',
        domain: e.domain.replace(/\.$/, '').toLowerCase(),
        ...(e.name !== undefined ? { name: e.name } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      },
      schedule: e.schedule ?? schedules['mta-sts'],
      thresholds: mergeThresholds(d.thresholds, e.thresholds),
      where: `domains[${i}]`,
      ...('alerting' in e && e.alerting !== undefined ? { alerting: e.alerting } : {}),
    });
  });
  return entries;
}

/** The metric dimension `Target`: the configured name, else `host:port`, domain or region. */
export function nameOf(spec: CheckSpec): string {
  return spec.name ?? targetOf(spec);
}

/** Hours in config, milliseconds on the wire (the engine's unit). */
function alertPolicyOf(policy: AlertPolicyConfig | undefined): ShardAlertPolicy {
  return {
    ...(policy?.enabled !== undefined ? { enabled: policy.enabled } : {}),
    ...(policy?.holdCount !== undefined ? { holdCount: policy.holdCount } : {}),
    ...(policy?.reminderHours !== undefined ? { reminderIntervalMs: policy.reminderHours * 3_600_000 } : {}),
  };
}

function shardsOf(
  group: readonly Entry[],
  idPrefix: string,
  budgetMs: number,
  concurrency: number,
  allowPrivate: boolean,
  defaultTimeoutMs: number,
  notifications: ShardAlertPolicy,
  trustAnchors?: string,
): ShardEvent[] {
  const deadline = (e: Entry) => e.spec.timeoutMs ?? defaultTimeoutMs;
  // Longest deadlines first: a shard's work is bounded by waves × its longest deadline.
  const sorted = [...group].sort((a, b) => deadline(b) - deadline(a) || nameOf(a.spec).localeCompare(nameOf(b.spec)));
  const shards: ShardEvent[] = [];
  let current: Entry[] = [];
  const flush = () => {
    if (current.length === 0) return;
    const first = current[0]!;
    const overrides = Object.fromEntries(
      current.filter((e) => e.alerting !== undefined).map((e) => [nameOf(e.spec), alertPolicyOf(e.alerting)]),
    );
    shards.push({
      version: 1,
      shard: `${idPrefix}-${shards.length + 1}`,
      check: first.spec.check,
      schedule: first.schedule,
      specs: current.map((e) => e.spec),
      thresholds: first.thresholds,
      allowPrivate,
      concurrency,
      ...(trustAnchors !== undefined ? { trustAnchors } : {}),
      alerts: { ...notifications, ...(Object.keys(overrides).length > 0 ? { targets: overrides } : {}) },
    });
    current = [];
  };
  for (const entry of sorted) {
    const next = [...current, entry];
    const workMs = Math.ceil(next.length / concurrency) * deadline(next[0]!);
    const bytes = JSON.stringify(next.map((e) => e.spec)).length;
    if (current.length > 0 && (workMs > budgetMs || bytes > MAX_SHARD_INPUT_BYTES)) flush();
    current.push(entry);
  }
  flush();
  return shards;
}

/** Work budget of one invocation: the timeout less the margin. */
export function workBudgetMs(functionTimeoutSeconds: number): number {
  const timeoutMs = functionTimeoutSeconds * 1000;
  return Math.floor(timeoutMs * (1 - TIMEOUT_MARGIN_RATIO)) - TIMEOUT_MARGIN_FIXED_MS;
}

export function planConfig(config: MailProbeConfig): Plan {
  const problems: string[] = [];
  const d = config.defaults ?? {};
  const concurrency = d.concurrency ?? DEFAULT_CONCURRENCY;
  const functionTimeoutSeconds = d.functionTimeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS;
  const defaultTimeoutMs = d.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const budgetMs = workBudgetMs(functionTimeoutSeconds);
  const allowPrivate = config.allowPrivate ?? false;
  const entries = expand(config, problems);

  const seen = new Map<string, string>();
  for (const e of entries) {
    const key = `${e.spec.check} ${nameOf(e.spec)}`;
    const previous = seen.get(key);
    if (previous !== undefined && previous !== e.where) {
      problems.push(
        `${e.where}: the ${e.spec.check} check named "${nameOf(e.spec)}" is also defined by ${previous}; give one of them a different name (names are the alarms' and metrics' Target)`,
      );
    } else if (previous === e.where) {
      problems.push(
        `${e.where}: expands to the ${e.spec.check} check "${nameOf(e.spec)}" twice; remove the duplicate port`,
      );
    }
    seen.set(key, e.where);
    if (e.thresholds.criticalDays > e.thresholds.warnDays) {
      problems.push(
        `${e.where}.thresholds: criticalDays (${e.thresholds.criticalDays}) must not exceed warnDays (${e.thresholds.warnDays})`,
      );
    }
    const deadline = e.spec.timeoutMs ?? defaultTimeoutMs;
    if (deadline > budgetMs) {
      problems.push(
        `${e.where}: a check deadline of ${deadline} ms does not fit a ${functionTimeoutSeconds} s function (work budget ${budgetMs} ms after the margin); lower timeoutMs or raise defaults.functionTimeoutSeconds (max 900)`,
      );
    }
  }
  if (problems.length > 0) throw new PlanError([...new Set(problems)]);

  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const key = JSON.stringify([e.spec.check, e.schedule, e.thresholds]);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const shards: ShardEvent[] = [];
  const prefixes = new Map<string, number>();
  for (const group of groups.values()) {
    const first = group[0]!;
    let prefix = `${first.spec.check}-${scheduleSlug(first.schedule)}`;
    // Groups that differ only by thresholds get a numbered prefix, stable in config order.
    const n = (prefixes.get(prefix) ?? 0) + 1;
    prefixes.set(prefix, n);
    if (n > 1) prefix = `${prefix}-t${n}`;
    shards.push(
      ...shardsOf(
        group,
        prefix,
        budgetMs,
        concurrency,
        allowPrivate,
        defaultTimeoutMs,
        alertPolicyOf(config.alerting?.notifications),
        config.dnssec?.trustAnchors,
      ),
    );
  }

  // One certificate alarm per endpoint: on the tls check when the target has one (it sees the whole chain), else on smtp.
  const tlsEndpoints = new Set(entries.filter((e) => e.spec.check === 'tls').map((e) => targetOf(e.spec)));
  const targets: PlannedTarget[] = entries.map((e) => {
    const spec = e.spec;
    const usesTls = spec.check === 'smtp' ? effectiveTlsMode(spec.tls, spec.port) !== 'none' : true;
    return {
      check: spec.check,
      name: nameOf(spec),
      target: targetOf(spec),
      schedule: e.schedule,
      periodSeconds: periodSecondsOf(e.schedule),
      thresholds: e.thresholds,
      alarmCertExpiry:
        spec.check === 'tls' ||
        spec.check === 'mta-sts' ||
        (spec.check === 'smtp' && usesTls && !tlsEndpoints.has(targetOf(spec))),
      alarmDhBits: spec.check === 'tls',
      port25: spec.check === 'mta-sts' || ((spec.check === 'smtp' || spec.check === 'tls') && spec.port === 25),
      ...(spec.check === 'ses-account'
        ? { quotaWarnPercent: spec.quotaWarnPercent ?? DEFAULT_QUOTA_WARN_PERCENT }
        : {}),
    };
  });

  const secretArns = [
    ...new Set(
      entries.flatMap((e) =>
        e.spec.check === 'smtp' && e.spec.auth && 'secretArn' in e.spec.auth ? [e.spec.auth.secretArn] : [],
      ),
    ),
  ];
  const sesRegions = [...new Set(entries.flatMap((e) => (e.spec.check === 'ses-account' ? [e.spec.region] : [])))];

  return {
    namespace: config.namespace ?? DEFAULT_NAMESPACE,
    concurrency,
    functionTimeoutSeconds,
    shards,
    targets,
    secretArns,
    sesRegions,
    alerting: config.alerting ?? {},
    ...(config.vpc ? { vpc: config.vpc } : {}),
  };
}

/** Every spec of the plan, for `mailprobe run --config`: the same checks the deployed probes run. */
export function planSpecs(plan: Plan): CheckSpec[] {
  return plan.shards.flatMap((s) => s.specs);
}
