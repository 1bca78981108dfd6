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
import { planFlows } from './flow-plan.js';
import { certInsightsCapable, fleetAlarmPeriodSeconds, fleetRouteOf, heartbeatOf } from './fleet-route.js';
import type { MailProbeConfig } from './schema.js';
import { alertPolicyOf, PlanError, periodSecondsOf, scheduleSlug, shardsOf, workBudgetMs } from './shard.js';
import { planLimitProblems, validateEntries } from './validate.js';

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
/** The TLS-RPT receivers (lib/tlsrpt-receiver.ts, both of them): bucket, API, rule, functions, digest schedule…; plus one alarm per domain. */
const RESOURCES_TLSRPT = 27;

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

  // Per-target alarms as the classic layout would make them: decides `auto`.
  const periodOf = (e: Entry) => periodSecondsOf(e.schedule);
  const usesTls = (spec: CheckSpec) =>
    spec.check === 'smtp' ? effectiveTlsMode(spec.tls, spec.port) !== 'none' : spec.check !== 'ses-account';
  const tlsEntries = new Map(entries.filter((e) => e.spec.check === 'tls').map((e) => [targetOf(e.spec), e]));
  const classicCert = (e: Entry) =>
    e.spec.check === 'tls' ||
    e.spec.check === 'mta-sts' ||
    (e.spec.check === 'smtp' && usesTls(e.spec) && !tlsEntries.has(targetOf(e.spec)));
  const classicAlarms = entries.reduce(
    (n, e) =>
      n + 1 + (classicCert(e) ? 1 : 0) + (e.spec.check === 'tls' ? 1 : 0) + (e.spec.check === 'ses-account' ? 1 : 0),
    0,
  );
  const requested = options.alarmMode ?? config.alarms?.mode ?? 'auto';
  const alarmMode: AlarmMode =
    requested === 'auto' ? (classicAlarms <= AUTO_PER_TARGET_MAX_ALARMS ? 'per-target' : 'fleet') : requested;

  /**
   * One certificate alarm per endpoint. Per-target: on the tls check when the endpoint has one (it
   * sees the whole chain), else on smtp. Fleet: on the check whose interval fits Metrics Insights'
   * window with the margin (the tls check's 6 hours does not; the smtp check sees the same chain).
   */
  const certHere = (e: Entry): boolean => {
    if (metricsMode === 'aggregate') return false;
    if (alarmMode === 'per-target') return classicCert(e);
    if (e.spec.check === 'mta-sts') return true;
    if (e.spec.check === 'tls') return certInsightsCapable(periodOf(e));
    if (e.spec.check === 'smtp' && usesTls(e.spec)) {
      const tls = tlsEntries.get(targetOf(e.spec));
      return !(tls && certInsightsCapable(periodOf(tls)));
    }
    return false;
  };
  const omitOf = (e: Entry): TargetMetricName[] =>
    metricsMode === 'default' && !certHere(e) && e.spec.check !== 'ses-account' ? ['CertDaysToExpiry'] : [];

  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const key = JSON.stringify([e.spec.check, e.schedule, e.thresholds, omitOf(e)]);
    groups.set(key, [...(groups.get(key) ?? []), e]);
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
      budgetMs,
      concurrency: capacity[first.spec.check].concurrency,
      allowPrivate,
      defaultTimeoutMs,
      notifications: alertPolicyOf(config.alerting?.notifications),
      ...(config.dnssec?.trustAnchors !== undefined ? { trustAnchors: config.dnssec.trustAnchors } : {}),
      ...(config.dnsServer !== undefined ? { dnsServer: config.dnsServer } : {}),
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
      // ses-account keeps classic alarms (one target per region), so its metrics keep (Check, Target).
      if (alarmMode === 'fleet' && metricsMode !== 'aggregate' && first.spec.check !== 'ses-account') {
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

  const targets: PlannedTarget[] = entries.map((e) => {
    const spec = e.spec;
    const group = groupOfTarget.get(`${spec.check} ${nameOf(spec)}`);
    return {
      check: spec.check,
      name: nameOf(spec),
      target: targetOf(spec),
      schedule: e.schedule,
      periodSeconds: periodOf(e),
      interval: scheduleSlug(e.schedule),
      thresholds: e.thresholds,
      ...(group !== undefined ? { group } : {}),
      alarmCertExpiry: certHere(e),
      alarmDhBits: spec.check === 'tls' && metricsMode !== 'aggregate',
      port25:
        (spec.check === 'mta-sts' && spec.probeMx !== false) ||
        ((spec.check === 'smtp' || spec.check === 'tls') && spec.port === 25),
      ...(spec.check === 'ses-account'
        ? { quotaWarnPercent: spec.quotaWarnPercent ?? DEFAULT_QUOTA_WARN_PERCENT }
        : {}),
    };
  });

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
  const reporting = [...reportingMap.values()];

  const secretArns = [
    ...new Set(
      entries.flatMap((e) =>
        e.spec.check === 'smtp' && e.spec.auth && 'secretArn' in e.spec.auth ? [e.spec.auth.secretArn] : [],
      ),
    ),
  ];
  const sesRegions = [...new Set(entries.flatMap((e) => (e.spec.check === 'ses-account' ? [e.spec.region] : [])))];

  const kinds = new Set(shards.map((s) => s.check));
  const perTargetAlarms =
    metricsMode === 'aggregate'
      ? 0
      : alarmMode === 'per-target'
        ? classicAlarms
        : // ses-account keeps its classic alarms in fleet mode: one target per region, 6-hour interval.
          targets.filter((t) => t.check === 'ses-account').length * 2;
  const insightsAlarms = alarmGroups.reduce((n, g) => n + (g.alarmSuccess ? 1 : 0) + (g.alarmCertExpiry ? 1 : 0), 0);
  const otherAlarms = reporting.length * (metricsMode === 'aggregate' ? 2 : 1);
  const estimate: PlanEstimate = {
    perTargetAlarms,
    insightsAlarms,
    otherAlarms,
    resources:
      RESOURCES_FIXED +
      kinds.size * RESOURCES_PER_FUNCTION +
      shards.length +
      // One heartbeat schedule per shard of a slow fleet group (fleet-route.ts).
      shards.filter((s) => s.metrics?.heartbeat !== undefined).length +
      perTargetAlarms +
      insightsAlarms +
      otherAlarms +
      (config.tlsRpt
        ? RESOURCES_TLSRPT + (config.tlsRpt.domains?.length ?? targets.filter((t) => t.check === 'mta-sts').length)
        : 0),
  };

  const flows = planFlows(config, problems, { metricsMode, alarmMode, budgetMs });
  problems.push(
    ...planLimitProblems({
      shards,
      estimate,
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
