/**
 * Config → plan: the exact list of checks, grouped by check kind, schedule and
 * thresholds, cut into shards small enough that one invocation finishes inside the
 * Lambda timeout, and the alarms that watch them. Pure (no CDK, no I/O): the stack
 * deploys one schedule per shard with the shard as its input, and `mailprobe run
 * --config` runs the same specs.
 *
 * The steps live in their own modules: expand.ts (config → entries), validate.ts
 * (per-entry problems, names and AWS limits), shard.ts (entries → shards), defaults.ts
 * (defaults and limits as constants), plan-types.ts (the plan's shape); this file
 * decides the metric and alarm modes, places the certificate alarms and packs the
 * fleet alarm groups.
 */
import type { CheckSpec } from '../../lambdas/engine/checks.js';
import { effectiveTlsMode, targetOf } from '../../lambdas/engine/checks.js';
import type { MetricsMode, TargetMetricName } from '../../lambdas/engine/metrics/definitions.js';
import { DEFAULT_TIMEOUT_MS } from '../../lambdas/engine/context.js';
import { DEPLOYED_KINDS, type CheckKind } from '../../lambdas/engine/result.js';
import { DEFAULT_QUOTA_WARN_PERCENT } from '../../lambdas/engine/ses/account-eval.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import {
  AUTO_PER_TARGET_MAX_ALARMS,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  DEFAULT_INSIGHTS_ALARM_QUOTA,
  DEFAULT_NAMESPACE,
  FLEET_GROUP_SIZE,
  KIND_CAPACITY,
  type KindCapacity,
} from './defaults.js';
import { expand, nameOf, type Entry } from './expand.js';
import { flowResources, planFlows } from './flow-plan.js';
import { certInsightsCapable, fleetAlarmPeriodSeconds, fleetRouteOf, heartbeatOf } from './fleet-route.js';
import type { MailProbeConfig } from './schema.js';
import { alertPolicyOf, PlanError, periodSecondsOf, scheduleSlug, shardsOf, workBudgetMs } from './shard.js';
import { planLimitProblems, validateEntries } from './validate.js';
import {
  certAlarmHere,
  classicAlarmsOf,
  countTargetAlarms,
  fleetAlarmGroups,
  metricsGrouped,
  type CertAlarmInput,
} from '../monitoring/alarm-layout.js';

export type { ShardEvent };
export type {
  AlarmGroup,
  AlarmMode,
  Plan,
  PlanEstimate,
  PlannedTarget,
  PlanOptions,
  ReportingGroup,
} from './plan-types.js';
import type {
  AlarmGroup,
  AlarmMode,
  Plan,
  PlanEstimate,
  PlannedTarget,
  PlanOptions,
  ReportingGroup,
} from './plan-types.js';
export {
  DEFAULT_SCHEDULES,
  DEFAULT_NAMESPACE,
  DEFAULT_SES_PORTS,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
} from './defaults.js';
export { TIMEOUT_MARGIN_RATIO, TIMEOUT_MARGIN_FIXED_MS, MAX_SHARD_INPUT_BYTES } from './defaults.js';
export { nameOf } from './expand.js';
export { PlanError, periodSecondsOf, workBudgetMs } from './shard.js';

/** The deployed kinds (one list, in the engine: result.ts). */
export const CHECK_KINDS: readonly CheckKind[] = DEPLOYED_KINDS;

/**
 * Metrics Insights alarms can evaluate N periods only when they fit the 3-hour window with a
 * margin (fleet-route.ts); slower groups are alarmed through the heartbeat.
 */
export function insightsCapable(periodSeconds: number): boolean {
  return fleetRouteOf(periodSeconds) === 'direct';
}

/** Resources per function (function, role, policy, log group, DLQ + policy, scheduler role + policy, 3 alarms). */
const RESOURCES_PER_FUNCTION = 11;
/** Topic, key, topic policy, dashboard, query, the AnyCritical composite alarm and outputs' margin. */
const RESOURCES_FIXED = 13;
/** The TLS-RPT receivers (lib/tlsrpt-receiver.ts, both of them): bucket, API, rule, functions, digest schedule, Dropped alarm…; plus one alarm per domain. */
const RESOURCES_TLSRPT = 28;

const quotaWarnPercentOf = (spec: Extract<CheckSpec, { check: 'ses-account' }>) =>
  spec.quotaWarnPercent ?? DEFAULT_QUOTA_WARN_PERCENT;

const periodOf = (e: Entry) => periodSecondsOf(e.schedule);

