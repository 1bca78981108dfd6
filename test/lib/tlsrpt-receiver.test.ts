/**
 * The TLS-RPT receiver's CloudFormation: the bucket (encryption, block public access,
 * TLS-only policy, lifecycle), the throttled HTTP API, the SES receipt rule, the
 * least-privilege functions and the per-domain alarms; cdk-nag's AwsSolutions pass
 * (synth throws on any unacknowledged finding). Inline code: no bundling in unit tests.
 */
import { App, CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../lib/config/load.js';
import { planConfig } from '../../lib/config/plan.js';
import { MailProbes } from '../../lib/mail-probes.js';
import { TlsRptReceiver, type TlsRptReceiverProps } from '../../lib/tlsrpt-receiver.js';

const DOMAINS = [
  { domain: 'example.com', name: 'example', mtaSts: true },
  { domain: 'example.org', name: 'example.org', mtaSts: false },
];

function synth(props: Partial<TlsRptReceiverProps> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Reports', { env: { account: '123456789012', region: 'eu-west-1' } });
  const topic = new sns.Topic(stack, 'Alerts', { enforceSSL: true });
  Validations.of(topic).acknowledge({ id: 'AwsSolutions-SNS2', reason: 'test topic' });
  new TlsRptReceiver(stack, 'TlsRpt', {
    namespace: 'MailProbe',
    domains: DOMAINS,
    https: {},
    mail: { recipients: ['tlsrpt@reports.example.com'] },
    alertTopic: topic,
    code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
    ...props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return Template.fromStack(stack);
}

describe('TlsRptReceiver', () => {
  let template: Template;
  beforeAll(() => {
    template = synth();
  });

  it('keeps raw reports in an encrypted, private, TLS-only bucket that expires them after 90 days', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Id: 'expire-reports', ExpirationInDays: 90, Status: 'Enabled' })],
      },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          // SES writes incoming mail under incoming/ only.
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:PutObject',
            Principal: { Service: 'ses.amazonaws.com' },
            Resource: { 'Fn::Join': ['', [Match.anyValue(), '/incoming/*']] },
          }),
        ]),
      },
    });
  });

  it('serves POST /v1/tlsrpt on an HTTP API whose stage throttles and logs access', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /v1/tlsrpt' });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
    });
  });

  it('runs each receiver with reserved concurrency, its own log group, and least-privilege IAM', () => {
    const policies = () => JSON.stringify(template.findResources('AWS::IAM::Policy'));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: TLS-RPT https receiver',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 5,
      Environment: {
        Variables: {
          TLSRPT_BUCKET: Match.anyValue(),
          TLSRPT_DOMAINS: JSON.stringify(DOMAINS),
          METRIC_NAMESPACE: 'MailProbe',
          ALERT_TOPIC_ARN: Match.anyValue(),
          STATE_TABLE_NAME: { Ref: Match.stringLikeRegexp('^TlsRptCounters') },
          TLSRPT_TRUSTED_SUBMITTERS: '["google.com","microsoft.com"]',
        },
      },
    });
    // Without the probes' table, a counters table of its own with the same layout (TTL, on demand).
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: TLS-RPT mail receiver',
      ReservedConcurrentExecutions: 2,
      DeadLetterConfig: { TargetArn: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'StoreReports',
            Effect: 'Allow',
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [Match.anyValue(), '/reports/*']] },
          },
          {
            Sid: 'PutReportMetrics',
            Effect: 'Allow',
            Action: 'cloudwatch:PutMetricData',
            Resource: '*',
            Condition: { StringEquals: { 'cloudwatch:namespace': 'MailProbe' } },
          },
          {
            Sid: 'CountDailyLimits',
            Effect: 'Allow',
            Action: 'dynamodb:UpdateItem',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TlsRptCounters'), 'Arn'] },
            Condition: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['tlsrpt-day#*'] },
              'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'n', 'm', 'expiresAt'] },
            },
          },
          {
            Sid: 'ReadMtaStsProbeState',
            Effect: 'Allow',
            Action: 'dynamodb:GetItem',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TlsRptCounters'), 'Arn'] },
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['mta-sts#*', 'tlsrpt-day#*'] } },
          },
        ]),
      },
    });
    // The daily digest: the mail function, at 07:00 UTC, with the digest input.
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 7 * * ? *)',
      Target: Match.objectLike({ Input: '{"tlsrptDigest":"yesterday"}' }),
    });
    // The receivers never write probe state nor scan the table.
    expect(policies()).not.toMatch(/dynamodb:(PutItem|DeleteItem|Scan|Query|BatchWriteItem)/);
    // No function may delete or overwrite-read reports, nor use the AWS-managed basic role.
    expect(policies()).not.toContain('s3:DeleteObject');
    expect(policies()).not.toContain('"s3:*"');
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain('AWSLambdaBasicExecutionRole');
  });

  it('receives mail with an SES receipt rule: S3 to incoming/, then the parser (Event)', () => {
    template.resourceCountIs('AWS::SES::ReceiptRuleSet', 1);
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: {
        Enabled: true,
        Recipients: ['tlsrpt@reports.example.com'],
        ScanEnabled: true,
        TlsPolicy: 'Optional',
        Actions: [
          { S3Action: { BucketName: Match.anyValue(), ObjectKeyPrefix: 'incoming/' } },
          { LambdaAction: { FunctionArn: Match.anyValue(), InvocationType: 'Event' } },
        ],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'ses.amazonaws.com',
    });
  });

  it('alarms per domain on any failed session in a day, notifying the topic; no report is not a failure', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Reports-tlsrpt-example-FailedSessions',
      Namespace: 'MailProbe',
      MetricName: 'TlsRptFailedSessions',
      Dimensions: [
        { Name: 'Check', Value: 'tlsrpt' },
        { Name: 'Target', Value: 'example' },
      ],
      Statistic: 'Sum',
      Period: 86400,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp(
        "to example\\.com's MX hosts.*Action: run `mailprobe mta-sts example\\.com`",
      ),
    });
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'TlsRptFailedSessions' }, 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Reports-tlsrpt-mail-receiver-Errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 1,
      AlarmActions: [Match.anyValue()],
    });
  });

  it('alarms within the hour when a daily limit refuses requests or reports (data lost), not for held-back alerts', () => {
    const dropped = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName === 'Reports-tlsrpt-Dropped',
    );
    expect(dropped).toHaveLength(1);
    const props = (dropped[0] as { Properties: Record<string, unknown> }).Properties;
    expect(props).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [expect.anything()],
      OKActions: [expect.anything()],
    });
    const metrics = props['Metrics'] as {
      Id: string;
      Expression?: string;
      MetricStat?: {
        Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] };
        Period: number;
        Stat: string;
      };
    }[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('m0 + m1 + m2');
    const reasons = metrics.flatMap((m) =>
      m.MetricStat ? [m.MetricStat.Metric.Dimensions.find((d) => d.Name === 'Reason')?.Value] : [],
    );
    expect(reasons.sort()).toEqual(['reports-per-domain', 'reports-per-submitter', 'requests-per-source']);
    for (const m of metrics.filter((x) => x.MetricStat)) {
      expect(m.MetricStat).toMatchObject({ Metric: { MetricName: 'TlsRptDropped' }, Period: 3600, Stat: 'Sum' });
    }
  });
});

