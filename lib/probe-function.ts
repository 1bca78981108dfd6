/**
 * One probe function per check kind (its own bundle, its own least-privilege role),
 * its log group, its dead-letter queue, a layer of the plan's shards, and one EventBridge
 * Scheduler schedule per shard, with a reference to its shard as the invocation's input.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlertFormat } from '../lambdas/engine/alerts/chatbot.js';
import type { CheckKind } from '../lambdas/engine/result.js';
import { SES_ACCOUNT_IAM_ACTIONS } from '../lambdas/engine/ses/api-errors.js';
import { SHARD_ARTIFACT_FOLDER, shardArtifact, type ShardReference } from '../lambdas/engine/shard/artifact.js';
import { HEARTBEAT_FIELD, type ShardEvent } from '../lambdas/engine/shard/event.js';
import { grantStateItems } from './state-table.js';
import { ENV } from '../lambdas/engine/shard/env.js';
import { HANDLER_MAIN_FIELDS, HANDLER_TARGET, REQUIRE_BANNER } from './bundle-options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The handler bundle `npm run build` made for this handler (dist/bundles/<name>/index.mjs,
 * shipped in the npm package), or undefined. Looked up next to this file: from the package
 * (dist/lib/) it is found; from a clone (lib/) it is not, and the handler is bundled from
 * source, so edits to the engine deploy without a build step.
 */
export function prebundledHandlerDir(handler: CheckKind | `tlsrpt-${string}`): string | undefined {
  const dir = fileURLToPath(new URL(`../bundles/${handler}/`, import.meta.url));
  return existsSync(join(dir, 'index.mjs')) ? dir : undefined;
}

/**
 * NodejsFunction's bundling of every mailprobe handler built from source in a clone: the same
 * options scripts/build.ts gives esbuild for the package's bundles (lib/bundle-options.ts).
 */
export const HANDLER_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  minify: true,
  target: HANDLER_TARGET,
  mainFields: [...HANDLER_MAIN_FIELDS],
  // Bundle the SDK too: the deployed code is the code the tests ran, not the runtime's copy.
  externalModules: [],
  sourceMap: false,
  banner: REQUIRE_BANNER,
};

export interface ProbeFunctionProps {
  readonly check: CheckKind;
  /** The plan's shards for this check kind; one schedule each. */
  readonly shards: readonly ShardEvent[];
  /** CloudWatch namespace the function may write to (the only one). */
  readonly namespace: string;
  readonly timeout: Duration;
  /** Secrets Manager ARNs the function may read. @default - none */
  readonly secretArns?: readonly string[];
  /** Regions whose SES account the function reads (ses-account only). @default - none */
  readonly sesRegions?: readonly string[];
  /** Where change notifications go; the function gets sns:Publish on it. @default - no notifications */
  readonly alertTopic?: sns.ITopic;
  /** `chatbot`: notifications in AWS Chatbot's custom-notification format (config `alerting.format`). @default 'text' */
  readonly alertFormat?: AlertFormat;
  /**
   * The probe state (lib/state-table.ts); the function gets BatchGetItem and PutItem on it.
   * Notifications and change detection need it. @default - no state: no notifications
   */
  readonly stateTable?: dynamodb.ITable;
  /** Extra environment, e.g. the dashboard and query names used in alert links. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - a new security group with all outbound traffic allowed */
  readonly securityGroups?: readonly ec2.ISecurityGroup[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - no reservation (the probes use little concurrency) */
  readonly reservedConcurrentExecutions?: number;
  /** @default 512 (more memory is more CPU for TLS handshakes) */
  readonly memorySize?: number;
  /**
   * Prebuilt code instead of bundling the handler. Tests use `Code.fromInline`: without
   * bundling, CDK would fingerprint the whole project (node_modules included) per function.
   * @default - the package's prebundled handler (dist/bundles/<check>) when installed from
   * npm; lambdas/handlers/<check>.ts bundled with esbuild from a clone
   */
  readonly code?: lambda.Code;
  /**
   * Where a shard's schedules (probe and heartbeat) are created, e.g. a nested stack of
   * lib/shard-stacks.ts when one stack cannot hold the fleet.
   * @default - this construct
   */
  readonly scheduleScope?: (shard: ShardEvent) => Construct;
}

export class ProbeFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: sqs.Queue;
  /** The shards' JSON files (lambdas/engine/shard/artifact.ts), mounted at /opt/mailprobe-shards. */
  readonly shardLayer: lambda.LayerVersion;
  /** What each schedule passes: the shard's reference, by shard ID. */
  readonly references: ReadonlyMap<string, ShardReference>;
  readonly schedules: readonly scheduler.Schedule[];
  /** Heartbeat schedules of the shards of slow fleet groups (lib/config/fleet-route.ts). */
  readonly heartbeats: readonly scheduler.Schedule[];
  readonly check: CheckKind;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: ProbeFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.check = props.check;
    this.timeout = props.timeout;

