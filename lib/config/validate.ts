/**
 * Checks on the expanded entries and on the finished plan against AWS's limits. Each
 * problem is one sentence naming the entry, what is wrong and the fix; the plan throws
 * them together as one PlanError (printed by the CLI and `cdk synth` without a stack trace).
 */
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { ALARM_NAME_MAX_LENGTH, CFN_MAX_RESOURCES_PER_STACK, SCHEDULER_MAX_INPUT_BYTES } from './defaults.js';
import { nameOf, type Entry } from './expand.js';
import { schedulesOf, stackLayoutsOf, type FleetAlarmGroup } from './shard-stacks.js';

/** Construct IDs cannot hold `/` and a few other characters; names may (see NameSchema). */
export function constructIdOf(name: string): string {
  return name.replace(/[^A-Za-z0-9._:@-]/g, '_');
}

/** The longest suffix an alarm name gets (`-<check>-<name>` + this). */
export const LONGEST_ALARM_SUFFIX = '-CertDaysToExpiry';

export function validateEntries(
  entries: readonly Entry[],
  o: { defaultTimeoutMs: number; budgetMs: number; functionTimeoutSeconds: number; alarmNamePrefix: string },
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const ids = new Map<string, { where: string; name: string }>();
  for (const e of entries) {
    const name = nameOf(e.spec);
    const key = `${e.spec.check} ${name}`;
    const previous = seen.get(key);
    if (previous !== undefined && previous !== e.where) {
      problems.push(
        `${e.where}: the ${e.spec.check} check named "${name}" is also defined by ${previous}; give one of them a different name (names are the alarms' and metrics' Target)`,
      );
    } else if (previous === e.where) {
      problems.push(`${e.where}: expands to the ${e.spec.check} check "${name}" twice; remove the duplicate port`);
    }
    seen.set(key, e.where);

    // `relay/a` and `relay_a` are different metrics but would be the same construct ID (a synth crash).
    const id = `${e.spec.check} ${constructIdOf(name)}`;
    const clash = ids.get(id);
    if (clash !== undefined && clash.name !== name) {
      problems.push(
        `${e.where}: the name "${name}" and "${clash.name}" (${clash.where}) differ only in characters that CloudFormation IDs cannot hold; rename one of them`,
      );
    }
    ids.set(id, { where: e.where, name });

    const alarmName = `${o.alarmNamePrefix}-${e.spec.check}-${name}${LONGEST_ALARM_SUFFIX}`;
    if (alarmName.length > ALARM_NAME_MAX_LENGTH) {
      problems.push(
        `${e.where}: the alarm name for "${name}" would be ${alarmName.length} characters, more than CloudWatch's ${ALARM_NAME_MAX_LENGTH}; give the target a shorter name or the stack a shorter name`,
      );
    }
    if (e.thresholds.criticalDays > e.thresholds.warnDays) {
      problems.push(
        `${e.where}.thresholds: criticalDays (${e.thresholds.criticalDays}) must not exceed warnDays (${e.thresholds.warnDays})`,
      );
    }
    const deadline = e.spec.timeoutMs ?? o.defaultTimeoutMs;
    if (deadline > o.budgetMs) {
      problems.push(
        `${e.where}: a check deadline of ${deadline} ms does not fit a ${o.functionTimeoutSeconds} s function (work budget ${o.budgetMs} ms after the margin); lower timeoutMs or raise defaults.functionTimeoutSeconds (max 900)`,
      );
    }
  }
  return problems;
}

/** The finished plan against AWS's limits: the Metrics Insights alarm quota, resources per stack (root, shard and alarm stacks), Scheduler input. */
export function planLimitProblems(o: {
  shards: readonly ShardEvent[];
  /** The fleet groups with Metrics Insights alarms (alarm-layout.ts fleetAlarmGroups). @default - none */
  fleetAlarmGroups?: readonly FleetAlarmGroup[];
  estimate: { perTargetAlarms: number; insightsAlarms: number; otherAlarms: number; resources: number };
  insightsQuota: number;
  perTargetRequested: boolean;
}): string[] {
  const problems: string[] = [];
  const { estimate, shards } = o;
  if (estimate.insightsAlarms > o.insightsQuota) {
    problems.push(
      `the plan needs ${estimate.insightsAlarms} Metrics Insights alarms, more than the account's quota of ${o.insightsQuota} per region; ask AWS for a higher quota and set alarms.insightsQuota, or set metrics: aggregate (a quota of the account: splitting the stack does not lift it)`,
    );
  }
  // The schedules go to shard stacks when one stack cannot hold them, and the fleet alarms with
  // them to alarm stacks (shard-stacks.ts); what stays in the root (functions, the other alarms,
  // topic, table, dashboard, one resource per nested stack) must fit it alone.
  const { shards: layout, alarms: alarmLayout } = stackLayoutsOf(shards, estimate.resources, o.fleetAlarmGroups ?? []);
  const rootResources =
    layout.stacks === 0
      ? estimate.resources
      : estimate.resources -
        shards.reduce((n, s) => n + schedulesOf(s), 0) +
        layout.stacks -
        alarmLayout.alarms.reduce((n, a) => n + a, 0) +
        alarmLayout.stacks;
  if (rootResources > CFN_MAX_RESOURCES_PER_STACK) {
    problems.push(
      o.perTargetRequested
        ? `alarms.mode per-target makes ${estimate.perTargetAlarms} alarms, about ${rootResources} resources, more than the ${CFN_MAX_RESOURCES_PER_STACK} a CloudFormation stack holds; set alarms.mode to fleet (or auto)`
        : `the stack's shared resources (functions, ${estimate.perTargetAlarms + estimate.otherAlarms + (alarmLayout.stacks === 0 ? estimate.insightsAlarms : 0)} alarms, topic, table) come to about ${rootResources}, more than the ${CFN_MAX_RESOURCES_PER_STACK} a CloudFormation stack holds (the schedules already go to ${layout.stacks} shard stacks${alarmLayout.stacks > 0 ? `, the fleet alarms to ${alarmLayout.stacks} alarm stacks` : ''}); set metrics: aggregate for alarms per check kind whatever the fleet size, or split the targets over two deployments`,
    );
  }
  layout.schedules.forEach((n, i) => {
    if (n > CFN_MAX_RESOURCES_PER_STACK) {
      problems.push(
        `shard stack ${i} would hold ${n} schedules, more than the ${CFN_MAX_RESOURCES_PER_STACK} a CloudFormation stack holds; raise defaults.functionTimeoutSeconds or defaults.concurrency for fewer, larger shards`,
      );
    }
  });
  alarmLayout.resources.forEach((n, i) => {
    if (n >= CFN_MAX_RESOURCES_PER_STACK) {
      problems.push(
        `alarm stack ${i} would hold ${n} fleet alarms and composites, more than the ${CFN_MAX_RESOURCES_PER_STACK} a CloudFormation stack holds; report this (the alarm stacks double before that)`,
      );
    }
  });
  for (const shard of shards) {
    const bytes = Buffer.byteLength(JSON.stringify(shard));
    if (bytes > SCHEDULER_MAX_INPUT_BYTES) {
      problems.push(
        `shard ${shard.shard} is ${bytes} bytes, more than the ${SCHEDULER_MAX_INPUT_BYTES} EventBridge Scheduler passes to a target; shorten the targets' names and identities lists`,
      );
    }
  }
  return problems;
}
