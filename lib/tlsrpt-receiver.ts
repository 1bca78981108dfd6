/**
 * `TlsRptReceiver`: where a domain's TLS-RPT `rua` points (RFC 8460). An encrypted S3
 * bucket for the raw reports, one or both receivers, their least-privilege functions,
 * and one alarm per policy domain on the failed sessions senders report.
 *
 * - HTTPS: an API Gateway HTTP API (`POST /v1/tlsrpt`) in front of the parser function.
 *   An HTTP API rather than a Lambda function URL because the endpoint is public and
 *   unauthenticated: the stage throttles requests (rate and burst) before a function is
 *   invoked, which a function URL cannot do (its only brake is reserved concurrency, so
 *   a flood would turn into 429s for the real senders and Lambda bills for every refusal).
 *   At TLS-RPT volumes (a few reports a day per sender) it costs cents.
 * - mailto: an SES receipt rule for the configured recipients writes each message to the
 *   bucket under `incoming/` and then invokes the mail parser function (Event).
 *
 *     new TlsRptReceiver(this, 'TlsRpt', { namespace: 'MailProbe', domains, https: {}, alertTopic });
 */
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIMENSION_CHECK, DIMENSION_TARGET } from '../lambdas/engine/metrics/definitions.js';
import { TLSRPT_CHECK, TLSRPT_METRICS, type DomainTarget } from '../lambdas/engine/tlsrpt/metrics.js';
import { INCOMING_PREFIX, REPORTS_PREFIX } from '../lambdas/engine/tlsrpt/store.js';
import { DATA_LIMITS, TLSRPT_DAY_PREFIX, type TlsRptLimits } from '../lambdas/engine/tlsrpt/limits.js';
import { DIMENSION_REASON } from '../lambdas/engine/tlsrpt/metrics.js';
import { STATE_TABLE } from '../lambdas/engine/state/table.js';
import { TLSRPT_ENV } from '../lambdas/engine/shard/tlsrpt-env.js';
import { HANDLER_BUNDLING, logsOnlyToOwnGroup, prebundledHandlerDir } from './probe-function.js';
import type { Plan } from './config/plan.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type TlsRptReceiverKind = 'https' | 'mail';

export const DEFAULT_TLSRPT_RETENTION_DAYS = 90;
/** Requests per second over time, and in a burst: far above what senders need (one POST per domain per day each). */
export const DEFAULT_HTTPS_RATE_LIMIT = 10;
export const DEFAULT_HTTPS_BURST_LIMIT = 20;
export const DEFAULT_HTTPS_RESERVED_CONCURRENCY = 5;
export const HTTPS_PATH = '/v1/tlsrpt';
/** The digest of yesterday's uncorroborated reports goes out at 07:00 UTC (reports of a day arrive overnight). */
export const DIGEST_SCHEDULE = 'cron(0 7 * * ? *)';
/** Lambda's 4 KB environment limit, less room for the bucket, namespace and topic ARN. */
export const MAX_DOMAINS_ENV_BYTES = 3_000;
/** The two largest TLS-RPT reporters, both DKIM-signing their report mail (d=google.com, d=microsoft.com). */
export const DEFAULT_TRUSTED_SUBMITTERS: readonly string[] = ['google.com', 'microsoft.com'];

export interface TlsRptHttpsOptions {
  /** @default DEFAULT_HTTPS_RATE_LIMIT (10 requests/s) */
  readonly rateLimit?: number;
  /** @default DEFAULT_HTTPS_BURST_LIMIT (20) */
  readonly burstLimit?: number;
  /** @default DEFAULT_HTTPS_RESERVED_CONCURRENCY (5) */
  readonly reservedConcurrency?: number;
}

export interface TlsRptMailOptions {
  /** Addresses (or domains) the receipt rule accepts, e.g. `tlsrpt@reports.example.com`. */
  readonly recipients: readonly string[];
  /**
   * Add the rule to this existing receipt rule set (only one set is active per region).
   * @default - a new rule set, which must be activated once: `aws ses set-active-receipt-rule-set`
   */
  readonly ruleSetName?: string;
}