    const prebundled = props.code === undefined ? prebundledHandlerDir(props.check) : undefined;
    const code = props.code ?? (prebundled !== undefined ? lambda.Code.fromAsset(prebundled) : undefined);
    const entry = `${ROOT}lambdas/handlers/${props.check}.ts`;
    if (code === undefined && !existsSync(entry)) {
      throw new Error(`No handler for the ${props.check} check: ${entry} is missing`);
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Failed async invocations (the function threw: a malformed shard or a crash) and failed
    // deliveries by the Scheduler both land here, so nothing fails unseen.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // The shards travel in a layer, not in the template (issue #20: 10,000 endpoints inlined
    // made a 2 MB template, CloudFormation takes 1 MB): the template grows with shards, not targets.
    const references = new Map<string, ShardReference>();
    const staging = mkdtempSync(join(tmpdir(), 'mailprobe-shards-'));
    try {
      const folder = join(staging, SHARD_ARTIFACT_FOLDER);
      mkdirSync(folder);
      for (const shard of props.shards) {
        const { body, reference } = shardArtifact(shard);
        writeFileSync(join(folder, `${shard.shard}.json`), body);
        references.set(shard.shard, reference);
      }
      // The asset is copied into the cloud assembly here, so the staging folder can go.
      this.shardLayer = new lambda.LayerVersion(this, 'Shards', {
        code: lambda.Code.fromAsset(staging),
        compatibleArchitectures: [lambda.Architecture.ARM_64],
        description: `mailprobe ${props.check}: ${props.shards.length} shard(s) of checks`,
      });
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    this.references = references;

    // Our own role instead of the AWS-managed basic execution policy: logs only to this log group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `mailprobe ${props.check} probe`,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      // Prebuilt code (the package's bundle, or a test's) needs no entry, lock file or esbuild.
      ...(code !== undefined
        ? { code, handler: 'index.handler' }
        : { entry, handler: 'handler', projectRoot: ROOT, depsLockFilePath: `${ROOT}package-lock.json` }),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role,
      logGroup: this.logGroup,
      description: `mailprobe: ${props.check} checks`,
      deadLetterQueue: this.deadLetterQueue,
      layers: [this.shardLayer],
      // The next scheduled run is the retry; Lambda's own async retries would double-count metrics.
      retryAttempts: 0,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      ...(props.vpc
        ? {
            vpc: props.vpc,
            ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
            ...(props.securityGroups ? { securityGroups: [...props.securityGroups] } : {}),
            allowAllOutbound: props.securityGroups ? undefined : true,
          }
        : {}),
      environment: {
        [ENV.namespace]: props.namespace,
        ...(props.alertTopic ? { [ENV.alertTopicArn]: props.alertTopic.topicArn } : {}),
        ...(props.alertTopic && props.alertFormat === 'chatbot' ? { [ENV.alertFormat]: 'chatbot' } : {}),
        ...(props.stateTable ? { [ENV.stateTableName]: props.stateTable.tableName } : {}),
        ...props.environment,
      },
      bundling: HANDLER_BUNDLING,
    });
    logsOnlyToOwnGroup(role, this.logGroup);

    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PutProbeMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': props.namespace } },
      }),
    );
    const acks: { id: string; reason: string }[] = [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData supports no resource-level permissions; it is limited to the probe namespace by the cloudwatch:namespace condition.',
      },
    ];

    if (props.secretArns && props.secretArns.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSmtpCredentials',
          actions: ['secretsmanager:GetSecretValue'],
          resources: props.secretArns.flatMap(secretResources),
        }),
      );
    }

    if (props.check === 'ses-account' && props.sesRegions && props.sesRegions.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSesAccount',
          actions: [...SES_ACCOUNT_IAM_ACTIONS],
          // These SES v1 read actions take no resource-level permissions; limit them to the configured regions.
          resources: ['*'],
          conditions: { StringEquals: { 'aws:RequestedRegion': [...props.sesRegions] } },
        }),
      );
    }
    if (props.check === 'sender-auth' && props.sesRegions && props.sesRegions.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSesDkimTokens',
          // The Easy DKIM selectors of SES identities (sender-auth/ses-selectors.ts), nothing else.
          actions: ['ses:GetIdentityDkimAttributes'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:RequestedRegion': [...props.sesRegions] } },
        }),
      );
    }

    if (props.alertTopic) {
      props.alertTopic.grantPublish(role);
      acks.push({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Granted by topic.grantPublish on the alert topic key only; SNS needs GenerateDataKey for any key spec.',
      });
    }

    if (props.stateTable) {
      grantStateItems(role, props.stateTable, 'ProbeState');
    }

    if (props.vpc) {
      acks.push({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'Lambda needs the ENI permissions of this AWS-managed policy to run in a VPC; CDK attaches it.',
      });
    }
    for (const ack of acks) Validations.of(role).acknowledge(ack);
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the probes are built and tested for (esbuild target node22); upgrade deliberately.',
    });

    // The Scheduler assumes this role to invoke the function and to dead-letter failed deliveries.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `mailprobe ${props.check} schedules`,
    });
    const scopeOf = props.scheduleScope ?? (() => this);
    this.schedules = props.shards.map(
      (shard) =>
        new scheduler.Schedule(scopeOf(shard), `Schedule-${shard.shard}`, {
          schedule: scheduler.ScheduleExpression.expression(shard.schedule),
          description: `mailprobe ${shard.shard}: ${shard.specs.length} ${shard.check} check(s), ${shard.schedule}`,
          target: new targets.LambdaInvoke(this.function, {
            input: scheduler.ScheduleTargetInput.fromObject(references.get(shard.shard)),
            role: schedulerRole,
            deadLetterQueue: this.deadLetterQueue,
            // A late probe is a wrong probe: drop deliveries older than one run instead of bunching them up.
            maxEventAge: Duration.minutes(5),
            retryAttempts: 2,
          }),
        }),
    );
    // Slow fleet groups (lib/config/fleet-route.ts): a second schedule per shard republishes the
    // last statuses from the state table, so their Metrics Insights alarm sees every target
    // inside its 3-hour window. Same function, same reference, marked as a heartbeat.
    this.heartbeats = props.shards.flatMap((shard) => {
      const heartbeat = shard.metrics?.heartbeat;
      if (heartbeat === undefined) return [];
      if (!props.stateTable) {
        throw new Error(
          `shard ${shard.shard} has a heartbeat, which reads the state table: pass stateTable to the ${props.check} ProbeFunction`,
        );
      }
      return [
        new scheduler.Schedule(scopeOf(shard), `Heartbeat-${shard.shard}`, {
          schedule: scheduler.ScheduleExpression.expression(heartbeat.schedule),
          description: `mailprobe ${shard.shard}: republish the last ${shard.check} statuses (no probing), ${heartbeat.schedule}`,
          target: new targets.LambdaInvoke(this.function, {
            input: scheduler.ScheduleTargetInput.fromObject({
              ...references.get(shard.shard),
              [HEARTBEAT_FIELD]: true,
            }),
            role: schedulerRole,
            deadLetterQueue: this.deadLetterQueue,
            // The next heartbeat is minutes away: a late one is worth no retry pile-up.
            maxEventAge: Duration.minutes(5),
            retryAttempts: 1,
          }),
        }),
      ];
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'CDK grants lambda:InvokeFunction on the function and its versions/aliases (Arn:*); only this function.',
    });
  }
}

/** logs:CreateLogStream/PutLogEvents on this function's own log group only. */
/** A function's role may write to its own log group, no other. */
export function logsOnlyToOwnGroup(role: iam.Role, logGroup: logs.ILogGroup): void {
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
}

/**
 * IAM needs the full ARN, which ends in `-` and six random characters; a config may
 * name the secret without them. Grant the ARN as given and with exactly six more
 * characters, never a `*` that would also match `name-other`.
 */
function secretResources(arn: string): string[] {
  return [arn, `${arn}-??????`];
}