describe('TlsRptReceiver options', () => {
  it('a share threshold alarms on a metric-math expression of failed and successful sessions', () => {
    const template = synth({ alarm: { failedSessions: 10, failedPercent: 5 }, mail: undefined });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Reports-tlsrpt-example-FailedSessions',
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(f >= 10 AND 100 * f / (f + s) >= 5, 1, 0)' }),
        Match.objectLike({
          Id: 's',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'TlsRptSuccessfulSessions' }),
            Stat: 'Sum',
          }),
        }),
      ]),
    });
    template.resourceCountIs('AWS::SES::ReceiptRule', 0);
  });

  it('an existing state table with its own KMS key: counters there, the key granted, cdk-nag clean', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Reports', { env: { account: '123456789012', region: 'eu-west-1' } });
    const table = new dynamodb.Table(stack, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    new TlsRptReceiver(stack, 'TlsRpt', {
      namespace: 'MailProbe',
      domains: DOMAINS,
      https: {},
      stateTable: table,
      limits: { alertsPerDomainPerDay: 3 },
      code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          STATE_TABLE_NAME: { Ref: Match.stringLikeRegexp('^State') },
          TLSRPT_LIMITS: '{"alertsPerDomainPerDay":3}',
        }),
      },
    });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('kms:Decrypt');
  });

  it('retention, throttling and an existing rule set are configurable', () => {
    const template = synth({
      retention: Duration.days(30),
      https: { rateLimit: 2, burstLimit: 4, reservedConcurrency: 3 },
      mail: { recipients: ['tlsrpt@example.com'], ruleSetName: 'default-rule-set' },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: TLS-RPT https receiver',
      ReservedConcurrentExecutions: 3,
    });
    template.resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
    template.hasResourceProperties('AWS::SES::ReceiptRule', { RuleSetName: 'default-rule-set' });
  });

  it('refuses a receiver without receivers or without domains, saying what to set', () => {
    expect(() => synth({ https: undefined, mail: undefined })).toThrow(
      /enable at least one receiver \(https or mail\)/,
    );
    expect(() => synth({ domains: [] })).toThrow(/list them in tlsRpt.domains/);
    const many = Array.from({ length: 80 }, (_, i) => ({
      domain: `domain-${i}.example.com`,
      name: `domain-${i}`,
      mtaSts: true,
    }));
    expect(() => synth({ domains: many })).toThrow(/80 domains take \d+ bytes of environment, over the 3000 bytes/);
  });
});

