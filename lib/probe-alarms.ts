/**
 * The alarms (DESIGN.md §5), in the plan's alarm mode, and the alarms on the probe
 * functions themselves. Alarms say *that* something is wrong, in words on-call can act
 * on; the probe's own notification and log line say *what* (findings and hints).
 *
 * - `per-target`: classic alarms per (check, target): Success, CertDaysToExpiry, DhKeyBits,
 *   QuotaUsedPercent. Resources grow with targets; for small fleets.
 * - `fleet`: one Metrics Insights alarm per (check kind, interval, thresholds, group of at most
 *   400 targets) for Success and for CertDaysToExpiry; each target is a contributor and is named
 *   in the alarm's state reason. A group whose 3 periods reach past 2.5 hours (mta-sts hourly,
 *   tls 6-hourly) is alarmed at the heartbeat's 15-minute period on statuses republished from
 *   the state table (lib/config/fleet-route.ts), so it fits Metrics Insights' 3-hour window.
 * - In every mode, one "targets reporting" alarm per (check kind, interval): a contributor that
 *   stops publishing drops out of a Metrics Insights alarm instead of breaching, so this
 *   classic alarm compares the results the probes reported with what the plan expects.
 * - `metrics: aggregate`: no per-target metrics, so per kind a "targets critical" alarm instead.
 * - A fleet split into shard stacks (issue #20 item 3) puts the fleet alarms into nested alarm
 *   stacks (config/shard-stacks.ts alarmStackLayout), each with a composite over its critical
 *   alarms that the root's AnyCritical ORs (`anyCriticalChildren`).
 */
