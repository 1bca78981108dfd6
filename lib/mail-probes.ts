/**
 * `MailProbes`: the reusable construct. Give it the configuration (typed props, or the
 * config file) and it deploys one probe function per check kind with a schedule per
 * shard, alarms (per target or per fleet group, see probe-alarms.ts) and per function,
 * an alert topic and a dashboard.
 *
 *     new MailProbes(this, 'Probes', {
 *       config: { targets: [{ host: 'smtp.example.com', port: 587 }], domains: ['example.com'] },
 *       alertTopic: myTopic,
 *     });
 *     MailProbes.fromConfigFile(this, 'Probes', 'mailprobe.config.yaml');
 */
import { Annotations, Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEPLOYED_KINDS, type CheckKind } from '../lambdas/engine/result.js';
import { ENV } from '../lambdas/engine/shard/env.js';
import type { ShardEvent } from '../lambdas/engine/shard/event.js';
import { loadConfig, validateConfig } from './config/load.js';
import { planConfig, type Plan } from './config/plan.js';
import { shardStackLayout } from './config/shard-stacks.js';
import type { MailProbeConfig } from './config/schema.js';
import { AlertTopic } from './alert-topic.js';
import { CriticalCompositeAlarm } from './critical-composite.js';
import { alarmPropsOf, ProbeAlarms } from './probe-alarms.js';
import { DEFAULT_QUERY_NAME, ProbeDashboard } from './probe-dashboard.js';
import { FlowProbes } from './flow-probes.js';
import { ProbeFunction } from './probe-function.js';
import { ShardStacks } from './shard-stacks.js';
import { StateTable } from './state-table.js';
import { tlsRptReceiverFromPlan, type TlsRptReceiver, type TlsRptReceiverKind } from './tlsrpt-receiver.js';

/**
 * What to probe, how often and who gets told: the config file's document as typed props
 * (`schema/mailprobe.config.schema.json` describes every key).
 */
export type MailProbesConfig = MailProbeConfig;