export interface TlsRptAlarmOptions {
  /** Alarm when the failed sessions reported over one day reach this. @default 1 (any failure) */
  readonly failedSessions?: number;
  /** Also require this share of failed sessions, in percent. @default - no share condition */
  readonly failedPercent?: number;
}

export interface TlsRptReceiverProps {
  readonly namespace: string;
  /** The policy domains whose reports are accepted (others are refused), with their metric names. */
  readonly domains: readonly DomainTarget[];
  /** @default - no HTTPS receiver */
  readonly https?: TlsRptHttpsOptions;
  /** @default - no mail receiver */
  readonly mail?: TlsRptMailOptions;
  /** Raw reports (and incoming mail) expire after this. @default Duration.days(90) */
  readonly retention?: Duration;
  readonly alarm?: TlsRptAlarmOptions;
  /** One message per report with failures; alarms notify it too. @default - no messages, alarms without actions */
  readonly alertTopic?: sns.ITopic;
  /** @default - the stack name */
  readonly alarmNamePrefix?: string;
  /**
   * Actions of the receiver's alarms (FailedSessions per domain: alarm and OK; receiver Errors: alarm).
   * `[]`: none. @default - notify `alertTopic`, when given
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where the daily counters live (items `tlsrpt-day#…`) and where the mta-sts probe's state is
   * read for corroboration: the probes' state table (partition key `pk`, TTL `expiresAt`).
   * @default - a table of its own with that layout (corroboration by the probe then never applies)
   */
  readonly stateTable?: dynamodb.ITable;
  /** Daily limits (`tlsRpt.limits`). @default - DEFAULT_TLSRPT_LIMITS for every key not given */
  readonly limits?: Partial<TlsRptLimits>;
  /**
   * DKIM signing domains whose authenticated reports page on their own (`tlsRpt.trustedSubmitters`).
   * @default DEFAULT_TRUSTED_SUBMITTERS (google.com, microsoft.com)
   */
  readonly trustedSubmitters?: readonly string[];
  /** Prebuilt code instead of bundling (tests). @default - lambdas/handlers/tlsrpt-<kind>.ts bundled with esbuild */
  readonly code?: (kind: TlsRptReceiverKind) => lambda.Code;
}