import type { CheckKind } from '../lambdas/engine/result.js';
import { Duration, NestedStack, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { MetricsMode } from '../lambdas/engine/metrics/definitions.js';
import { SUCCESS_DATAPOINTS_TO_ALARM, SUCCESS_EVALUATION_PERIODS } from './config/defaults.js';
import type { AlarmGroup, AlarmMode, Plan, PlannedTarget, ReportingGroup } from './config/plan.js';
import { alarmStackLayout } from './config/shard-stacks.js';
import { constructIdOf } from './config/validate.js';
import { CriticalCompositeAlarm } from './critical-composite.js';
import {
  classicAlarmsOf,
  fleetAlarmGroups,
  targetAlarmRoute,
  type AlarmedMetric,
  type AlarmSeverity,
} from './monitoring/alarm-layout.js';
import type { ProbeFunction } from './probe-function.js';
import { insightsExpression, insightsQuery, kindMetric, probeMetric } from './probe-metrics.js';

export { SUCCESS_DATAPOINTS_TO_ALARM, SUCCESS_EVALUATION_PERIODS };

export interface ProbeAlarmsProps {
  readonly namespace: string;
  readonly targets: readonly PlannedTarget[];
  readonly functions: readonly ProbeFunction[];
  /** @default 'per-target' */
  readonly mode?: AlarmMode;
  /** @default 'default' */
  readonly metricsMode?: MetricsMode;
  /** The fleet alarms' scopes (plan.alarmGroups). @default - none */
  readonly alarmGroups?: readonly AlarmGroup[];
  /** One reporting alarm each (plan.reporting). @default - none */
  readonly reporting?: readonly ReportingGroup[];
  /** Alarm and OK action of every alarm. @default - alarms without actions (dashboard only) */
  readonly action?: cloudwatch.IAlarmAction;
  /** Alarm and OK actions of the critical alarms (see AlarmSeverity). @default - `action` */
  readonly criticalActions?: readonly cloudwatch.IAlarmAction[];
  /** Alarm and OK actions of the warning alarms. @default - `action` */
  readonly warningActions?: readonly cloudwatch.IAlarmAction[];
  /** Prefix of every alarm name, so several deployments can share an account. @default - the stack name */
  readonly alarmNamePrefix?: string;
  /** Where on-call looks next, quoted in alarm descriptions. @default - not mentioned */
  readonly dashboardName?: string;
  readonly queryName?: string;
  /**
   * The fleet is split into shard stacks: put the fleet alarms into nested alarm stacks too, so
   * the root holds what does not grow with the fleet. @default false
   */
  readonly nestFleetAlarms?: boolean;
}

/** CDK writes templates with one-space indentation unless told; nested ones are uploaded as written. */
const SUPPRESS_TEMPLATE_INDENTATION = '@aws-cdk/core:suppressTemplateIndentation';

/** The function alarm fires when a run takes this share of the timeout. */
export const DURATION_ALARM_RATIO = 0.8;

const periodOf = (seconds: number) => Duration.seconds(Math.max(60, seconds));

export type { AlarmSeverity };
type AddAlarm = Readonly<Record<AlarmSeverity, (alarm: cloudwatch.Alarm) => void>>;

/** The props a plan decides (MailProbes and scripts/alarm-coverage.ts build the alarms from it alike). */
export function alarmPropsOf(
  plan: Pick<Plan, 'namespace' | 'targets' | 'alarmMode' | 'metricsMode' | 'alarmGroups' | 'reporting'>,
): Pick<ProbeAlarmsProps, 'namespace' | 'targets' | 'mode' | 'metricsMode' | 'alarmGroups' | 'reporting'> {
  return {
    namespace: plan.namespace,
    targets: plan.targets,
    mode: plan.alarmMode,
    metricsMode: plan.metricsMode,
    alarmGroups: plan.alarmGroups,
    reporting: plan.reporting,
  };
}

export class ProbeAlarms extends Construct {
  /**
   * Every alarm, for the dashboard. An alarm in an alarm stack appears by its name (its ARN
   * formatted in this stack), so the dashboard needs no output of the nested stack per alarm.
   */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** The alarms that page (see AlarmSeverity), wherever they live. */
  readonly criticalAlarms: readonly cloudwatch.IAlarm[];
  readonly warningAlarms: readonly cloudwatch.IAlarm[];
  /**
   * What the composite "any critical" alarm watches: the critical alarms of this stack and the
   * composite of each alarm stack (which watches that stack's critical alarms). Without alarm
   * stacks, `criticalAlarms`.
   */
  readonly anyCriticalChildren: readonly cloudwatch.IAlarm[];
  /** The nested stacks holding the fleet alarms of a split fleet (empty otherwise). */
  readonly alarmStacks: readonly NestedStack[];

  constructor(scope: Construct, id: string, props: ProbeAlarmsProps) {
    super(scope, id);
    const prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    const mode = props.mode ?? 'per-target';
    const metricsMode = props.metricsMode ?? 'default';
    const where = [
      props.dashboardName ? `dashboard ${props.dashboardName}` : undefined,
      props.queryName ? `Logs Insights query "${props.queryName}"` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const lookAt = where ? ` (${where})` : '';
    const alarms: cloudwatch.IAlarm[] = [];
    const bySeverity: Record<AlarmSeverity, cloudwatch.Alarm[]> = { critical: [], warning: [] };
    const rootCritical: cloudwatch.IAlarm[] = [];
    const adder = (severity: AlarmSeverity, nested?: cloudwatch.Alarm[]) => {
      const own = severity === 'critical' ? props.criticalActions : props.warningActions;
      const actions = own ?? (props.action ? [props.action] : []);
      return (alarm: cloudwatch.Alarm) => {
        // An action bound in an alarm stack reaches the root's topic (or the user's action)
        // through a parameter of that stack, which CDK adds for each distinct reference.
        if (actions.length > 0) {
          alarm.addAlarmAction(...actions);
          // On-call sees recovery too, not only the page.
          alarm.addOkAction(...actions);
        }
        bySeverity[severity].push(alarm);
        if (Stack.of(alarm) === Stack.of(this)) {
          alarms.push(alarm);
          if (severity === 'critical') rootCritical.push(alarm);
        } else {
          const name = (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName!;
          alarms.push(cloudwatch.Alarm.fromAlarmName(this, `Nested-${alarm.node.id}`, name));
          if (severity === 'critical') nested!.push(alarm);
        }
      };
    };
    const add: AddAlarm = { critical: adder('critical'), warning: adder('warning') };

    // Which target gets which alarm is the layout's decision (monitoring/alarm-layout.ts), so the
    // plan's count, the cost and these alarms cannot disagree.
    for (const t of props.targets) {
      if (targetAlarmRoute(t.check, mode, metricsMode) !== 'classic') continue;
      for (const a of classicAlarmsOf(t))
        add[a.severity](this.classicAlarm(t, a.metric, props.namespace, prefix, lookAt));
    }
    const groups = fleetAlarmGroups(props.alarmGroups ?? [], mode, metricsMode);
    const layout = alarmStackLayout(groups, props.nestFleetAlarms ?? false);
    if (layout.stacks > 0) {
      // Set before the nested stacks exist: a stack reads it once, when constructed.
      this.node.setContext(SUPPRESS_TEMPLATE_INDENTATION, true);
    }
    const nested = Array.from({ length: layout.stacks }, (_, i) => ({
      stack: new NestedStack(this, `FleetAlarms${i}`, {
        description: `mailprobe: fleet alarms of alarm stack ${i} of ${layout.stacks}`,
      }),
      critical: [] as cloudwatch.Alarm[],
    }));
    const byId = new Map((props.alarmGroups ?? []).map((g) => [g.id, g]));
    for (const { id } of groups) {
      const g = byId.get(id)!;
      if (layout.stacks === 0) {
        this.fleet(g, this, props.namespace, prefix, lookAt, add);
        continue;
      }
      const home = nested[layout.stackOf(id)]!;
      this.fleet(g, home.stack, props.namespace, prefix, lookAt, {
        critical: adder('critical', home.critical),
        warning: adder('warning', home.critical),
      });
    }
    for (const r of props.reporting ?? []) this.reportingAlarms(r, props.namespace, prefix, metricsMode, lookAt, add);
    for (const fn of props.functions) this.functionAlarms(fn, prefix, add);
    // Each alarm stack's composite lives beside its children, so its rule names them without a
    // reference across stacks; the root's AnyCritical names the composite (by name as well).
    const composites = nested.flatMap(({ stack, critical }, i) =>
      critical.length === 0
        ? []
        : [
            new CriticalCompositeAlarm(stack, 'AnyCritical', {
              alarms: critical,
              alarmNamePrefix: `${prefix}-FleetAlarms${i}`,
              coveredKinds: `(the fleet groups' Success alarms of alarm stack ${i})`,
              ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
            }).alarm,
          ],
    );
    this.alarms = alarms;
    this.criticalAlarms = bySeverity.critical;
    this.warningAlarms = bySeverity.warning;
    this.anyCriticalChildren = layout.stacks === 0 ? bySeverity.critical : [...rootCritical, ...composites];
    this.alarmStacks = nested.map((n) => n.stack);
  }

  /** One classic alarm on one of a target's own metrics. */
  private classicAlarm(
    t: PlannedTarget,
    alarmed: AlarmedMetric,
    namespace: string,
    prefix: string,
    lookAt: string,
  ): cloudwatch.Alarm {
    // The period is the schedule's interval (1 minute to 1 day, see the config schema), so each
    // period holds one run. 3 periods stay inside PutMetricAlarm's evaluation range: 1 day for
    // periods under an hour (3 × 59 min), 7 days otherwise (3 × 1 day).
    const period = periodOf(t.periodSeconds);
    const metric = (name: Parameters<typeof probeMetric>[0], statistic?: string) =>
      probeMetric(name, { namespace, check: t.check, target: t.name, period, ...(statistic ? { statistic } : {}) });
    const who = `the ${t.check} check of ${t.name}${t.name === t.target ? '' : ` (${t.target})`}`;
    const id = `${t.check}-${constructIdOf(t.name)}-${alarmed}`;
    const alarmName = `${prefix}-${t.check}-${t.name}-${alarmed}`;

    switch (alarmed) {
      case 'Success':
        return new cloudwatch.Alarm(this, id, {
          alarmName,
          alarmDescription:
            `mailprobe: ${who} failed (critical) in ${SUCCESS_DATAPOINTS_TO_ALARM} of the last ${SUCCESS_EVALUATION_PERIODS} runs, or stopped reporting. ` +
            `Meaning: ${meaningOf(t.check, false)} ` +
            `Action: read the probe's alert message or its log line for the findings and their hints${lookAt}; ` +
            `if there is no recent log line, the probe itself stopped: check the ${t.check} function's errors and its schedule.`,
          metric: metric('Success'),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: SUCCESS_EVALUATION_PERIODS,
          datapointsToAlarm: SUCCESS_DATAPOINTS_TO_ALARM,
          // A probe that stopped running must page (DESIGN.md §5).
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      case 'CertDaysToExpiry':
        return new cloudwatch.Alarm(this, id, {
          alarmName,
          alarmDescription:
            `mailprobe: a certificate seen by ${who} expires in ${t.thresholds.warnDays} days or fewer. ` +
            `Meaning: when it expires, senders that verify TLS (MTA-STS, SES, submission clients) stop delivering. ` +
            `Action: renew the certificate (or the intermediate named in the finding) and install the full chain; the alarm clears on the next run.`,
          metric: metric('CertDaysToExpiry'),
          // At or below warnDays, as the CERT_EXPIRING finding and the schema say.
          threshold: t.thresholds.warnDays,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // Missing data keeps the last state (IGNORE; MISSING would drop to INSUFFICIENT_DATA and
          // fire again later): no certificate seen means the check failed, which the Success alarm
          // reports; an expiring certificate must not look fixed meanwhile.
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        });
      case 'DhKeyBits':
        return new cloudwatch.Alarm(this, id, {
          alarmName,
          alarmDescription:
            `mailprobe: ${who} negotiates DHE with a group smaller than ${t.thresholds.minDhBits} bits. ` +
            `Meaning: weak key exchange (Logjam); clients with a strict OpenSSL security level fail with "dh key too small". ` +
            `Action: configure a DH group of at least 2048 bits (RFC 7919 ffdhe2048) or disable DHE suites in favour of ECDHE.`,
          // 0 means "no DHE suites offered", which is fine: only 0 < bits < min is weak.
          metric: new cloudwatch.MathExpression({
            expression: `IF(dh > 0 AND dh < ${t.thresholds.minDhBits}, 1, 0)`,
            usingMetrics: { dh: metric('DhKeyBits') },
            period: periodOf(t.periodSeconds),
            label: 'weak DH',
          }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // No measurement (the DHE handshake did not finish) keeps the last state.
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        });
      case 'QuotaUsedPercent':
        return new cloudwatch.Alarm(this, id, {
          alarmName,
          alarmDescription:
            `mailprobe: ${who}: ${t.quotaWarnPercent}% or more of the SES 24-hour sending quota is used. ` +
            `Meaning: when the quota runs out SES refuses mail with "454 Throttling failure: Daily message quota exceeded". ` +
            `Action: request a sending quota increase in the SES console (Account dashboard) or spread the sending over the day.`,
          metric: metric('QuotaUsedPercent', cloudwatch.Stats.MAXIMUM),
          threshold: t.quotaWarnPercent ?? 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // No datapoint: the API call failed, which the Success alarm reports; keep the last state.
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        });
    }
  }

  private fleet(
    g: AlarmGroup,
    home: Construct,
    namespace: string,
    prefix: string,
    lookAt: string,
    add: AddAlarm,
  ): void {
    const scope = `the ${g.check} checks of alarm group ${g.id} (${g.targets} targets, every ${g.interval})`;
    const republished =
      g.route === 'heartbeat'
        ? ` Each target's last status is republished from the state table every ${g.alarmPeriodSeconds / 60} minutes between its runs, so a failure stays visible to this alarm until the next run.`
        : '';
    if (g.alarmSuccess) {
      add.critical(
        new cloudwatch.Alarm(home, `Fleet-${g.id}-Success`, {
          alarmName: `${prefix}-${g.id}-Success`,
          alarmDescription:
            `mailprobe: one or more of ${scope} failed (critical) in ${SUCCESS_DATAPOINTS_TO_ALARM} of the last ${SUCCESS_EVALUATION_PERIODS} runs; ` +
            `the alarm's contributors (Target) name each failing target. ` +
            `Meaning: ${meaningOf(g.check, true)} ` +
            `Action: read the probes' alert messages or the log lines of the named targets for the findings and hints${lookAt}. ` +
            `A target that stops reporting is not a contributor: the TargetsReporting alarm of ${g.check} covers it.` +
            republished,
          metric: insightsExpression(
            insightsQuery({ namespace, metric: 'Success', fn: 'MIN', grouped: true, check: g.check, group: g.id }),
            periodOf(g.alarmPeriodSeconds),
          ),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: SUCCESS_EVALUATION_PERIODS,
          datapointsToAlarm: SUCCESS_DATAPOINTS_TO_ALARM,
          // Direct: the whole group silent is breaching (each contributor silent: the reporting alarm).
          // Heartbeat: only failures are republished, so a healthy group has no data between runs;
          // a stopped probe is the reporting alarm's business there.
          treatMissingData:
            g.route === 'heartbeat' ? cloudwatch.TreatMissingData.NOT_BREACHING : cloudwatch.TreatMissingData.BREACHING,
        }),
      );
    }
    if (g.alarmCertExpiry) {
      add.warning(
        new cloudwatch.Alarm(home, `Fleet-${g.id}-CertDaysToExpiry`, {
          alarmName: `${prefix}-${g.id}-CertDaysToExpiry`,
          alarmDescription:
            `mailprobe: a certificate seen by one or more of ${scope} expires in ${g.thresholds.warnDays} days or fewer; ` +
            `the alarm's contributors (Target) name each one. ` +
            `Meaning: when it expires, senders that verify TLS (MTA-STS, SES, submission clients) stop delivering. ` +
            `Action: renew the certificate (or the intermediate named in the finding) and install the full chain; the contributor clears on the next run.`,
          metric: insightsExpression(
            insightsQuery({
              namespace,
              metric: 'CertDaysToExpiry',
              fn: 'MIN',
              grouped: true,
              check: g.check,
              group: g.id,
            }),
            // One period of the check's own schedule: the heartbeat republishes Success only.
            periodOf(g.periodSeconds),
          ),
          threshold: g.thresholds.warnDays,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // No certificate seen means the check failed, which the Success alarm reports.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }

  private reportingAlarms(
    r: ReportingGroup,
    namespace: string,
    prefix: string,
    metricsMode: MetricsMode,
    lookAt: string,
    add: AddAlarm,
  ): void {
    const period = periodOf(r.periodSeconds);
    const what = `the ${r.check} checks every ${r.interval}`;
    add.critical(
      new cloudwatch.Alarm(this, `Reporting-${r.check}-${r.interval}`, {
        alarmName: `${prefix}-${r.check}-${r.interval}-TargetsReporting`,
        alarmDescription:
          `mailprobe: fewer than the planned ${r.expected} results of ${what} arrived in ${SUCCESS_DATAPOINTS_TO_ALARM} of the last ${SUCCESS_EVALUATION_PERIODS} intervals. ` +
          `Meaning: some probes stopped running or reporting, so their failures cannot page. ` +
          `Action: check the ${r.check} function's Errors and Duration alarms, its dead-letter queue and its schedules; a shard that timed out lists DEADLINE_EXCEEDED targets in its log.`,
        metric: kindMetric('TargetsReporting', { namespace, check: r.check, interval: r.interval, period }),
        threshold: r.expected,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: SUCCESS_EVALUATION_PERIODS,
        // 2 of 3: a run that lands just across a period boundary makes one short period, not a page.
        datapointsToAlarm: SUCCESS_DATAPOINTS_TO_ALARM,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
    if (metricsMode === 'aggregate') {
      add.critical(
        new cloudwatch.Alarm(this, `Critical-${r.check}-${r.interval}`, {
          alarmName: `${prefix}-${r.check}-${r.interval}-TargetsCritical`,
          alarmDescription:
            `mailprobe: one or more of ${what} were critical in ${SUCCESS_DATAPOINTS_TO_ALARM} of the last ${SUCCESS_EVALUATION_PERIODS} intervals (aggregate metrics: no per-target alarms). ` +
            `Meaning: mail to or through those endpoints may be failing. ` +
            `Action: the probes' change notifications name each target with its findings and hints; else query the result log lines for status "critical"${lookAt}.`,
          metric: kindMetric('TargetsCritical', { namespace, check: r.check, interval: r.interval, period }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: SUCCESS_EVALUATION_PERIODS,
          datapointsToAlarm: SUCCESS_DATAPOINTS_TO_ALARM,
          // Silence is the reporting alarm's business.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }

  private functionAlarms(fn: ProbeFunction, prefix: string, add: AddAlarm): void {
    const f = fn.function;
    const period = Duration.minutes(5);
    const what = `the mailprobe ${fn.check} probe function`;
    add.critical(
      new cloudwatch.Alarm(this, `${fn.check}-Errors`, {
        alarmName: `${prefix}-${fn.check}-function-Errors`,
        alarmDescription:
          `mailprobe: ${what} failed (threw or timed out). Meaning: some ${fn.check} checks did not run or report, so target alarms may also fire. ` +
          `Action: read the function's log group for the error; failed invocations are kept in its dead-letter queue.`,
        metric: f.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    add.warning(
      new cloudwatch.Alarm(this, `${fn.check}-Throttles`, {
        alarmName: `${prefix}-${fn.check}-function-Throttles`,
        alarmDescription:
          `mailprobe: ${what} was throttled. Meaning: the account's Lambda concurrency is exhausted (or the reserved concurrency is too low) and probes are skipped. ` +
          `Action: raise the function's reserved concurrency or the account's concurrency quota.`,
        metric: f.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const limitMs = Math.floor(fn.timeout.toMilliseconds() * DURATION_ALARM_RATIO);
    add.warning(
      new cloudwatch.Alarm(this, `${fn.check}-Duration`, {
        alarmName: `${prefix}-${fn.check}-function-Duration`,
        alarmDescription:
          `mailprobe: a run of ${what} took more than ${Math.round(DURATION_ALARM_RATIO * 100)}% of its ${fn.timeout.toSeconds()} s timeout. ` +
          `Meaning: the next slow run may time out and lose its results. ` +
          `Action: lower the per-check timeoutMs, raise defaults.concurrency or defaults.functionTimeoutSeconds so the plan makes smaller shards, and look for targets that hit DEADLINE_EXCEEDED.`,
        metric: f.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: limitMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

/** What a failing check means for mail, in the alarm's words. */
function meaningOf(check: CheckKind, many: boolean): string {
  if (check === 'sender-auth') {
    return many
      ? 'receivers may reject or spam-folder mail from those domains (SPF, DKIM or DMARC broken).'
      : 'receivers may reject or spam-folder mail from this domain (SPF, DKIM or DMARC broken).';
  }
  return many
    ? 'mail to or through those endpoints may be failing or travelling without verified TLS.'
    : 'mail to or through this endpoint may be failing or travelling without verified TLS.';
}
