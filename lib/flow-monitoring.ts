/**
 * The flows' alarms and dashboard widget, read from the flow plan (lib/config/flow-plan.ts)
 * and the metric definitions, so what the flow function publishes is what is alarmed on:
 * - a lost message pages: `Delivered` < 1 (MIN over the run's period). Per-target alarm mode:
 *   one classic alarm per flow. Fleet mode: one Metrics Insights alarm over every flow, each
 *   lost flow a contributor, when the shortest flow schedule fits Insights' window (flow-plan.ts);
 * - a flow that stopped running pages: `TargetsReporting` of the flow kind per interval,
 *   published in every metric mode, below the number of flows at that interval;
 * - the latency widget: `DeliverySeconds` per flow, with the warn and max lines.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { FlowPlan } from './config/flow-plan.js';
import { SUCCESS_DATAPOINTS_TO_ALARM, SUCCESS_EVALUATION_PERIODS } from './config/defaults.js';
import { constructIdOf } from './config/validate.js';
import { insightsExpression, insightsQuery, kindMetric, probeMetric } from './probe-metrics.js';

export interface FlowMonitoringProps {
  readonly namespace: string;
  readonly plan: FlowPlan;
  /** Alarm and OK actions of the flow alarms (all critical: mail is not arriving). @default - none */
  readonly actions?: readonly cloudwatch.IAlarmAction[];
  /** @default - the stack name */
  readonly alarmNamePrefix?: string;
  /** Where on-call looks (the dashboard, the failed-checks query), quoted in alarm descriptions. @default - nowhere named */
  readonly lookAt?: string;
}

export class FlowMonitoring extends Construct {
  /** Every flow alarm; all of them critical (a lost message, a flow that stopped). */
  readonly alarms: readonly cloudwatch.Alarm[];
  private readonly props: FlowMonitoringProps;

  constructor(scope: Construct, id: string, props: FlowMonitoringProps) {
    super(scope, id);
    this.props = props;
    const prefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    const { namespace, plan } = props;
    const lookAt = props.lookAt ? ` (${props.lookAt})` : '';
    const alarms: cloudwatch.Alarm[] = [];
    const lostAction =
      `Action: the flow's log line names the lost message's send time and the relay's reply (queue ID)${lookAt}; ` +
      "look it up in the relay's log, then in the receiving side's (spam filter, quarantine, bounces to the From address).";

    if (plan.alarmLayout === 'insights' && plan.insightsPeriodSeconds !== undefined) {
      alarms.push(
        new cloudwatch.Alarm(this, 'Delivered', {
          alarmName: `${prefix}-flow-Delivered`,
          alarmDescription:
            `mailprobe: a message of one or more mail flows did not arrive within its maxSeconds; the alarm's contributors (Target) name each flow. ` +
            `Meaning: mail sent through that path is being lost or held. ${lostAction}`,
          metric: insightsExpression(
            insightsQuery({ namespace, metric: 'Delivered', fn: 'MIN', grouped: false, check: 'flow' }),
            Duration.seconds(plan.insightsPeriodSeconds),
          ),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          // One lost message is an incident; the next run's 1 clears it.
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          // A flow that stopped is the reporting alarm's business.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    } else {
      for (const flow of plan.flows) {
        alarms.push(
          new cloudwatch.Alarm(this, `Delivered-${constructIdOf(flow.name)}`, {
            alarmName: `${prefix}-flow-${flow.name}-Delivered`,
            alarmDescription:
              `mailprobe: a message of the mail flow ${flow.name} (${flow.from} -> ${flow.to}) did not arrive within ${flow.maxSeconds} s. ` +
              `Meaning: mail sent through that path is being lost or held. ${lostAction}`,
            metric: probeMetric('Delivered', {
              namespace,
              check: 'flow',
              target: flow.name,
              period: Duration.seconds(flow.periodSeconds),
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        );
      }
    }

    const byInterval = new Map<string, { periodSeconds: number; flows: number }>();
    for (const f of plan.flows) {
      const known = byInterval.get(f.interval);
      byInterval.set(f.interval, { periodSeconds: f.periodSeconds, flows: (known?.flows ?? 0) + 1 });
    }
    for (const [interval, { periodSeconds, flows }] of byInterval) {
      alarms.push(
        new cloudwatch.Alarm(this, `Reporting-${interval}`, {
          alarmName: `${prefix}-flow-${interval}-TargetsReporting`,
          alarmDescription:
            `mailprobe: fewer than the planned ${flows} mail flow run(s) every ${interval} reported in ${SUCCESS_DATAPOINTS_TO_ALARM} of the last ${SUCCESS_EVALUATION_PERIODS} intervals. ` +
            `Meaning: flow probes stopped running, so a lost message could not page. ` +
            `Action: check the flow function's Errors alarm, its dead-letter queue (a missing or unreadable token key fails the run) and its schedules.`,
          metric: kindMetric('TargetsReporting', {
            namespace,
            check: 'flow',
            interval,
            period: Duration.seconds(periodSeconds),
          }),
          threshold: flows,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: SUCCESS_EVALUATION_PERIODS,
          datapointsToAlarm: SUCCESS_DATAPOINTS_TO_ALARM,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );
    }
    if (props.actions && props.actions.length > 0) {
      for (const alarm of alarms) {
        alarm.addAlarmAction(...props.actions);
        alarm.addOkAction(...props.actions);
      }
    }
    this.alarms = alarms;
  }

  /** The latency widget: DeliverySeconds per flow (the worst of each period), with the warn and max lines. */
  widgets(): cloudwatch.IWidget[] {
    const { namespace, plan } = this.props;
    const same = (values: number[]) => (new Set(values).size === 1 ? values[0] : undefined);
    const warn = same(plan.flows.map((f) => f.warnSeconds));
    const max = same(plan.flows.map((f) => f.maxSeconds));
    const period = Duration.seconds(Math.min(...plan.flows.map((f) => f.periodSeconds)));
    return [
      new cloudwatch.GraphWidget({
        title: 'Mail flow: delivery time (s)',
        width: 24,
        height: 6,
        left: plan.flows.map((f) =>
          probeMetric('DeliverySeconds', {
            namespace,
            check: 'flow',
            target: f.name,
            period,
            statistic: cloudwatch.Stats.MAXIMUM,
            label: f.name,
          }),
        ),
        leftYAxis: { min: 0, showUnits: false },
        leftAnnotations: [
          ...(warn !== undefined ? [{ value: warn, label: 'warnSeconds', color: cloudwatch.Color.ORANGE }] : []),
          ...(max !== undefined ? [{ value: max, label: 'maxSeconds (lost)', color: cloudwatch.Color.RED }] : []),
        ],
      }),
    ];
  }
}