/** Each entry's certificate-alarm input (alarm-layout.ts), with its endpoint's tls check if any. */
function certInputs(entries: readonly Entry[]): (e: Entry) => CertAlarmInput {
  const tlsEntries = new Map(entries.filter((e) => e.spec.check === 'tls').map((e) => [targetOf(e.spec), e]));
  return (e) => {
    const spec = e.spec;
    const tls = spec.check === 'smtp' ? tlsEntries.get(targetOf(spec)) : undefined;
    return {
      check: spec.check,
      usesTls: spec.check === 'smtp' ? effectiveTlsMode(spec.tls, spec.port) !== 'none' : spec.check !== 'ses-account',
      periodSeconds: periodOf(e),
      ...(tls !== undefined ? { tlsCheck: { periodSeconds: periodOf(tls) } } : {}),
    };
  };
}

/** `auto`: per-target alarms while the classic layout's count stays within the budget, else fleet. */
function alarmModeOf(entries: readonly Entry[], requested: AlarmMode | 'auto'): AlarmMode {
  if (requested !== 'auto') return requested;
  const input = certInputs(entries);
  const classicAlarms = entries.reduce(
    (n, e) =>
      n +
      classicAlarmsOf({
        alarmCertExpiry: certAlarmHere(input(e), 'per-target', 'default'),
        alarmDhBits: e.spec.check === 'tls',
        ...(e.spec.check === 'ses-account' ? { quotaWarnPercent: quotaWarnPercentOf(e.spec) } : {}),
      }).length,
    0,
  );
  return classicAlarms <= AUTO_PER_TARGET_MAX_ALARMS ? 'per-target' : 'fleet';
}

/**
 * Entries → shards: grouped by kind, schedule, thresholds and published metrics, each group cut
 * into shards that finish inside the function's budget; in fleet mode whole shards are packed
 * into alarm groups of at most FLEET_GROUP_SIZE targets (the metric dimension `AlarmGroup`).
 */
function cutShards(
  entries: readonly Entry[],
  layout: {
    readonly omitOf: (e: Entry) => TargetMetricName[];
    readonly certHere: (e: Entry) => boolean;
    readonly alarmMode: AlarmMode;
    readonly metricsMode: MetricsMode;
    readonly shardOptions: (check: CheckKind) => Omit<Parameters<typeof shardsOf>[1], 'idPrefix' | 'maxChecks'>;
  },
): { shards: ShardEvent[]; alarmGroups: AlarmGroup[]; groupOfTarget: Map<string, string> } {
  const { omitOf, certHere, alarmMode, metricsMode, shardOptions } = layout;
  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const key = JSON.stringify([e.spec.check, e.schedule, e.thresholds, omitOf(e)]);
    // Appended in place: copying the list per entry was quadratic (10 minutes at 100,000 endpoints).
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(e);
  }
  const shards: ShardEvent[] = [];
  const alarmGroups: AlarmGroup[] = [];
  const groupOfTarget = new Map<string, string>();
  const prefixes = new Map<string, number>();
  for (const group of groups.values()) {
    const first = group[0]!;
    const interval = scheduleSlug(first.schedule);
    let prefix = `${first.spec.check}-${interval}`;
    // Groups that differ only by thresholds (or published metrics) get a numbered prefix, stable in config order.
    const n = (prefixes.get(prefix) ?? 0) + 1;
    prefixes.set(prefix, n);
    if (n > 1) prefix = `${prefix}-t${n}`;
    const omit = omitOf(first);
    const cut = shardsOf(group, {
      idPrefix: prefix,
      ...shardOptions(first.spec.check),
      // Two shards fill a group exactly, so groups are full rather than one shard each.
      ...(alarmMode === 'fleet' ? { maxChecks: FLEET_GROUP_SIZE / 2 } : {}),
    });
    // Fleet alarms: whole shards packed into groups of at most FLEET_GROUP_SIZE targets.
    let groupId: string | undefined;
    let groupSize = 0;
    const closeGroup = () => {
      if (groupId === undefined) return;
      const periodSeconds = periodOf(first);
      alarmGroups.push({
        id: groupId,
        check: first.spec.check,
        interval,
        periodSeconds,
        thresholds: first.thresholds,
        targets: groupSize,
        alarmSuccess: true,
        alarmCertExpiry: certInsightsCapable(periodSeconds) && certHere(first),
        route: fleetRouteOf(periodSeconds),
        alarmPeriodSeconds: fleetAlarmPeriodSeconds(periodSeconds),
      });
    };
    for (const shard of cut) {
      let group: string | undefined;
      let heartbeat: ReturnType<typeof heartbeatOf>;
      // Targets alarmed classically (alarm-layout.ts) keep metrics without the group dimension.
      if (metricsGrouped(first.spec.check, alarmMode, metricsMode)) {
        if (groupId === undefined || groupSize + shard.specs.length > FLEET_GROUP_SIZE) {
          closeGroup();
          groupId = `${prefix}-g${alarmGroups.filter((g) => g.id.startsWith(`${prefix}-g`)).length + 1}`;
          groupSize = 0;
        }
        groupSize += shard.specs.length;
        group = groupId;
        heartbeat = heartbeatOf(periodOf(first));
        for (const spec of shard.specs) groupOfTarget.set(`${spec.check} ${nameOf(spec)}`, groupId);
      }
      shards.push({
        ...shard,
        metrics: {
          mode: metricsMode,
          interval,
          ...(group !== undefined ? { group } : {}),
          ...(omit.length > 0 ? { omit } : {}),
          ...(heartbeat !== undefined ? { heartbeat } : {}),
        },
      });
    }
    closeGroup();
  }

  return { shards, alarmGroups, groupOfTarget };
}