describe('from the config file (tlsRpt section, wired by MailProbes)', () => {
  const inline = () => lambda.Code.fromInline('export const handler = async () => ({});');

  it('accepts the mta-sts domains by default, under their metric names, with the stack topic; cdk-nag clean', () => {
    const plan = planConfig(
      validateConfig({
        domains: [{ domain: 'example.com', name: 'example' }],
        tlsRpt: {
          https: true,
          mail: { recipients: ['tlsrpt@reports.example.com'] },
          retentionDays: 400,
          limits: { reportsPerDomainPerDay: 10, alertsPerDomainPerDay: 2 },
          trustedSubmitters: ['google.com'],
        },
      }),
    );
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'MailProbe', { env: { account: '123456789012', region: 'eu-west-1' } });
    const probes = new MailProbes(stack, 'MailProbes', { plan, code: inline, tlsRptCode: inline });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const template = Template.fromStack(stack);
    expect(probes.tlsRpt).toBeDefined();
    // The plan's resource estimate (checked against CloudFormation's 500) counts exactly what the receiver adds.
    const receiverResources = probes.tlsRpt!.node.findAll().filter((c) => c instanceof CfnResource).length;
    const without = planConfig(validateConfig({ domains: [{ domain: 'example.com', name: 'example' }] }));
    expect(plan.estimate.resources - without.estimate.resources).toBe(receiverResources);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: TLS-RPT https receiver',
      Environment: {
        Variables: Match.objectLike({
          TLSRPT_DOMAINS: JSON.stringify([{ domain: 'example.com', name: 'example', mtaSts: true }]),
          TLSRPT_LIMITS: '{"reportsPerDomainPerDay":10,"alertsPerDomainPerDay":2}',
          TLSRPT_TRUSTED_SUBMITTERS: '["google.com"]',
          // The probes' own state table: counters beside it, and the mta-sts state read from it.
          STATE_TABLE_NAME: { Ref: Match.stringLikeRegexp('^MailProbesState') },
        }),
      },
    });
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 400 })] },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'MailProbe-tlsrpt-example-FailedSessions' });
    template.hasOutput('*', {
      Value: 'mailto:tlsrpt@reports.example.com',
      Description: Match.stringLikeRegexp('_smtp._tls.DOMAIN TXT'),
    });
    template.hasOutput('*', {
      Value: {
        'Fn::Join': ['', ['https://', Match.anyValue(), '.execute-api.eu-west-1.', Match.anyValue(), '/v1/tlsrpt']],
      },
    });
  });

  it('no tlsRpt section: no receiver resources', () => {
    const plan = planConfig(validateConfig({ domains: ['example.com'] }));
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'MailProbe');
    const probes = new MailProbes(stack, 'MailProbes', { plan, code: inline });
    expect(probes.tlsRpt).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::ApiGatewayV2::Api', 0);
  });

  it.each([
    [{ tlsRpt: {} }, /tlsRpt.*enable at least one receiver/],
    [{ tlsRpt: { https: true, retentionDays: 0 } }, /tlsRpt\.retentionDays.*expected 1–3650, got 0/],
    [
      { tlsRpt: { mail: { recipients: ['not-an-address'] } } },
      /tlsRpt\.mail\.recipients\[0\]: expected an e-mail address/,
    ],
    [{ tlsRpt: { https: true, alarm: { failedPercent: 120 } } }, /tlsRpt\.alarm\.failedPercent/],
  ])('config %j is refused with the path and the fix', (raw, message) => {
    let error: unknown;
    try {
      validateConfig(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });
});