export class TlsRptReceiver extends Construct {
  readonly bucket: s3.Bucket;
  readonly functions: ReadonlyMap<TlsRptReceiverKind, nodejs.NodejsFunction>;
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The rua to publish for the HTTPS receiver, when there is one. */
  readonly httpsUrl?: string;
  readonly api?: apigwv2.HttpApi;
  /** The table holding the daily counters. */
  readonly stateTable: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: TlsRptReceiverProps) {
    super(scope, id);
    if (!props.https && !props.mail) {
      throw new Error('TlsRptReceiver: enable at least one receiver (https or mail)');
    }
    if (props.domains.length === 0) {
      throw new Error(
        'TlsRptReceiver: no policy domains: list them in tlsRpt.domains (or in domains), or every report would be refused',
      );
    }
    if (props.mail && props.mail.recipients.length === 0) {
      throw new Error('TlsRptReceiver: mail.recipients is empty: give the address of the mailto: rua');
    }
    const stack = Stack.of(this);
    const retention = props.retention ?? Duration.days(DEFAULT_TLSRPT_RETENTION_DAYS);

    this.bucket = new s3.Bucket(this, 'Reports', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-reports', expiration: retention, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // Reports are evidence of what senders saw; keep them when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the receiver functions and SES write to this bucket (no public access, TLS-only policy); CloudTrail data events are the audit trail if one is needed. An access-log bucket would cost more than the reports.',
    });

    const domainsJson = JSON.stringify(props.domains);
    // Lambda allows 4 KB of environment variables in all; leave room for the others.
    if (domainsJson.length > MAX_DOMAINS_ENV_BYTES) {
      throw new Error(
        `TlsRptReceiver: ${props.domains.length} domains take ${domainsJson.length} bytes of environment, over the ${MAX_DOMAINS_ENV_BYTES} bytes Lambda leaves room for; split the domains over two deployments (each with its own rua)`,
      );
    }
    this.stateTable =
      props.stateTable ??
      new dynamodb.Table(this, 'Counters', {
        partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: STATE_TABLE.ttl,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        // Counters of the current day only: nothing to keep.
        removalPolicy: RemovalPolicy.DESTROY,
      });
    if (!props.stateTable) {
      Validations.of(this.stateTable).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason: 'Daily rate-limit counters that expire within days: nothing a restore would bring back.',
      });
    }
    const environment: Record<string, string> = {
      [TLSRPT_ENV.bucket]: this.bucket.bucketName,
      [TLSRPT_ENV.domains]: domainsJson,
      [TLSRPT_ENV.namespace]: props.namespace,
      [TLSRPT_ENV.stateTable]: this.stateTable.tableName,
      [TLSRPT_ENV.trustedSubmitters]: JSON.stringify(props.trustedSubmitters ?? DEFAULT_TRUSTED_SUBMITTERS),
      ...(props.limits && Object.keys(props.limits).length > 0
        ? { [TLSRPT_ENV.limits]: JSON.stringify(props.limits) }
        : {}),
      ...(props.alertTopic ? { [TLSRPT_ENV.alertTopicArn]: props.alertTopic.topicArn } : {}),
    };
    const functions = new Map<TlsRptReceiverKind, nodejs.NodejsFunction>();
    const kinds: TlsRptReceiverKind[] = [
      ...(props.https ? ['https' as const] : []),
      ...(props.mail ? ['mail' as const] : []),
    ];
    for (const kind of kinds) {
      functions.set(
        kind,
        this.receiverFunction(kind, {
          environment,
          stateTable: this.stateTable,
          namespace: props.namespace,
          reservedConcurrency:
            kind === 'https' ? (props.https?.reservedConcurrency ?? DEFAULT_HTTPS_RESERVED_CONCURRENCY) : 2,
          logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          ...(props.alertTopic ? { alertTopic: props.alertTopic } : {}),
          ...(props.code ? { code: props.code(kind) } : {}),
        }),
      );
    }
    this.functions = functions;

    const httpsFn = functions.get('https');
    if (httpsFn && props.https) {
      const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.api = new apigwv2.HttpApi(this, 'Api', {
        description: 'mailprobe TLS-RPT receiver (RFC 8460 HTTPS rua)',
        createDefaultStage: false,
      });
      this.api.addRoutes({
        path: HTTPS_PATH,
        methods: [apigwv2.HttpMethod.POST],
        integration: new integrations.HttpLambdaIntegration('Parser', httpsFn),
      });
      const stage = new apigwv2.HttpStage(this, 'Stage', {
        httpApi: this.api,
        stageName: '$default',
        autoDeploy: true,
        throttle: {
          rateLimit: props.https.rateLimit ?? DEFAULT_HTTPS_RATE_LIMIT,
          burstLimit: props.https.burstLimit ?? DEFAULT_HTTPS_BURST_LIMIT,
        },
        accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
      });
      this.httpsUrl = `${stage.url.replace(/\/$/, '')}${HTTPS_PATH}`;
      new CfnOutput(this, 'HttpsRua', {
        value: `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}${HTTPS_PATH}`,
        description: 'TLS-RPT: publish _smtp._tls.DOMAIN TXT "v=TLSRPTv1; rua=<this URL>"',
      });
      for (const route of this.api.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'RFC 8460 §5.3 senders POST reports without credentials; the receiver refuses unconfigured domains, caps sizes and is throttled instead.',
        });
      }
    }

    const mailFn = functions.get('mail');
    if (mailFn && props.mail) {
      const ruleSet = props.mail.ruleSetName
        ? ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', props.mail.ruleSetName)
        : new ses.ReceiptRuleSet(this, 'RuleSet', {});
      new ses.ReceiptRule(this, 'Rule', {
        ruleSet,
        recipients: [...props.mail.recipients],
        scanEnabled: true,
        // Senders deliver reports over TLS in practice; refusing plain text would only lose reports.
        tlsPolicy: ses.TlsPolicy.OPTIONAL,
        actions: [
          new sesActions.S3({ bucket: this.bucket, objectKeyPrefix: INCOMING_PREFIX }),
          new sesActions.Lambda({ function: mailFn, invocationType: sesActions.LambdaInvocationType.EVENT }),
        ],
      });
      this.bucket.grantRead(mailFn, `${INCOMING_PREFIX}*`);
      new CfnOutput(this, 'MailRua', {
        value: props.mail.recipients.map((r) => `mailto:${r}`).join(','),
        description:
          'TLS-RPT: publish _smtp._tls.DOMAIN TXT "v=TLSRPTv1; rua=<this>" (and the MX record for the address domain, see README)',
      });
    }

    // One receiver function also sends the daily digest of the reports that did not page (digest.ts).
    const digestFn = functions.get('mail') ?? functions.get('https');
    if (digestFn && props.alertTopic) {
      const schedulerRole = new iam.Role(this, 'DigestSchedulerRole', {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
        description: 'mailprobe TLS-RPT digest schedule',
      });
      new scheduler.Schedule(this, 'Digest', {
        schedule: scheduler.ScheduleExpression.expression(DIGEST_SCHEDULE),
        description: "mailprobe TLS-RPT: yesterday's uncorroborated reports with failures, in one message",
        target: new schedulerTargets.LambdaInvoke(digestFn, {
          input: scheduler.ScheduleTargetInput.fromObject({ tlsrptDigest: 'yesterday' }),
          role: schedulerRole,
          retryAttempts: 2,
        }),
      });
      Validations.of(schedulerRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(digestFn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason:
          'CDK grants lambda:InvokeFunction on the function and its versions/aliases (Arn:*); only this function.',
      });
      // The digest reads the day's set and the reports it lists; nothing else of the bucket.
      digestFn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadDigestReports',
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects(`${REPORTS_PREFIX}*`)],
        }),
      );
    }

    const prefix = props.alarmNamePrefix ?? stack.stackName;
    const actions = alarmActionsOf(props);
    const errorAlarms = [...functions].map(([kind, fn]) => {
      // A receiver that throws loses reports (HTTPS senders retry a while; mail goes to the dead-letter queue).
      const alarm = new cloudwatch.Alarm(this, `${kind}-Errors`, {
        alarmName: `${prefix}-tlsrpt-${kind}-receiver-Errors`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `The TLS-RPT ${kind} receiver function failed. Reports may not be stored or counted. Action: read the function's log group (level "error" lines name the AWS error).`,
      });
      alarm.addAlarmAction(...actions);
      return alarm;
    });
    // A limit that refuses reports loses data: a flood (issue 21), or limits set too low for the
    // senders a domain really has. Either way on-call should know within the hour, not from a digest.
    const dropped = new cloudwatch.Alarm(this, 'Dropped', {
      alarmName: `${prefix}-tlsrpt-Dropped`,
      metric: new cloudwatch.MathExpression({
        expression: DATA_LIMITS.map((_, i) => `m${i}`).join(' + '),
        usingMetrics: Object.fromEntries(
          DATA_LIMITS.map((reason, i) => [
            `m${i}`,
            new cloudwatch.Metric({
              namespace: props.namespace,
              metricName: TLSRPT_METRICS.Dropped.name,
              dimensionsMap: { [DIMENSION_CHECK]: TLSRPT_CHECK, [DIMENSION_REASON]: reason },
              statistic: 'Sum',
              period: Duration.hours(1),
            }),
          ]),
        ),
        period: Duration.hours(1),
        label: 'TLS-RPT requests and reports refused by a daily limit',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `mailprobe: the TLS-RPT receivers refused requests or reports in the last hour because a daily limit (tlsRpt.limits) was reached (warning). ` +
        `Meaning: those reports were not stored or counted; many refusals mean a flood of forged or repeated reports, a few mean a limit below what a domain's real senders send. ` +
        `Action: look at the TlsRptDropped metric by Reason and the receivers' log lines (msg "tlsrpt report refused" or "tlsrpt mail refused"); raise the limit named there if the senders are real.`,
    });
    dropped.addAlarmAction(...actions);
    dropped.addOkAction(...actions);
    this.alarms = [...props.domains.map((d) => this.domainAlarm(d, props, stack.stackName)), ...errorAlarms, dropped];
  }

  private receiverFunction(
    kind: TlsRptReceiverKind,
    opts: {
      environment: Record<string, string>;
      stateTable: dynamodb.ITable;
      namespace: string;
      reservedConcurrency: number;
      logRetention: logs.RetentionDays;
      alertTopic?: sns.ITopic;
      code?: lambda.Code;
    },
  ): nodejs.NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${kind}-Logs`, {
      retention: opts.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, `${kind}-Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `mailprobe TLS-RPT ${kind} receiver`,
    });
    // Installed from npm, the package ships the bundle (no esbuild at synth), as ProbeFunction does.
    const prebundled = opts.code === undefined ? prebundledHandlerDir(`tlsrpt-${kind}`) : undefined;
    const code = opts.code ?? (prebundled !== undefined ? lambda.Code.fromAsset(prebundled) : undefined);
    const fn = new nodejs.NodejsFunction(this, `${kind}-Function`, {
      entry: `${ROOT}lambdas/handlers/tlsrpt-${kind}.ts`,
      ...(code ? { code, handler: 'index.handler' } : { handler: 'handler' }),
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      // A 5 MiB report parses in well under a second; the S3/CloudWatch/SNS calls have 10 s timeouts each.
      memorySize: 512,
      timeout: Duration.seconds(60),
      role,
      logGroup,
      description: `mailprobe: TLS-RPT ${kind} receiver`,
      reservedConcurrentExecutions: opts.reservedConcurrency,
      ...(kind === 'mail'
        ? {
            // Async (SES Event invocation): failed events land here after Lambda's retries.
            deadLetterQueue: new sqs.Queue(this, 'MailDeadLetters', {
              encryption: sqs.QueueEncryption.SQS_MANAGED,
              enforceSSL: true,
              retentionPeriod: Duration.days(14),
            }),
            retryAttempts: 2,
          }
        : {}),
      environment: opts.environment,
      bundling: HANDLER_BUNDLING,
    });
    logsOnlyToOwnGroup(role, logGroup);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StoreReports',
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${REPORTS_PREFIX}*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PutReportMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': opts.namespace } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CountDailyLimits',
        // One atomic UpdateItem (ADD) per counter, on the receivers' own key prefix only.
        actions: ['dynamodb:UpdateItem'],
        resources: [opts.stateTable.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TLSRPT_DAY_PREFIX}*`] },
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': [STATE_TABLE.partitionKey, 'n', 'm', STATE_TABLE.ttl],
          },
        },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadMtaStsProbeState',
        // Corroboration reads the mta-sts targets' state (no other check's, never writing it);
        // the digest reads its own day set.
        actions: ['dynamodb:GetItem'],
        resources: [opts.stateTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['mta-sts#*', `${TLSRPT_DAY_PREFIX}*`] } },
      }),
    );
    if (opts.stateTable.encryptionKey) {
      opts.stateTable.encryptionKey.grantEncryptDecrypt(role);
      for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: "Granted by key.grantEncryptDecrypt on the state table's own key only.",
        });
      }
    }
    const acks = [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData takes no resource-level permissions; it is limited to the namespace by condition.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/reports/*]`,
        reason: 'PutObject on the reports/ prefix of this bucket only: one object per report.',
      },
    ];
    if (kind === 'mail') {
      acks.push(
        {
          id: 'AwsSolutions-IAM5[Action::s3:GetObject*]',
          reason: 'Granted by bucket.grantRead on the incoming/ prefix only (SES writes the messages there).',
        },
        { id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]', reason: 'Granted by bucket.grantRead on this bucket only.' },
        { id: 'AwsSolutions-IAM5[Action::s3:List*]', reason: 'Granted by bucket.grantRead on this bucket only.' },
        {
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/incoming/*]`,
          reason: 'Reads the incoming/ prefix of this bucket only.',
        },
      );
    }
    if (opts.alertTopic) {
      opts.alertTopic.grantPublish(role);
      acks.push({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Granted by topic.grantPublish on the alert topic key only.',
      });
    }
    for (const ack of acks) Validations.of(role).acknowledge(ack);
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime the receivers are built and tested for (esbuild target node22).',
    });
    return fn;
  }

  /**
   * Failed sessions reported for the domain over one day. Reports are daily and their
   * datapoints are stamped on receipt, so the alarm is in ALARM for the day after a report
   * with failures and returns to OK without one; no report is not a failure (notBreaching).
   */
  private domainAlarm(domain: DomainTarget, props: TlsRptReceiverProps, stackName: string): cloudwatch.Alarm {
    const dimensionsMap = { [DIMENSION_CHECK]: TLSRPT_CHECK, [DIMENSION_TARGET]: domain.name };
    const metric = (name: string) =>
      new cloudwatch.Metric({
        namespace: props.namespace,
        metricName: name,
        dimensionsMap,
        statistic: 'Sum',
        period: Duration.days(1),
      });
    const failed = metric(TLSRPT_METRICS.FailedSessions.name);
    const count = props.alarm?.failedSessions ?? 1;
    const percent = props.alarm?.failedPercent;
    const subject =
      percent === undefined
        ? failed
        : new cloudwatch.MathExpression({
            // 1 when both the count and the share are reached, else 0.
            expression: `IF(f >= ${count} AND 100 * f / (f + s) >= ${percent}, 1, 0)`,
            usingMetrics: { f: failed, s: metric(TLSRPT_METRICS.SuccessfulSessions.name) },
            period: Duration.days(1),
            label: `${domain.domain}: failed sessions reach ${count} and ${percent} %`,
          });
    const prefix = props.alarmNamePrefix ?? stackName;
    const alarm = new cloudwatch.Alarm(this, `Failed-${domain.name}`, {
      alarmName: `${prefix}-tlsrpt-${domain.name}-FailedSessions`,
      metric: subject,
      threshold: percent === undefined ? count : 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `TLS-RPT: senders reported ${percent === undefined ? `${count}+` : `${count}+ and ${percent} %+`} failed TLS sessions ` +
        `to ${domain.domain}'s MX hosts within a day. Under an enforced MTA-STS policy that mail was not delivered. ` +
        'The SNS message for the report names the sender, MX, result types and what to do; the raw report is in the TLS-RPT bucket. ' +
        `Action: run \`mailprobe mta-sts ${domain.domain}\` and fix what it reports (certificate, STARTTLS, policy).`,
    });
    const actions = alarmActionsOf(props);
    alarm.addAlarmAction(...actions);
    alarm.addOkAction(...actions);
    return alarm;
  }
}

function alarmActionsOf(props: TlsRptReceiverProps): cloudwatch.IAlarmAction[] {
  if (props.alarmActions) return [...props.alarmActions];
  return props.alertTopic ? [new cwActions.SnsAction(props.alertTopic)] : [];
}

/**
 * The receiver a plan's `tlsRpt` section asks for (MailProbes calls this). Domains default
 * to the config's mta-sts domains; each takes the metric name of its mta-sts target, so
 * the alert can look up that check's verdict.
 */
export function tlsRptReceiverFromPlan(
  scope: Construct,
  id: string,
  plan: Plan,
  options: Pick<
    TlsRptReceiverProps,
    'alertTopic' | 'alarmNamePrefix' | 'alarmActions' | 'logRetention' | 'code' | 'stateTable'
  > = {},
): TlsRptReceiver | undefined {
  const config = plan.tlsRpt;
  if (!config) return undefined;
  const mtaSts = plan.targets.filter((t) => t.check === 'mta-sts');
  const names = config.domains ?? mtaSts.map((t) => t.target);
  const domains: DomainTarget[] = [...new Set(names.map((d) => d.toLowerCase().replace(/\.$/, '')))].map((domain) => {
    const target = mtaSts.find((t) => t.target.toLowerCase() === domain);
    return { domain, name: target?.name ?? domain, mtaSts: target !== undefined };
  });
  const https = config.https === true ? {} : config.https === false ? undefined : config.https;
  return new TlsRptReceiver(scope, id, {
    namespace: plan.namespace,
    domains,
    ...(https ? { https } : {}),
    ...(config.mail
      ? {
          mail: {
            recipients: config.mail.recipients,
            ...(config.mail.ruleSetName ? { ruleSetName: config.mail.ruleSetName } : {}),
          },
        }
      : {}),
    ...(config.retentionDays !== undefined ? { retention: Duration.days(config.retentionDays) } : {}),
    ...(config.alarm ? { alarm: config.alarm } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
    ...(config.trustedSubmitters ? { trustedSubmitters: config.trustedSubmitters } : {}),
    ...options,
  });
}