/** What the alarms, the dashboard and the cost model need to know of one planned check. */
function plannedTargetOf(
  e: Entry,
  group: string | undefined,
  alarmCertExpiry: boolean,
  metricsMode: MetricsMode,
): PlannedTarget {
  const spec = e.spec;
  return {
    check: spec.check,
    name: nameOf(spec),
    target: targetOf(spec),
    schedule: e.schedule,
    periodSeconds: periodOf(e),
    interval: scheduleSlug(e.schedule),
    thresholds: e.thresholds,
    ...(group !== undefined ? { group } : {}),
    alarmCertExpiry,
    alarmDhBits: spec.check === 'tls' && metricsMode !== 'aggregate',
    port25:
      (spec.check === 'mta-sts' && spec.probeMx !== false) ||
      ((spec.check === 'smtp' || spec.check === 'tls') && spec.port === 25),
    ...(spec.check === 'ses-account' ? { quotaWarnPercent: quotaWarnPercentOf(spec) } : {}),
  };
}

/** One "targets reporting" alarm per (kind, interval): how many targets should report in each. */
function reportingGroupsOf(targets: readonly PlannedTarget[]): ReportingGroup[] {
  const reportingMap = new Map<string, ReportingGroup>();
  for (const t of targets) {
    const key = `${t.check} ${t.interval}`;
    const r = reportingMap.get(key);
    reportingMap.set(key, {
      check: t.check,
      interval: t.interval,
      periodSeconds: t.periodSeconds,
      expected: (r?.expected ?? 0) + 1,
    });
  }
  return [...reportingMap.values()];
}

/** Alarm counts (alarm-layout.ts) and the resource estimate the plan-time limits are checked on. */
function estimateOf(p: {
  readonly shards: readonly ShardEvent[];
  readonly targets: readonly PlannedTarget[];
  readonly alarmGroups: readonly AlarmGroup[];
  readonly reporting: readonly ReportingGroup[];
  readonly alarmMode: AlarmMode;
  readonly metricsMode: MetricsMode;
  /** TLS-RPT: the domains with a per-domain alarm, when the receivers are deployed. */
  readonly tlsRptDomains: number | undefined;
  /** What the flows add (flow-plan.ts). */
  readonly flowResources: number;
}): PlanEstimate {
  const kinds = new Set(p.shards.map((s) => s.check));
  const { perTarget: perTargetAlarms, insights: insightsAlarms } = countTargetAlarms(
    p.targets,
    p.alarmGroups,
    p.alarmMode,
    p.metricsMode,
  );
  const otherAlarms = p.reporting.length * (p.metricsMode === 'aggregate' ? 2 : 1);
  return {
    perTargetAlarms,
    insightsAlarms,
    otherAlarms,
    resources:
      RESOURCES_FIXED +
      kinds.size * RESOURCES_PER_FUNCTION +
      p.shards.length +
      // One heartbeat schedule per shard of a slow fleet group (fleet-route.ts).
      p.shards.filter((s) => s.metrics?.heartbeat !== undefined).length +
      perTargetAlarms +
      insightsAlarms +
      otherAlarms +
      (p.tlsRptDomains !== undefined ? RESOURCES_TLSRPT + p.tlsRptDomains : 0) +
      p.flowResources,
  };
}

