/** The state table in the synthesized template: its settings, item-level IAM on it only, no AlertState left. */
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { planConfig } from '../../lib/config/plan.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import { MailProbes, type MailProbesProps } from '../../lib/mail-probes.js';

const CONFIG = {
  targets: [{ name: 'relay', host: 'smtp.example.com', port: 587 }],
  domains: ['example.com'],
  alerting: { email: ['oncall@example.com'] },
};
const ENV = { account: '123456789012', region: 'eu-west-1' };

function nagged(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

function probes(props: Partial<MailProbesProps>): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Custom', { env: ENV });
  new MailProbes(stack, 'Probes', { plan: planConfig(validateConfig(CONFIG)), ...props });
  nagged(app);
  return Template.fromStack(stack);
}

describe('state table', () => {
  let template: Template;
  let tableId: string;

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new MailProbeStack(app, 'MailProbe', { plan: planConfig(validateConfig(CONFIG)), env: ENV });
    nagged(app);
    template = Template.fromStack(stack);
    tableId = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0]!;
  });

  it('is on demand, encrypted, with TTL on expiresAt and point-in-time recovery, and retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('gives each probe role BatchGetItem and PutItem on that table only, and its name in the environment', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
          .Statement,
    );
    const dynamo = statements.filter((s) => JSON.stringify(s['Action']).includes('dynamodb:'));
    // One statement per probe function (smtp, tls, mta-sts).
    expect(dynamo).toHaveLength(3);
    for (const s of dynamo) {
      expect(s).toEqual({
        Sid: 'ProbeState',
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      });
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: mta-sts checks',
      Environment: { Variables: Match.objectLike({ STATE_TABLE_NAME: { Ref: tableId } }) },
    });
    template.hasOutput('StateTableName', { Value: { Ref: tableId } });
  });

  it('has no AlertState metric and no GetMetricData anywhere', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('AlertState');
    expect(json).not.toContain('GetMetricData');
  });

  it("uses the user's own table instead of creating one", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Own', { env: ENV });
    const own = dynamodb.Table.fromTableName(stack, 'Own', 'team-probe-state');
    new MailProbes(stack, 'Probes', { plan: planConfig(validateConfig(CONFIG)), stateTable: own });
    nagged(app);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::DynamoDB::Table', 0);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ProbeState',
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([Match.stringLikeRegexp(':dynamodb:eu-west-1:123456789012:table/team-probe-state')]),
              ],
            },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_TABLE_NAME: 'team-probe-state' }) },
    });
  });

  it('turns point-in-time recovery off and sets the removal policy when asked, and cdk-nag stays clean', () => {
    const t = probes({ stateTablePointInTimeRecovery: false, stateTableRemovalPolicy: RemovalPolicy.DESTROY });
    t.hasResource('AWS::DynamoDB::Table', {
      Properties: { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } },
      DeletionPolicy: 'Delete',
    });
  });
});
