import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import { MailProbes } from '../../lib/mail-probes.js';
import { scheduledShards } from '../../testkit/shard-artifacts.js';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/relay';

const CONFIG = {
  namespace: 'MailProbe',
  targets: [
    { name: 'relay', host: 'smtp.example.com', port: 587, auth: { secretArn: SECRET } },
    {
      name: 'mx',
      host: 'mx.example.com',
      port: 25,
      checks: ['smtp'],
      schedule: 'rate(10 minutes)',
      thresholds: { warnDays: 21 },
    },
    { name: 'ses-eu', ses: { region: 'eu-west-1', ports: [587], account: { identities: ['example.com'] } } },
  ],
  domains: ['example.com'],
  alerting: { email: ['oncall@example.com'], https: ['https://hooks.example.com/mailprobe'] },
};

/** Synthesizes without bundling (TOOLCHAIN.md: keeps infra tests fast) and with cdk-nag, which fails synth on any unacknowledged finding. */
function synth(raw: unknown): { stack: MailProbeStack; template: Template; plan: Plan } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const plan = planConfig(validateConfig(raw));
  const stack = new MailProbeStack(app, 'MailProbe', { plan, env: { account: '123456789012', region: 'eu-west-1' } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Template.fromStack synthesizes the app, which runs the cdk-nag plugin: an unacknowledged finding throws here.
  const template = Template.fromStack(stack);
  return { stack, template, plan };
}

describe('MailProbeStack', () => {
  let template: Template;
  let stack: MailProbeStack;

  beforeAll(() => {
    ({ template, stack } = synth(CONFIG));
  });

  it('has one Node.js 22 arm64 function per check kind', () => {
    const fns = template.findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' },
    });
    expect(Object.keys(fns)).toHaveLength(4);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: smtp checks',
      Timeout: 300,
      MemorySize: 512,
      DeadLetterConfig: { TargetArn: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({ METRIC_NAMESPACE: 'MailProbe', ALERT_TOPIC_ARN: Match.anyValue() }),
      },
      LoggingConfig: { LogGroup: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 4);
  });

  it('schedules each shard with its rate and a reference to the shard in its function layer as input', async () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Input: Match.serializedJson({
          version: 1,
          shard: 'smtp-5m-1',
          check: 'smtp',
          artifact: { sha256: Match.stringLikeRegexp('^[0-9a-f]{64}$'), bytes: Match.anyValue() },
        }),
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: smtp checks',
      Layers: [Match.objectLike({ Ref: Match.anyValue() })],
    });
    const smtp = (await scheduledShards(stack, template)).find((s) => s.shard === 'smtp-5m-1')!;
    expect(smtp.specs).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'relay', auth: { secretArn: SECRET } })]),
    );
    const expressions = Object.values(template.findResources('AWS::Scheduler::Schedule')).map(
      (r) => (r as { Properties: { ScheduleExpression: string } }).Properties.ScheduleExpression,
    );
    expect(expressions.sort()).toEqual([
      'rate(1 hour)',
      'rate(10 minutes)',
      'rate(5 minutes)',
      'rate(6 hours)',
      'rate(6 hours)',
    ]);
  });

  it('alarms on Success < 1 in 2 of 3 runs with missing data breaching, per target', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-smtp-relay-Success',
      Namespace: 'MailProbe',
      MetricName: 'Success',
      Dimensions: [
        { Name: 'Check', Value: 'smtp' },
        { Name: 'Target', Value: 'relay' },
      ],
      Statistic: 'Minimum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp('the smtp check of relay \\(smtp.example.com:587\\) failed.*Action:'),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-mta-sts-example.com-Success',
      Period: 3600,
    });
  });

  it('alarms on CertDaysToExpiry at or below the warn days and on weak DH (0 = no DHE is fine)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-tls-relay-CertDaysToExpiry',
      MetricName: 'CertDaysToExpiry',
      Threshold: 30,
      // The CERT_EXPIRING finding fires at or below warnDays; so does the alarm (issue 10, item 7).
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      Period: 21600,
      TreatMissingData: 'ignore',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-smtp-mx-CertDaysToExpiry',
      Threshold: 21,
      Period: 600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-tls-relay-DhKeyBits',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(dh > 0 AND dh < 2048, 1, 0)' })]),
    });
    // The smtp check of an endpoint that also has a tls check does not alarm on the same certificate twice.
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { AlarmName: 'MailProbe-smtp-relay-CertDaysToExpiry' },
      0,
    );
  });

  it('alarms when the SES quota use reaches the warn percentage, and shows it on the dashboard', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-ses-account-ses-eu-QuotaUsedPercent',
      MetricName: 'QuotaUsedPercent',
      Dimensions: Match.arrayWith([{ Name: 'Check', Value: 'ses-account' }]),
      Statistic: 'Maximum',
      Threshold: 80,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-ses-account-ses-eu-Success',
      TreatMissingData: 'breaching',
    });
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'QuotaUsedPercent' }, 1);
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(dashboards)).toContain('SES 24-hour quota used (%)');
  });

  it('alarms on the functions errors, throttles and duration near the timeout', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-smtp-function-Errors',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-tls-function-Throttles',
      MetricName: 'Throttles',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-mta-sts-function-Duration',
      MetricName: 'Duration',
      Statistic: 'Maximum',
      Threshold: 240_000,
    });
  });

  it('encrypts the alert topic with a rotated KMS key, refuses non-TLS publishers and lets CloudWatch publish', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/mailprobe',
    });
  });

  it('grants PutMetricData only in the namespace, GetSecretValue only on the named secret, SES reads only to ses-account', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'PutProbeMetrics',
            Effect: 'Allow',
            Action: 'cloudwatch:PutMetricData',
            Resource: '*',
            Condition: { StringEquals: { 'cloudwatch:namespace': 'MailProbe' } },
          },
          {
            Sid: 'ReadSmtpCredentials',
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: [SECRET, `${SECRET}-??????`],
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ReadSesAccount',
            Effect: 'Allow',
            Action: [
              'ses:GetAccountSendingEnabled',
              'ses:GetSendQuota',
              'ses:GetIdentityVerificationAttributes',
              'ses:GetIdentityDkimAttributes',
            ],
            Resource: '*',
            Condition: { StringEquals: { 'aws:RequestedRegion': ['eu-west-1'] } },
          },
        ]),
      },
    });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p));
    expect(policies.filter((p) => p.includes('secretsmanager:'))).toHaveLength(1);
    expect(policies.filter((p) => p.includes('ses:Get'))).toHaveLength(1);
    // No AWS-managed execution policy: the roles write only to their own log group.
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain('AWSLambdaBasicExecutionRole');
  });

  it('has a dashboard and the saved Logs Insights query over the probe log groups', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const title of [
      'mailprobe alarms',
      'smtp: Success',
      'Certificate days to expiry',
      'DHE key bits',
      'MTA-STS status per domain',
    ]) {
      expect(body).toContain(title);
    }
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'MailProbe/mailprobe/failed checks in the last 24 h by code',
      QueryString: Match.stringLikeRegexp('filter ispresent\\(findings.0.code\\) and status != "ok"'),
      LogGroupNames: Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('ProbesmtpLogs') })]),
    });
  });

  it('outputs the alert topic to subscribe to and the dashboard URL', () => {
    template.hasOutput('AlertTopicArn', { Value: { Ref: Match.stringLikeRegexp('^MailProbesAlertsTopic') } });
    template.hasOutput('DashboardUrl', { Value: Match.anyValue() });
  });

  it('warns that port-25 checks need a VPC', () => {
    Annotations.fromStack(stack).hasWarning(
      '/MailProbe/MailProbes',
      // The domain's MX hosts are not probed without a VPC (mx: auto), so only the port-25 target is named.
      Match.stringLikeRegexp('smtp mx use port 25.*AWS restricts outbound port 25 from Lambda'),
    );
  });
});

