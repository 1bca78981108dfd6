/**
 * Fleet scale (issue 12): generated configs of 10, 1,000 and 10,000 endpoints (SMTP
 * targets, SES presets, MTA-STS domains) synthesize into stacks under CloudFormation's
 * limits, with alarms that grow with groups of targets (not targets), a bounded dashboard,
 * a reporting alarm per check kind, and cdk-nag clean. Inline code keeps synth fast.
 */
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FLEET_GROUP_SIZE } from '../../lib/config/defaults.js';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import { fleetConfig } from '../../lib/cost/sample-configs.js';

// Template JSON: properties are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = any;
type Resources = Record<string, { Type: string; Properties?: Props }>;

const INLINE = () => lambda.Code.fromInline('export const handler = async () => ({});');

function synth(plan: Plan): { template: Template; resources: Resources } {
  const app = new App();
  const stack = new MailProbeStack(app, 'MailProbe', {
    plan,
    code: INLINE,
    env: { account: '123456789012', region: 'us-east-1' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Synthesizing runs cdk-nag: an unacknowledged finding throws here.
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources };
}

const ofType = (resources: Resources, type: string) => Object.values(resources).filter((r) => r.Type === type);

/** Widgets in the dashboard body (a Fn::Join of strings and tokens). */
function widgetCount(resources: Resources): number {
  const body = JSON.stringify(ofType(resources, 'AWS::CloudWatch::Dashboard')[0]!.Properties.DashboardBody);
  return body.split('\\"properties\\":').length - 1;
}

describe.each([10, 1000, 10_000])('a fleet of %i endpoints', (endpoints) => {
  it('fits one stack, alarms per group not per target, a bounded dashboard, a reporting alarm per kind', () => {
    const plan = planConfig(fleetConfig(endpoints));
    const { template, resources } = synth(plan);
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm');

    expect(Object.keys(resources).length).toBeLessThan(500);
    // Issue #20: the template as CDK uploads it (minified JSON) under CloudFormation's 1 MB,
    // and at 10,000 endpoints under half of it: the shards travel in the functions' layers.
    const bytes = Buffer.byteLength(JSON.stringify(template.toJSON()));
    expect(bytes).toBeLessThanOrEqual(1_000_000);
    if (endpoints === 10_000) expect(bytes).toBeLessThanOrEqual(500_000);
    expect(widgetCount(resources)).toBeLessThanOrEqual(500);
    expect(widgetCount(resources)).toBeGreaterThan(3);

    // One reporting alarm per check kind and interval, on the per-kind count, missing data breaching.
    const reporting = alarms.filter((a) => String(a.Properties.AlarmName).endsWith('-TargetsReporting'));
    expect(reporting.map((a) => a.Properties.Dimensions[0].Value).sort()).toEqual(['mta-sts', 'smtp', 'tls']);
    for (const a of reporting) {
      expect(a.Properties).toMatchObject({
        MetricName: 'TargetsReporting',
        Statistic: 'Sum',
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
      const kind = a.Properties.Dimensions[0].Value;
      expect(a.Properties.Threshold).toBe(plan.targets.filter((t) => t.check === kind).length);
    }

    // No domain probes its MX hosts without a VPC, so none needs port 25 (nothing that can only fail).
    const domainSpecs = plan.shards.filter((s) => s.check === 'mta-sts').flatMap((s) => s.specs);
    expect(domainSpecs.length).toBeGreaterThan(0);
    expect(domainSpecs.filter((s) => s.check === 'mta-sts' && s.probeMx !== false)).toEqual([]);
    expect(plan.targets.filter((t) => t.check === 'mta-sts' && t.port25)).toEqual([]);

    if (endpoints >= 1000) {
      expect(plan.alarmMode).toBe('fleet');
      // Alarms: per group of up to 400 targets (Success, certificate), the reporting alarms and the functions'.
      const groups = plan.alarmGroups.length;
      const perKind = new Map<string, number>();
      for (const t of plan.targets) perKind.set(t.check, (perKind.get(t.check) ?? 0) + 1);
      expect(groups).toBeLessThanOrEqual(
        [...perKind.values()].reduce((n, c) => n + Math.ceil(c / FLEET_GROUP_SIZE), 0) + 8,
      );
      expect(alarms.length).toBe(plan.estimate.insightsAlarms + reporting.length + 3 * 3);
      expect(alarms.length).toBeLessThan(plan.targets.length / 50);
      const insights = alarms.filter((a) => a.Properties.Metrics?.[0]?.Expression?.startsWith('SELECT'));
      expect(insights).toHaveLength(plan.estimate.insightsAlarms);
      expect(insights.length).toBeLessThanOrEqual(200);
      for (const g of plan.alarmGroups) expect(g.targets).toBeLessThanOrEqual(FLEET_GROUP_SIZE);
    } else {
      expect(plan.alarmMode).toBe('per-target');
    }
  }, 180_000);
});

describe('fleet alarms', () => {
  it('query each group with Metrics Insights, per target contributors, and keep their count when targets join a group', () => {
    const plan = planConfig(fleetConfig(1000));
    const { template, resources } = synth(plan);
    const group = plan.alarmGroups.find((g) => g.check === 'smtp' && g.alarmSuccess)!;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `MailProbe-${group.id}-Success`,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      Metrics: [
        {
          Id: 'expr_1',
          Expression: `SELECT MIN(Success) FROM SCHEMA("MailProbe", Check, AlarmGroup, Target) WHERE Check = 'smtp' AND AlarmGroup = '${group.id}' GROUP BY Target`,
          Period: 300,
          ReturnData: true,
        },
      ],
    });
    // Certificates: at or below warnDays, on the 5-minute smtp check (the 6-hour tls check is outside the 3-hour window).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `MailProbe-${group.id}-CertDaysToExpiry`,
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      Threshold: 30,
    });
    // The 6-hour tls groups (and hourly mta-sts) take the heartbeat route (issue #20): a Success alarm
    // at the heartbeat's 15-minute period, fed by statuses republished from the state table.
    const slow = plan.alarmGroups.filter((g) => g.check === 'tls' || g.check === 'mta-sts');
    expect(slow.length).toBeGreaterThan(0);
    for (const g of slow) {
      expect(g).toMatchObject({ alarmSuccess: true, route: 'heartbeat', alarmPeriodSeconds: 900 });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `MailProbe-${g.id}-Success`,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Metrics: [
          {
            Id: 'expr_1',
            Expression: `SELECT MIN(Success) FROM SCHEMA("MailProbe", Check, AlarmGroup, Target) WHERE Check = '${g.check}' AND AlarmGroup = '${g.id}' GROUP BY Target`,
            Period: 900,
            ReturnData: true,
          },
        ],
      });
    }
    expect(plan.alarmGroups.filter((g) => g.check === 'tls').every((g) => !g.alarmCertExpiry)).toBe(true);

    // The dashboard: Metrics Insights top-N widgets over the same dimension set, whatever the fleet size.
    const body = JSON.stringify(ofType(resources, 'AWS::CloudWatch::Dashboard')[0]!.Properties.DashboardBody);
    expect(body).toContain(
      'SELECT MIN(Success) FROM SCHEMA(\\\\\\"MailProbe\\\\\\", Check, AlarmGroup, Target) WHERE Check = \'smtp\' GROUP BY Target ORDER BY MIN() ASC LIMIT 10',
    );
    expect(body).toContain('GROUP BY Check, Target ORDER BY MIN() ASC LIMIT 10');
    expect(body).toContain('Check, Interval) GROUP BY Check');

    // The shards carry their group; the handler adds it as the AlarmGroup dimension.
    const shard = plan.shards.find((s) => s.metrics?.group === group.id)!;
    expect(shard.metrics).toEqual({ mode: 'default', interval: '5m', group: group.id });

    // 20 more SMTP targets land in groups that have room: not one alarm more.
    const more = fleetConfig(1000);
    const extra = planConfig({
      ...more,
      targets: [
        ...(more.targets ?? []),
        ...Array.from({ length: 20 }, (_, i) => ({ name: `late-${i}`, host: `late${i}.example.com`, port: 587 })),
      ],
    });
    expect(extra.targets.length).toBe(plan.targets.length + 40);
    expect(extra.estimate.insightsAlarms).toBe(plan.estimate.insightsAlarms);
    expect(ofType(resources, 'AWS::CloudWatch::Alarm').length).toBe(
      extra.estimate.insightsAlarms + extra.estimate.otherAlarms + 9,
    );
  }, 120_000);

  it('aggregate metrics: no per-target alarms, a critical and a reporting alarm per kind', () => {
    const plan = planConfig(fleetConfig(1000, { metrics: 'aggregate' }));
    const { resources } = synth(plan);
    const names = ofType(resources, 'AWS::CloudWatch::Alarm').map((a) => String(a.Properties.AlarmName));
    expect(names.filter((n) => /-Targets(Critical|Reporting)$/.test(n)).sort()).toEqual([
      'MailProbe-mta-sts-1h-TargetsCritical',
      'MailProbe-mta-sts-1h-TargetsReporting',
      'MailProbe-smtp-5m-TargetsCritical',
      'MailProbe-smtp-5m-TargetsReporting',
      'MailProbe-tls-6h-TargetsCritical',
      'MailProbe-tls-6h-TargetsReporting',
    ]);
    expect(names).toHaveLength(6 + 9);
    expect(plan.shards.every((s) => s.metrics?.mode === 'aggregate' && s.metrics.group === undefined)).toBe(true);
  }, 120_000);
});

describe('dashboard limits', () => {
  it('refuses more than 500 widgets with a message naming the fix', async () => {
    const { Stack } = await import('aws-cdk-lib');
    const logs = await import('aws-cdk-lib/aws-logs');
    const { ProbeDashboard, DashboardLimitError } = await import('../../lib/probe-dashboard.js');
    const stack = new Stack(new App(), 'S');
    const group = new logs.LogGroup(stack, 'G');
    // 100 alarms per status widget: 50,001 alarms need 501 widgets.
    const alarms = Array.from(
      { length: 50_001 },
      (_, i) => ({ alarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:a${i}`, alarmName: `a${i}` }) as never,
    );
    expect(
      () => new ProbeDashboard(stack, 'D', { namespace: 'MailProbe', targets: [], alarms, logGroups: [group] }),
    ).toThrow(DashboardLimitError);
    expect(
      () => new ProbeDashboard(stack, 'D2', { namespace: 'MailProbe', targets: [], alarms, logGroups: [group] }),
    ).toThrow(/more than CloudWatch's 500; set alarms.mode to fleet/);
  });
});
