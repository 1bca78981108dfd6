/**
 * SES receiving for the mail flows: a receipt rule for the flows' recipients stores each
 * message in a bucket of its own (S3 action, `flow/`) and invokes the receiver
 * (lambdas/handlers/flow-receiver.ts) with the receipt event, which carries SES's verdicts;
 * the receiver logs the arrival in the state table, where the flow's next run settles it.
 *
 * Its own bucket rather than the TLS-RPT receiver's: flow messages are transient (a week's
 * lifecycle, not 90 days of evidence), a flow deployment need not have a TLS-RPT receiver,
 * and neither receiver's role can then read the other's mail. The rule set is shared the
 * way SES allows it (one active set per region): `ruleSetName` adds the rule to an existing
 * set, e.g. the one `tlsRpt.mail.ruleSetName` names.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FLOW_INCOMING_PREFIX } from '../lambdas/engine/flow/ses-event.js';
import { FLOW_ENV } from '../lambdas/engine/flow/env.js';
import { ENV } from '../lambdas/engine/shard/env.js';
import { grantStateItems } from './state-table.js';
import { HANDLER_BUNDLING, logsOnlyToOwnGroup } from './probe-function.js';
import type { FlowSesReceiving } from './config/flow-plan.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Flow messages are read once by the receiver; a week leaves time to look at one that puzzled. */
export const FLOW_MESSAGE_RETENTION_DAYS = 7;

export interface FlowReceiverProps {
  readonly receiving: FlowSesReceiving;
  /** The flows' log lives in it (lambdas/engine/flow/log-store.ts). */
  readonly stateTable: dynamodb.ITable;
  /** The deployment's token key: the receiver verifies each message's token with it. */
  readonly tokenKey: secretsmanager.ISecret;
  /** @default - stack name */
  readonly alarmNamePrefix?: string;
  /** Alarm actions of the receiver's Errors alarm. @default - none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Prebuilt code instead of bundling (tests). @default - the package's bundle, else bundled from source */
  readonly code?: lambda.Code;
}

export class FlowReceiver extends Construct {
  readonly bucket: s3.Bucket;
  readonly function: nodejs.NodejsFunction;
  readonly rule: ses.ReceiptRule;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: FlowReceiverProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { receiving } = props;
    // SES hands mail only to a rule set, bucket and function of its own region.
    if (!Token.isUnresolved(stack.region) && stack.region !== receiving.region) {
      throw new Error(
        `FlowReceiver ${this.node.path}: flows receive through SES in ${receiving.region}, but the stack deploys to ${stack.region}; deploy the stack to ${receiving.region} or set receive.ses.region to ${stack.region}`,
      );
    }

    this.bucket = new s3.Bucket(this, 'Messages', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-flow-messages',
          expiration: Duration.days(FLOW_MESSAGE_RETENTION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // CloudFormation cannot delete a bucket with objects; the lifecycle empties it within a week.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only SES writes to this bucket and only the flow receiver reads it (no public access, TLS-only policy); the objects expire in a week. CloudTrail data events are the audit trail if one is needed.',
    });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'mailprobe flow receiver (SES)',
    });
    const entry = `${ROOT}lambdas/handlers/flow-receiver.ts`;
    const prebundledDir = fileURLToPath(new URL('../bundles/flow-receiver/', import.meta.url));
    const code =
      props.code ?? (existsSync(join(prebundledDir, 'index.mjs')) ? lambda.Code.fromAsset(prebundledDir) : undefined);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...(code !== undefined
        ? { code, handler: 'index.handler' }
        : { entry, handler: 'handler', projectRoot: ROOT, depsLockFilePath: `${ROOT}package-lock.json` }),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // One message per event, ~1 KB, capped at 1 MB (ses-event.ts): seconds at most.
      timeout: Duration.seconds(30),
      role,
      logGroup,
      description: 'mailprobe: flow receiver (SES)',
      // Async (SES Event invocation): an event that failed Lambda's retries lands here.
      deadLetterQueue: new sqs.Queue(this, 'DeadLetters', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      }),
      retryAttempts: 2,
      environment: {
        [FLOW_ENV.bucket]: this.bucket.bucketName,
        [FLOW_ENV.keySecretArn]: props.tokenKey.secretArn,
        [ENV.stateTableName]: props.stateTable.tableName,
      },
      bundling: HANDLER_BUNDLING,
    });
    logsOnlyToOwnGroup(role, logGroup);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadFlowMessages',
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`${FLOW_INCOMING_PREFIX}*`)],
      }),
    );
    // The flow log's read-modify-write (flow/log-store.ts), through the state store's actions.
    grantStateItems(role, props.stateTable, 'FlowLog');
    props.tokenKey.grantRead(role);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${FLOW_INCOMING_PREFIX}*]`,
      reason: 'GetObject on the flow/ prefix of this bucket only: SES writes one object per message there.',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime the receivers are built and tested for (esbuild target node22).',
    });

    const ruleSet = receiving.ruleSetName
      ? ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', receiving.ruleSetName)
      : new ses.ReceiptRuleSet(this, 'RuleSet', {});
    this.rule = new ses.ReceiptRule(this, 'Rule', {
      ruleSet,
      recipients: [...receiving.recipients],
      // The spam and virus verdicts (FLOW_SPAM) need the scan.
      scanEnabled: true,
      // What arrives is what the path delivered: the hops' TLS is judged from the Received chain, not refused here.
      tlsPolicy: ses.TlsPolicy.OPTIONAL,
      actions: [
        new sesActions.S3({ bucket: this.bucket, objectKeyPrefix: FLOW_INCOMING_PREFIX }),
        new sesActions.Lambda({ function: this.function, invocationType: sesActions.LambdaInvocationType.EVENT }),
      ],
    });

    const domains = [...new Set(receiving.recipients.map((r) => r.slice(r.lastIndexOf('@') + 1)))];
    new CfnOutput(this, 'InboundMx', {
      value: `inbound-smtp.${receiving.region}.amazonaws.com`,
      description: `Mail flows: publish "MX 10 <this>" for ${domains.join(', ')}${receiving.ruleSetName ? '' : ', and activate the new receipt rule set once (aws ses set-active-receipt-rule-set)'}`,
    });

    const prefix = props.alarmNamePrefix ?? stack.stackName;
    const errors = new cloudwatch.Alarm(this, 'Errors', {
      alarmName: `${prefix}-flow-receiver-Errors`,
      alarmDescription:
        "mailprobe: the flow receiver failed on a message SES received (S3, DynamoDB or Secrets Manager unavailable, or a deployment fault). Meaning: arrivals may go unrecorded, and their flows then report messages lost. Action: read the receiver's log group and its dead-letter queue.",
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmActions && props.alarmActions.length > 0) errors.addAlarmAction(...props.alarmActions);
    this.alarms = [errors];
  }
}