export interface MailProbesProps {
  /**
   * What to probe, how often and who gets told, as in the config file. Validated by the
   * same schema, with the same errors (`targets[2].port: expected 1–65535, got "587a"`).
   * Give `config` or `plan`, not both.
   * @default - none: `plan` must be given
   */
  readonly config?: MailProbesConfig;
  /**
   * A plan already made from a config: `planConfig(loadConfig(path))`.
   * @default - planned from `config`
   */
  readonly plan?: Plan;
  /**
   * Lambda timeout of the probe functions; the checks are cut into shards that finish
   * inside it. Overrides the config's `defaults.functionTimeoutSeconds` (with `config` only:
   * a `plan` is already sized).
   * @default Duration.seconds(300)
   */
  readonly functionTimeout?: Duration;
  /**
   * Which alarms to create, overriding the config's `alarms.mode` (with `config` only: a
   * `plan` already made this choice). `per-target`: classic alarms per target (small fleets);
   * `fleet`: Metrics Insights alarms per check kind and group of up to 400 targets.
   * @default - the config's `alarms.mode`, else 'auto' (per-target while that stays at 250 alarms or fewer)
   */
  readonly alarmMode?: 'auto' | 'per-target' | 'fleet';
  /**
   * Run the probes in this VPC (private relays; port 25 needs a NAT gateway and AWS's
   * port-25 restriction lifted). @default - no VPC: public targets only, port 25 blocked
   */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - one new security group per function, all outbound allowed, no inbound */
  readonly securityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * Where alarms and change notifications go. @default - a new KMS-encrypted topic with
   * the plan's e-mail and HTTPS subscriptions, or the plan's existing topic ARN
   */
  readonly alertTopic?: sns.ITopic;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Name of mailprobe's dashboard, or with `dashboard: false` of your dashboard that holds its
   * widgets: alarm descriptions and alert messages link to it.
   * @default - `<stack name>-mailprobe`; with `dashboard: false`, no dashboard link
   */
  readonly dashboardName?: string;
  /**
   * Create mailprobe's own CloudWatch dashboard. `false`: place the widgets on yours with
   * `addToDashboard(dashboard)` or `widgets()`; the saved Logs Insights query is kept.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Prefix of every alarm name (probe, function, TLS-RPT and composite alarms: `<prefix>-…`).
   * @default - the stack name
   */
  readonly alarmNamePrefix?: string;
  /**
   * Alarm and OK actions of the critical alarms: mail may not be flowing, or nothing would tell
   * (Success, TargetsReporting, TargetsCritical, the probe functions' Errors). `[]`: no actions.
   * @default - notify the alert topic
   */
  readonly criticalAlarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Alarm and OK actions of the warning alarms: act within days (CertDaysToExpiry, DhKeyBits,
   * QuotaUsedPercent, the probe functions' Throttles and Duration, the TLS-RPT receivers'
   * FailedSessions and Errors). `[]`: no actions.
   * @default - notify the alert topic
   */
  readonly warningAlarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * One composite alarm, `<prefix>-AnyCritical`, in ALARM while any critical alarm is: one
   * page per incident for a pager, cleared when the last critical alarm recovers.
   * @default true
   */
  readonly compositeAlarm?: boolean;
  /**
   * Alarm and OK actions of the composite alarm (the pager: e.g. an SNS topic subscribed by
   * PagerDuty or Incident Manager).
   * @default - none: every critical alarm already notifies its own actions, a second message would repeat it
   */
  readonly compositeAlarmActions?: readonly cloudwatch.IAlarmAction[];
  /** Reserved concurrency of each probe function. @default - none */
  readonly reservedConcurrentExecutions?: number;
  /** Prebuilt code per check kind instead of bundling (tests). @default - each handler bundled with esbuild */
  readonly code?: (check: CheckKind) => lambda.Code;
  /** Send change notifications (findings and hints) from the probes to the topic. @default true */
  readonly notifyChanges?: boolean;
  /**
   * Keep the probe state (alert history, facts for change detection) in this table
   * (partition key `pk`, string; TTL on `expiresAt`). @default - a new StateTable
   */
  readonly stateTable?: dynamodb.ITable;
  /** Point-in-time recovery of the new state table. @default true */
  readonly stateTablePointInTimeRecovery?: boolean;
  /** Removal policy of the new state table. @default RemovalPolicy.RETAIN */
  readonly stateTableRemovalPolicy?: RemovalPolicy;
  /** Prebuilt code for the TLS-RPT receivers instead of bundling (tests). @default - bundled with esbuild */
  readonly tlsRptCode?: (kind: TlsRptReceiverKind) => lambda.Code;
}

/** The characters of target names (lib/config/schema.ts), safe inside an alarm rule's quotes. */
const ALARM_NAME_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

export const PORT_25_WARNING =
  'mailprobe: %CHECKS% use port 25, but the probes run without a VPC. AWS restricts outbound port 25 from Lambda: these checks will time out (CONNECT_TIMEOUT). Set `vpc` (private subnets with a NAT gateway) and ask AWS to lift the port-25 restriction for the account, or probe a submission port (587/2587) instead.';

export class MailProbes extends Construct {
  readonly functions: ReadonlyMap<CheckKind, ProbeFunction>;
  readonly alertTopic: sns.ITopic;
  /** Where the probes keep their state between runs. */
  readonly stateTable: dynamodb.ITable;
  readonly alarms: ProbeAlarms;
  /** `<prefix>-AnyCritical`, unless `compositeAlarm: false`. */
  readonly anyCriticalAlarm?: cloudwatch.CompositeAlarm;
  readonly dashboard: ProbeDashboard;
  /** The TLS-RPT receivers, when the plan has a `tlsRpt` section. */
  readonly tlsRpt?: TlsRptReceiver;
  /** The nested stacks of the schedules, when one stack cannot hold the fleet (lib/config/shard-stacks.ts). */
  readonly shardStacks?: ShardStacks;
  /** The mail flows' function, token key, alarms and widget, when the plan has `flows`. */
  readonly flows?: FlowProbes;

