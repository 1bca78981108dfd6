/**
 * Alarms per target (DESIGN.md §5) and on the probe functions themselves. Alarms say
 * *that* something is wrong, in words on-call can act on; the probe's own notification
 * and log line say *what* (findings and hints).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { PlannedTarget } from './config/plan.js';
import type { ProbeFunction } from './probe-function.js';
import { probeMetric } from './probe-metrics.js';

export interface ProbeAlarmsProps {
  readonly namespace: string;
  readonly targets: readonly PlannedTarget[];
  readonly functions: readonly ProbeFunction[];
  /** Alarm and OK action. @default - alarms without actions (dashboard only) */
  readonly action?: cloudwatch.IAlarmAction;
  /** Prefix of every alarm name, so several deployments can share an account. @default - the stack name */
  readonly alarmNamePrefix?: string;
  /** Where on-call looks next, quoted in alarm descriptions. @default - not mentioned */
  readonly dashboardName?: string;
  readonly queryName?: string;
}

/** Success below 1 in 2 of the last 3 runs: one failed run is noise, two are an incident. */
export const SUCCESS_EVALUATION_PERIODS = 3;
export const SUCCESS_DATAPOINTS_TO_ALARM = 2;
/** The function alarm fires when a run takes this share of the timeout. */
export const DURATION_ALARM_RATIO = 0.8;

/** Construct IDs cannot hold `/`; names may. */
const idOf = (s: string) => s.replace(/[^A-Za-z0-9._:@-]/g, '_');

export class ProbeAlarms extends Construct {
  readonly alarms: readonly cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: ProbeAlarmsProps) {
    super(scope, id);
    const prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    const where = [
      props.dashboardName ? `dashboard ${props.dashboardName}` : undefined,
      props.queryName ? `Logs Insights query "${props.queryName}"` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const lookAt = where ? ` (${where})` : '';
    const alarms: cloudwatch.Alarm[] = [];
    const add = (alarm: cloudwatch.Alarm) => {
      if (props.action) {
        alarm.addAlarmAction(props.action);
        // On-call sees recovery too, not only the page.
        alarm.addOkAction(props.action);
      }
      alarms.push(alarm);
    };

    for (const t of props.targets) {
      // The period is the schedule's interval (1 minute to 1 day, see the config schema), so each
      // period holds one run. 3 periods stay inside PutMetricAlarm's evaluation range: 1 day for
      // periods under an hour (3 × 59 min), 7 days otherwise (3 × 1 day).
      const period = Duration.seconds(Math.max(60, t.periodSeconds));
      const base = { namespace: props.namespace, check: t.check, target: t.name, period };
      const who = `the ${t.check} check of ${t.name}${t.name === t.target ? '' : ` (${t.target})`}`;
      const tid = `${t.check}-${idOf(t.name)}`;

      add(
        new cloudwatch.Alarm(this, `${tid}-Success`, {
          alarmName: `${prefix}-${t.check}-${t.name}-Success`,
          alarmDescription:
            `mailprobe: ${who} failed (critical) in ${SUCCESS_DATAPOINTS_TO_ALARM} of the last ${SUCCESS_EVALUATION_PERIODS} runs, or stopped reporting. ` +
            `Meaning: mail to or through this endpoint may be failing or travelling without verified TLS. ` +
            `Action: read the probe's alert message or its log line for the findings and their hints${lookAt}; ` +
            `if there is no recent log line, the probe itself stopped: check the ${t.check} function's errors and its schedule.`,
          metric: probeMetric('Success', base),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: SUCCESS_EVALUATION_PERIODS,
          datapointsToAlarm: SUCCESS_DATAPOINTS_TO_ALARM,
          // A probe that stopped running must page (DESIGN.md §5).
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );

      if (t.alarmCertExpiry) {
        add(
          new cloudwatch.Alarm(this, `${tid}-CertDaysToExpiry`, {
            alarmName: `${prefix}-${t.check}-${t.name}-CertDaysToExpiry`,
            alarmDescription:
              `mailprobe: a certificate seen by ${who} expires in fewer than ${t.thresholds.warnDays} days. ` +
              `Meaning: when it expires, senders that verify TLS (MTA-STS, SES, submission clients) stop delivering. ` +
              `Action: renew the certificate (or the intermediate named in the finding) and install the full chain; the alarm clears on the next run.`,
            metric: probeMetric('CertDaysToExpiry', base),
            threshold: t.thresholds.warnDays,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: 1,
            // Missing data keeps the last state (IGNORE; MISSING would drop to INSUFFICIENT_DATA and
            // fire again later): no certificate seen means the check failed, which the Success alarm
            // reports; an expiring certificate must not look fixed meanwhile.
            treatMissingData: cloudwatch.TreatMissingData.IGNORE,
          }),
        );
      }

      if (t.alarmDhBits) {
        const dh = probeMetric('DhKeyBits', base);
        add(
          new cloudwatch.Alarm(this, `${tid}-DhKeyBits`, {
            alarmName: `${prefix}-${t.check}-${t.name}-DhKeyBits`,
            alarmDescription:
              `mailprobe: ${who} negotiates DHE with a group smaller than ${t.thresholds.minDhBits} bits. ` +
              `Meaning: weak key exchange (Logjam); clients with a strict OpenSSL security level fail with "dh key too small". ` +
              `Action: configure a DH group of at least 2048 bits (RFC 7919 ffdhe2048) or disable DHE suites in favour of ECDHE.`,
            // 0 means "no DHE suites offered", which is fine: only 0 < bits < min is weak.
            metric: new cloudwatch.MathExpression({
              expression: `IF(dh > 0 AND dh < ${t.thresholds.minDhBits}, 1, 0)`,
              usingMetrics: { dh },
              period,
              label: 'weak DH',
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            // No measurement (the DHE handshake did not finish) keeps the last state.
            treatMissingData: cloudwatch.TreatMissingData.IGNORE,
          }),
        );
      }

      if (t.quotaWarnPercent !== undefined) {
        add(
          new cloudwatch.Alarm(this, `${tid}-QuotaUsedPercent`, {
            alarmName: `${prefix}-${t.check}-${t.name}-QuotaUsedPercent`,
            alarmDescription:
              `mailprobe: ${who}: ${t.quotaWarnPercent}% or more of the SES 24-hour sending quota is used. ` +
              `Meaning: when the quota runs out SES refuses mail with "454 Throttling failure: Daily message quota exceeded". ` +
              `Action: request a sending quota increase in the SES console (Account dashboard) or spread the sending over the day.`,
            metric: probeMetric('QuotaUsedPercent', { ...base, statistic: cloudwatch.Stats.MAXIMUM }),
            threshold: t.quotaWarnPercent,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            // No datapoint: the API call failed, which the Success alarm reports; keep the last state.
            treatMissingData: cloudwatch.TreatMissingData.IGNORE,
          }),
        );
      }
    }

    for (const fn of props.functions) {
      const f = fn.function;
      const period = Duration.minutes(5);
      const what = `the mailprobe ${fn.check} probe function`;
      add(
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
      add(
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
      add(
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
    this.alarms = alarms;
  }
}