export function planConfig(config: MailProbeConfig, options: PlanOptions = {}): Plan {
  const d = config.defaults ?? {};
  const functionTimeoutSeconds = d.functionTimeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS;
  const defaultTimeoutMs = d.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const budgetMs = workBudgetMs(functionTimeoutSeconds);
  const allowPrivate = config.allowPrivate ?? false;
  const metricsMode: MetricsMode = config.metrics ?? 'default';
  const capacity = Object.fromEntries(
    CHECK_KINDS.map((k) => [k, { ...KIND_CAPACITY[k], ...(d.concurrency ? { concurrency: d.concurrency } : {}) }]),
  ) as Record<CheckKind, KindCapacity>;

  const problems: string[] = [];
  const entries = expand(config, problems, options.port25Reachable === true);
  problems.push(
    ...validateEntries(entries, {
      defaultTimeoutMs,
      budgetMs,
      functionTimeoutSeconds,
      alarmNamePrefix: options.alarmNamePrefix ?? 'MailProbe',
    }),
  );
  if (problems.length > 0) throw new PlanError([...new Set(problems)]);

  const requested = options.alarmMode ?? config.alarms?.mode ?? 'auto';
  const alarmMode = alarmModeOf(entries, requested);
  const certInput = certInputs(entries);
  const certHere = (e: Entry) => certAlarmHere(certInput(e), alarmMode, metricsMode);
  const omitOf = (e: Entry): TargetMetricName[] =>
    metricsMode === 'default' && !certHere(e) && e.spec.check !== 'ses-account' ? ['CertDaysToExpiry'] : [];

  const { shards, alarmGroups, groupOfTarget } = cutShards(entries, {
    omitOf,
    certHere,
    alarmMode,
    metricsMode,
    shardOptions: (check) => ({
      budgetMs,
      concurrency: capacity[check].concurrency,
      allowPrivate,
      defaultTimeoutMs,
      notifications: alertPolicyOf(config.alerting?.notifications),
      ...(config.dnssec?.trustAnchors !== undefined ? { trustAnchors: config.dnssec.trustAnchors } : {}),
      ...(config.dnsServer !== undefined ? { dnsServer: config.dnsServer } : {}),
    }),
  });

  const targets = entries.map((e) =>
    plannedTargetOf(e, groupOfTarget.get(`${e.spec.check} ${nameOf(e.spec)}`), certHere(e), metricsMode),
  );
  const reporting = reportingGroupsOf(targets);

  const secretArns = [
    ...new Set(
      entries.flatMap((e) =>
        e.spec.check === 'smtp' && e.spec.auth && 'secretArn' in e.spec.auth ? [e.spec.auth.secretArn] : [],
      ),
    ),
  ];
  const sesRegions = [...new Set(entries.flatMap((e) => (e.spec.check === 'ses-account' ? [e.spec.region] : [])))];

  const flows = planFlows(config, problems, { metricsMode, alarmMode, budgetMs });
  const estimate = estimateOf({
    shards,
    targets,
    alarmGroups,
    reporting,
    alarmMode,
    metricsMode,
    tlsRptDomains: config.tlsRpt
      ? (config.tlsRpt.domains?.length ?? targets.filter((t) => t.check === 'mta-sts').length)
      : undefined,
    flowResources: flows ? flowResources(flows) : 0,
  });

  problems.push(
    ...planLimitProblems({
      shards,
      estimate,
      fleetAlarmGroups: fleetAlarmGroups(alarmGroups, alarmMode, metricsMode),
      insightsQuota: config.alarms?.insightsQuota ?? DEFAULT_INSIGHTS_ALARM_QUOTA,
      perTargetRequested: requested === 'per-target',
    }),
  );
  if (problems.length > 0) throw new PlanError([...new Set(problems)]);

  return {
    namespace: config.namespace ?? DEFAULT_NAMESPACE,
    concurrency: capacity.smtp.concurrency,
    capacity,
    functionTimeoutSeconds,
    metricsMode,
    alarmMode,
    shards,
    targets,
    alarmGroups,
    reporting,
    secretArns,
    sesRegions,
    alerting: config.alerting ?? {},
    ...(config.vpc ? { vpc: config.vpc } : {}),
    estimate,
    ...(config.tlsRpt ? { tlsRpt: config.tlsRpt } : {}),
    ...(flows ? { flows } : {}),
  };
}

/** Every spec of the plan, for `mailprobe run --config`: the same checks the deployed probes run. */
export function planSpecs(plan: Plan): CheckSpec[] {
  return plan.shards.flatMap((s) => s.specs);
}