  /**
   * mailprobe's dashboard widgets (alarm status, the worst targets per check kind, the
   * certificates that expire first, failed checks by code), new objects on every call: for
   * your own dashboard or a cdk-monitoring-constructs facade (`facade.addWidget(...)`).
   */
  widgets(): cloudwatch.IWidget[] {
    return [...this.dashboard.widgets(), ...(this.flows?.widgets() ?? [])];
  }

  /** Appends mailprobe's widgets to your dashboard, below what it holds. */
  addToDashboard(dashboard: cloudwatch.Dashboard): void {
    dashboard.addWidgets(...this.widgets());
  }

  /**
   * MailProbes from a config file (`.yaml`, `.yml` or `.json`), read at synth time.
   * Throws ConfigError naming every problem (`path: what was expected, what was found`).
   */
  static fromConfigFile(
    scope: Construct,
    id: string,
    path: string,
    props: Omit<MailProbesProps, 'config' | 'plan'> = {},
  ): MailProbes {
    return new MailProbes(scope, id, { ...props, config: loadConfig(path) });
  }

  constructor(scope: Construct, id: string, props: MailProbesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Every alarm, composite and receiver alarm included, is named `<prefix>-…` (one prefix, so
    // several deployments can share an account and an IAM policy can scope `alarm:<prefix>-*`).
    if (props.alarmNamePrefix !== undefined && !ALARM_NAME_PREFIX.test(props.alarmNamePrefix)) {
      throw new Error(
        `MailProbes ${this.node.path}: alarmNamePrefix must be 1–128 letters, digits and . _ : @ / - starting with a letter or digit (the composite alarm's rule quotes the names), got ${JSON.stringify(props.alarmNamePrefix)}`,
      );
    }
    const alarmNamePrefix = props.alarmNamePrefix ?? stack.stackName;
    const plan = planOf(props, this.node.path, alarmNamePrefix);

    const topic = new AlertTopic(this, 'Alerts', {
      ...(props.alertTopic
        ? { existingTopic: props.alertTopic }
        : plan.alerting.topicArn
          ? { existingTopic: sns.Topic.fromTopicArn(this, 'ExistingTopic', plan.alerting.topicArn) }
          : {}),
      ...(plan.alerting.email ? { emailSubscriptions: plan.alerting.email } : {}),
      ...(plan.alerting.https ? { httpsSubscriptions: plan.alerting.https } : {}),
    });
    this.alertTopic = topic.topic;

    this.stateTable = new StateTable(this, 'State', {
      ...(props.stateTable ? { existingTable: props.stateTable } : {}),
      ...(props.stateTablePointInTimeRecovery !== undefined
        ? { pointInTimeRecovery: props.stateTablePointInTimeRecovery }
        : {}),
      ...(props.stateTableRemovalPolicy !== undefined ? { removalPolicy: props.stateTableRemovalPolicy } : {}),
    }).table;

    const dashboardName =
      props.dashboardName ?? (props.dashboard === false ? undefined : `${stack.stackName}-mailprobe`);
    const queryName = `${stack.stackName}/${DEFAULT_QUERY_NAME}`;
    const timeout = Duration.seconds(plan.functionTimeoutSeconds);
    const functions = new Map<CheckKind, ProbeFunction>();
    // A fleet one stack cannot hold: its schedules go to nested shard stacks (issue #20 item 3).
    const layout = shardStackLayout(plan.shards, plan.estimate.resources);
    this.shardStacks = layout.stacks > 0 ? new ShardStacks(this, 'ShardStacks', layout) : undefined;
    for (const kind of DEPLOYED_KINDS) {
      const shards = plan.shards.filter((s) => s.check === kind);
      if (shards.length === 0) continue;
      functions.set(
        kind,
        new ProbeFunction(this, `Probe-${kind}`, {
          check: kind,
          shards,
          namespace: plan.namespace,
          timeout,
          memorySize: plan.capacity[kind].memoryMb,
          ...(kind === 'smtp' ? { secretArns: plan.secretArns } : {}),
          ...(kind === 'ses-account' ? { sesRegions: plan.sesRegions } : {}),
          ...(kind === 'sender-auth' ? { sesRegions: senderAuthSesRegions(plan) } : {}),
          ...(props.notifyChanges === false ? {} : { alertTopic: topic.topic }),
          ...(plan.alerting.format ? { alertFormat: plan.alerting.format } : {}),
          stateTable: this.stateTable,
          environment: {
            ...(dashboardName !== undefined ? { [ENV.dashboardName]: dashboardName } : {}),
            [ENV.queryName]: queryName,
          },
          ...(props.vpc ? { vpc: props.vpc } : {}),
          ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
          ...(props.securityGroups ? { securityGroups: props.securityGroups } : {}),
          ...(props.logRetention ? { logRetention: props.logRetention } : {}),
          ...(props.code ? { code: props.code(kind) } : {}),
          ...(props.reservedConcurrentExecutions !== undefined
            ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
            : {}),
          ...(this.shardStacks ? { scheduleScope: (s: ShardEvent) => this.shardStacks!.scopeFor(kind, s.shard) } : {}),
        }),
      );
    }
    // Mail flows (lib/flow-probes.ts): their function joins the others for the function alarms.
    if (plan.flows) {
      this.flows = new FlowProbes(this, 'Flows', {
        plan: plan.flows,
        namespace: plan.namespace,
        timeout,
        stateTable: this.stateTable,
        alarmActions: props.criticalAlarmActions ?? [topic.alarmAction],
        alarmNamePrefix,
        lookAt: [dashboardName !== undefined ? `dashboard ${dashboardName}` : '', `Logs Insights query "${queryName}"`]
          .filter(Boolean)
          .join(', '),
        environment: {
          ...(dashboardName !== undefined ? { [ENV.dashboardName]: dashboardName } : {}),
          [ENV.queryName]: queryName,
        },
        ...(props.notifyChanges === false ? {} : { alertTopic: topic.topic }),
        ...(plan.alerting.format ? { alertFormat: plan.alerting.format } : {}),
        ...(props.vpc ? { vpc: props.vpc } : {}),
        ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
        ...(props.securityGroups ? { securityGroups: props.securityGroups } : {}),
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        ...(props.code ? { code: props.code('flow') } : {}),
      });
      functions.set('flow', this.flows.probe);
    }
    this.functions = functions;

    this.alarms = new ProbeAlarms(this, 'Alarms', {
      ...alarmPropsOf(plan),
      functions: [...functions.values()],
      action: topic.alarmAction,
      ...(props.criticalAlarmActions ? { criticalActions: props.criticalAlarmActions } : {}),
      ...(props.warningAlarmActions ? { warningActions: props.warningAlarmActions } : {}),
      ...(dashboardName !== undefined ? { dashboardName } : {}),
      queryName,
      alarmNamePrefix,
      nestFleetAlarms: this.shardStacks !== undefined,
    });

    const criticalAlarms = [...this.alarms.criticalAlarms, ...(this.flows?.alarms ?? [])];
    if (props.compositeAlarm !== false && criticalAlarms.length > 0) {
      this.anyCriticalAlarm = new CriticalCompositeAlarm(this, 'AnyCritical', {
        // The nested alarm stacks' composites stand for their alarms; the flows' alarms live in the root.
        alarms: [...this.alarms.anyCriticalChildren, ...(this.flows?.alarms ?? [])],
        coveredAlarms: criticalAlarms.length,
        alarmNamePrefix,
        ...(dashboardName !== undefined ? { dashboardName } : {}),
        ...(props.compositeAlarmActions ? { actions: props.compositeAlarmActions } : {}),
      }).alarm;
    }

    this.dashboard = new ProbeDashboard(this, 'Dashboard', {
      namespace: plan.namespace,
      targets: plan.targets,
      alarms: [
        ...(this.anyCriticalAlarm ? [this.anyCriticalAlarm] : []),
        ...this.alarms.alarms,
        ...(this.flows?.alarms ?? []),
      ],
      logGroups: [...functions.values()].map((f) => f.logGroup),
      ...(dashboardName !== undefined ? { dashboardName } : {}),
      queryName,
      alarmMode: plan.alarmMode,
      metricsMode: plan.metricsMode,
      createDashboard: props.dashboard !== false,
    });
    if (this.flows) this.dashboard.dashboard?.addWidgets(...this.flows.widgets());

    this.tlsRpt = tlsRptReceiverFromPlan(this, 'TlsRpt', plan, {
      alertTopic: topic.topic,
      alarmNamePrefix,
      // TLS-RPT reports arrive a day late and the mta-sts probe pages on the live state: warnings.
      ...(props.warningAlarmActions ? { alarmActions: props.warningAlarmActions } : {}),
      stateTable: this.stateTable,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.tlsRptCode ? { code: props.tlsRptCode } : {}),
    });

    const port25 = plan.targets.filter((t) => t.port25);
    if (port25.length > 0 && !props.vpc) {
      const names = port25.map((t) => `${t.check} ${t.name}`);
      const listed =
        names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
      Annotations.of(this).addWarningV2('mailprobe:port25-without-vpc', PORT_25_WARNING.replace('%CHECKS%', listed));
    }
  }
}

