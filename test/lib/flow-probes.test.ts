/**
 * The deployed flows in CloudFormation: the flow function and one schedule per flow, the
 * generated token key and who may read it, the relay and mailbox secrets in its policy, the
 * Delivered alarm per flow (per-target mode) or over all flows (fleet mode), the reporting
 * alarm, the latency widget, the composite alarm; cdk-nag's AwsSolutions pass (synth throws on
 * any unacknowledged finding). No bundling in unit tests (TOOLCHAIN.md).
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { PlanError, planConfig, type Plan } from '../../lib/config/plan.js';
import { MailProbes } from '../../lib/mail-probes.js';
import { synthSizes } from '../../lib/template-limits.js';

const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
const imap = { imap: { host: 'imap.example.com', auth: { secretArn: ARN('mailbox') } } };
const CONFIG = {
  targets: [
    { name: 'relay', host: 'relay.example.com', port: 587, tls: 'starttls', auth: { secretArn: ARN('relay') } },
  ],
  flows: [
    { name: 'to-inbox', via: 'relay', from: 'probe@example.com', to: 'probe@example.net', receive: imap },
    {
      name: 'Hourly.Check',
      via: 'relay',
      from: 'probe@example.com',
      to: 'probe@example.org',
      receive: imap,
      schedule: 'rate(1 hour)',
      maxSeconds: 1800,
    },
  ],
};

function synth(raw: unknown, region = 'eu-west-1'): { template: Template; plan: Plan; probes: MailProbes } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const plan = planConfig(validateConfig(raw), { alarmNamePrefix: 'Mail' });
  const stack = new Stack(app, 'Mail', { env: { account: '123456789012', region } });
  const probes = new MailProbes(stack, 'Probes', { plan });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { template: Template.fromStack(stack), plan, probes };
}

describe('deployed flows', () => {
  let template: Template;
  let plan: Plan;
  let probes: MailProbes;
  beforeAll(() => {
    ({ template, plan, probes } = synth(CONFIG));
  });

  it('plans one shard per flow, named after it, with its own schedule; none of them among the target shards', () => {
    expect(plan.flows?.shards.map((s) => [s.shard, s.schedule, s.specs.length])).toEqual([
      ['flow-to-inbox', 'rate(15 minutes)', 1],
      ['flow-hourly-check', 'rate(1 hour)', 1],
    ]);
    expect(plan.flows?.secretArns).toEqual([ARN('mailbox'), ARN('relay')]);
    expect(plan.shards.some((s) => s.check === 'flow')).toBe(false);
    expect(probes.functions.get('flow')).toBe(probes.flows?.probe);
  });

  it('deploys the flow function with the token key and the state table in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: flow checks',
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: Match.objectLike({
          FLOW_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp('FlowsTokenKey') },
          STATE_TABLE_NAME: Match.anyValue(),
          METRIC_NAMESPACE: 'MailProbe',
        }),
      },
    });
  });

  it('schedules each flow (default every 15 minutes)', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      Description: Match.stringLikeRegexp('^mailprobe flow-to-inbox: 1 flow check'),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Description: Match.stringLikeRegexp('^mailprobe flow-hourly-check:'),
    });
  });

  it('generates the token key (64 letters and digits: 48 bytes as base64), one per deployment', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
  });

  it('lets the flow function, and only it, read the token key, the relay login and the mailbox login', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: { Ref: Match.stringLikeRegexp('FlowsTokenKey') },
            }),
          ]),
        },
      },
    });
    expect(Object.keys(policies)).toHaveLength(1);
    expect(Object.keys(policies)[0]).toMatch(/^ProbesFlowsProbeRole/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'secretsmanager:GetSecretValue',
            Resource: [ARN('mailbox'), `${ARN('mailbox')}-??????`, ARN('relay'), `${ARN('relay')}-??????`],
          }),
        ]),
      },
    });
  });

  it('pages on a lost message: one Delivered alarm per flow in per-target mode, with the topic as its action', () => {
    expect(plan.flows?.alarmLayout).toBe('per-flow');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mail-flow-to-inbox-Delivered',
      MetricName: 'Delivered',
      Namespace: 'MailProbe',
      Dimensions: [
        { Name: 'Check', Value: 'flow' },
        { Name: 'Target', Value: 'to-inbox' },
      ],
      Statistic: 'Minimum',
      Period: 900,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertsTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mail-flow-Hourly.Check-Delivered',
      Period: 3600,
    });
  });

  it('pages when flows stop running: TargetsReporting of the flow kind per interval, missing data breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mail-flow-15m-TargetsReporting',
      MetricName: 'TargetsReporting',
      Dimensions: [
        { Name: 'Check', Value: 'flow' },
        { Name: 'Interval', Value: '15m' },
      ],
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    // The function alarms of every kind cover the flow function too.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Mail-flow-function-Errors' });
  });

  it('puts the flow alarms into the AnyCritical composite and the latency widget on the dashboard', () => {
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmRule: Match.stringLikeRegexp('Mail-flow-to-inbox-Delivered'),
    });
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]);
    expect(body).toContain('Mail flow: delivery time (s)');
    expect(body).toContain('DeliverySeconds');
    // The alarm-status widget shows the flow alarms next to the others.
    expect(body).toMatch(/ProbesFlowsMonitoringDelivered/);
    // widgets() (for a dashboard of the user's own) carries the latency graph too.
    expect(JSON.stringify(probes.widgets().flatMap((w) => w.toJson()))).toContain('Mail flow: delivery time (s)');
  });

  it('in fleet mode pages through one Metrics Insights alarm over every flow', () => {
    const fleet = synth({ ...CONFIG, alarms: { mode: 'fleet' } });
    expect(fleet.plan.flows?.alarmLayout).toBe('insights');
    fleet.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mail-flow-Delivered',
      Metrics: [
        Match.objectLike({
          Expression:
            'SELECT MIN(Delivered) FROM SCHEMA("MailProbe", Check, Target) WHERE Check = \'flow\' GROUP BY Target',
          Period: 900,
        }),
      ],
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(
      Object.keys(fleet.template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Delivered' } })),
    ).toEqual([]);
  });

  it('deploys nothing for flows when the config has none', () => {
    const { template: none, probes: noFlows } = synth({ targets: CONFIG.targets });
    none.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(noFlows.functions.has('flow')).toBe(false);
  });

  it('refuses a flow whose two deadlines do not fit the function timeout, saying what to change', () => {
    const raw = {
      ...CONFIG,
      defaults: { functionTimeoutSeconds: 60 },
      flows: [{ ...CONFIG.flows[0], timeoutMs: 30_000 }],
    };
    expect(() => planConfig(validateConfig(raw))).toThrow(PlanError);
    expect(() => planConfig(validateConfig(raw))).toThrow(
      /flows\[0\]\.timeoutMs: a flow run takes up to twice its timeout/,
    );
  });
});

describe('flows received through SES', () => {
  const sesFlow = {
    name: 'ses-in',
    via: 'relay',
    from: 'probe@example.com',
    to: 'Flow@In.Example.net',
    receive: { ses: { region: 'eu-west-1' } },
  };
  let template: Template;
  let probes: MailProbes;
  beforeAll(() => {
    ({ template, probes } = synth({ ...CONFIG, flows: [...CONFIG.flows, sesFlow] }));
  });

  it('adds a receipt rule for the flow recipients: scan on, the message to S3 under flow/, then the receiver', () => {
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({
        Recipients: ['flow@in.example.net'],
        ScanEnabled: true,
        Enabled: true,
        Actions: [
          { S3Action: Match.objectLike({ ObjectKeyPrefix: 'flow/' }) },
          { LambdaAction: Match.objectLike({ InvocationType: 'Event' }) },
        ],
      }),
    });
    template.resourceCountIs('AWS::SES::ReceiptRuleSet', 1);
  });

  it('keeps the messages a week in a private, TLS-only bucket of their own', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Id: 'expire-flow-messages', ExpirationInDays: 7, Status: 'Enabled' })],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
    });
  });

  it('lets the receiver read flow/ only, the token key and the state table; its failures page', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: flow receiver (SES)',
      Environment: {
        Variables: {
          FLOW_BUCKET: Match.anyValue(),
          FLOW_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp('FlowsTokenKey') },
          STATE_TABLE_NAME: Match.anyValue(),
        },
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ReadFlowMessages',
            Action: 's3:GetObject',
            Resource: { 'Fn::Join': ['', [Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }), '/flow/*']] },
          }),
          Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Mail-flow-receiver-Errors' });
    expect(probes.flows?.alarms.length).toBe((probes.flows?.monitoring.alarms.length ?? 0) + 1);
  });

  it('adds the rule to an existing rule set when one is named, and creates none', () => {
    const named = synth({
      ...CONFIG,
      flows: [{ ...sesFlow, receive: { ses: { region: 'eu-west-1', ruleSetName: 'active-set' } } }],
    }).template;
    named.resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
    named.hasResourceProperties('AWS::SES::ReceiptRule', { RuleSetName: 'active-set' });
  });

  it('refuses at plan time a region without SES receiving, with the list of those that have it', () => {
    const raw = { ...CONFIG, flows: [{ ...sesFlow, receive: { ses: { region: 'eu-south-2' } } }] };
    expect(() => planConfig(validateConfig(raw))).toThrow(
      /flows\[0\]\.receive\.ses\.region: SES email receiving is not available in eu-south-2; use one of us-east-1, .*eu-west-1/,
    );
  });

  it('refuses a stack in another region than the one SES receives in, saying both', () => {
    expect(() => synth({ ...CONFIG, flows: [sesFlow] }, 'us-east-1')).toThrow(
      /receive through SES in eu-west-1, but the stack deploys to us-east-1/,
    );
  });
});

describe('the plan counts what flows add to the stack', () => {
  it.each(['per-target', 'fleet'] as const)(
    'alarms.mode %s: the estimate grows by exactly the resources the synthesized stack gains',
    (mode) => {
      const ses = {
        name: 'ses-in',
        via: 'relay',
        from: 'probe@example.com',
        to: 'flow@in.example.net',
        receive: { ses: { region: 'eu-west-1' } },
      };
      const hourly = { ...CONFIG.flows[1]!, name: 'hourly-2', to: 'probe2@example.org' };
      const measure = (flows: readonly object[] | undefined) => {
        const plan = planConfig(validateConfig({ ...CONFIG, flows, alarms: { mode } }));
        return { estimated: plan.estimate.resources, synthesized: synthSizes(plan)[0]!.resources };
      };
      const none = measure(undefined);
      for (const flows of [[CONFIG.flows[0]!], CONFIG.flows, [...CONFIG.flows, hourly], [...CONFIG.flows, ses]]) {
        const some = measure(flows);
        expect(some.synthesized - none.synthesized).toBeGreaterThan(14);
        expect(some.estimated - none.estimated).toBe(some.synthesized - none.synthesized);
      }
    },
  );
});