describe('MailProbeStack in a VPC', () => {
  it('puts the functions in the configured subnets and security groups, and does not warn', () => {
    const { template, stack } = synth({
      ...CONFIG,
      vpc: {
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: mta-sts checks',
      VpcConfig: {
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      },
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('port 25'));
  });

  it('fails synth with a clear message when a check cannot fit the function timeout', () => {
    expect(() =>
      synth({ defaults: { functionTimeoutSeconds: 30 }, domains: [{ domain: 'example.com', timeoutMs: 25_000 }] }),
    ).toThrowError(/does not fit a 30 s function/);
  });
});

describe("MailProbes in a user's own stack", () => {
  it('sends alarms and OK actions to an existing topic and creates neither topic nor key', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Theirs', { env: { account: '123456789012', region: 'eu-west-1' } });
    const topic = sns.Topic.fromTopicArn(stack, 'OnCall', 'arn:aws:sns:eu-west-1:123456789012:on-call');
    new MailProbes(stack, 'Probes', {
      plan: planConfig(
        validateConfig({ targets: [{ name: 'relay', host: 'smtp.example.com', port: 587, checks: ['smtp'] }] }),
      ),
      alertTopic: topic,
      alarmNamePrefix: 'team-a',
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'team-a-smtp-relay-Success',
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:on-call'],
      OKActions: ['arn:aws:sns:eu-west-1:123456789012:on-call'],
    });
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
  });
});