/** The plan from exactly one of `plan` and `config`, the config validated as the file is. */
function planOf(props: MailProbesProps, path: string, alarmNamePrefix: string): Plan {
  if (props.plan !== undefined && props.config !== undefined) {
    throw new Error(`MailProbes ${path}: give either config or plan, not both`);
  }
  if (props.plan !== undefined) {
    if (props.functionTimeout !== undefined) {
      throw new Error(
        `MailProbes ${path}: functionTimeout applies to config; a plan is already sized for plan.functionTimeoutSeconds (${props.plan.functionTimeoutSeconds} s)`,
      );
    }
    if (props.alarmMode !== undefined) {
      throw new Error(
        `MailProbes ${path}: alarmMode applies to config; pass it to planConfig(config, { alarmMode }) when you make the plan yourself`,
      );
    }
    return props.plan;
  }
  if (props.config === undefined) {
    throw new Error(
      `MailProbes ${path}: config is required (e.g. { targets: [{ host: 'smtp.example.com', port: 587 }] }), or use MailProbes.fromConfigFile`,
    );
  }
  const raw: Record<string, unknown> = { ...(props.config as Record<string, unknown>) };
  if (props.functionTimeout !== undefined) {
    const defaults = (raw['defaults'] ?? {}) as Record<string, unknown>;
    raw['defaults'] = { ...defaults, functionTimeoutSeconds: props.functionTimeout.toSeconds() };
  }
  // Same schema and messages as the file: `MailProbes Stack/Probes config: 1 problem\n  - targets[2].port: …`.
  const config = validateConfig(raw, `MailProbes ${path} config`);
  if (config.vpc !== undefined) {
    throw new Error(
      `MailProbes ${path}: config.vpc is read by the ready-made MailProbeStack only; in your own app pass the VPC as the vpc prop (an ec2.IVpc, e.g. ec2.Vpc.fromLookup)`,
    );
  }
  return planConfig(config, {
    // Names are checked against CloudWatch's 255 characters with the prefix they will get.
    alarmNamePrefix,
    ...(props.alarmMode !== undefined ? { alarmMode: props.alarmMode } : {}),
    // A VPC given as a prop is where the probes run: `mx: auto` then probes the MX hosts.
    ...(props.vpc !== undefined ? { port25Reachable: true } : {}),
  });
}

/** The SES regions whose DKIM tokens the sender-auth function reads (identities with `senderAuth`). */
function senderAuthSesRegions(plan: Plan): string[] {
  const regions = new Set<string>();
  for (const shard of plan.shards) {
    for (const spec of shard.specs) if (spec.check === 'sender-auth' && spec.ses) regions.add(spec.ses.region);
  }
  return [...regions].sort();
}
