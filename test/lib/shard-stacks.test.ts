/**
 * A fleet one stack cannot hold (issue #20 item 3): generated configs of 10, 1,000, 10,000 and
 * 100,000 endpoints synthesize, cdk-nag clean, into templates each under CloudFormation's 1 MB
 * (minified as uploaded) and 500 resources; the 100,000 one into a root and nested shard stacks
 * that hold only schedules, with no more alarms than 10,000 endpoints get. Adding a target moves
 * no schedule between stacks, and a small config synthesizes exactly as before the split.
 *
 * The 100,000-endpoint synth is the slow one (about half a minute alone): it runs once, in a
 * beforeAll, and the stability test reuses it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, NestedStack, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { SCHEDULES_PER_SHARD_STACK, schedulesOf, shardStackLayout } from '../../lib/config/shard-stacks.js';
import { fleetConfig, scaleFleetConfig } from '../../lib/cost/sample-configs.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import {
  CFN_MAX_TEMPLATE_BYTES,
  measureAssembly,
  templateLimitProblems,
  type StackSize,
} from '../../lib/template-limits.js';

type Resources = Record<string, { Type: string }>;

const INLINE = () => lambda.Code.fromInline('export const handler = async () => ({});');
const outdirs: string[] = [];
afterAll(() => {
  for (const d of outdirs) rmSync(d, { recursive: true, force: true });
});

const configOf = scaleFleetConfig;

function build(plan: Plan): { app: App; stack: MailProbeStack } {
  const outdir = mkdtempSync(join(tmpdir(), 'mailprobe-shard-stacks-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new MailProbeStack(app, 'MailProbe', {
    plan,
    code: INLINE,
    env: { account: '123456789012', region: 'us-east-1' },
  });
  // Synthesizing runs cdk-nag over the whole construct tree, nested stacks included: a finding throws.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

const ofType = (r: Resources, type: string) => Object.values(r).filter((x) => x.Type === type).length;

/** Each schedule's stack and logical ID, by construct ID (`Schedule-<shard>`, `Heartbeat-<shard>`: unique). */
function scheduleHomes(root: Stack): Map<string, string> {
  const homes = new Map<string, string>();
  for (const c of root.node.findAll()) {
    if (!(c instanceof scheduler.Schedule)) continue;
    const stack = Stack.of(c);
    homes.set(c.node.id, `${stack.node.path} ${stack.getLogicalId(c.node.defaultChild as CfnResource)}`);
  }
  return homes;
}

const synthesized = new Map<
  number,
  { plan: Plan; stack: MailProbeStack; sizes: StackSize[]; templates: Resources[] }
>();

describe.each([10, 1000, 10_000, 100_000])('a fleet of %i endpoints', (endpoints) => {
  beforeAll(() => {
    const plan = planConfig(configOf(endpoints));
    const { app, stack } = build(plan);
    const assembly = app.synth();
    const templates = [stack, ...(stack.probes.shardStacks?.stacks ?? [])].map(
      (s) => Template.fromStack(s).toJSON()['Resources'] as Resources,
    );
    synthesized.set(endpoints, { plan, stack, sizes: measureAssembly(assembly), templates });
  }, 600_000);

  it('synthesizes cdk-nag clean into templates each under 1 MB minified and 500 resources', () => {
    const { sizes, templates } = synthesized.get(endpoints)!;
    expect(sizes).toHaveLength(templates.length);
    for (const s of sizes) {
      expect(s.bytes).toBeLessThanOrEqual(CFN_MAX_TEMPLATE_BYTES);
      expect(s.resources).toBeLessThan(500);
    }
    sizes.forEach((s, i) => expect(Object.keys(templates[i]!)).toHaveLength(s.resources));
    expect(templateLimitProblems(sizes)).toEqual([]);
  });

  it('splits only what one stack cannot hold: the schedules, into nested stacks holding nothing else', () => {
    const { plan, stack, sizes, templates } = synthesized.get(endpoints)!;
    const [root, ...nested] = templates;
    const schedules = plan.shards.reduce((n, s) => n + schedulesOf(s), 0);
    if (endpoints < 100_000) {
      // What fitted one stack before the split is still one stack.
      expect(stack.probes.shardStacks).toBeUndefined();
      expect(sizes.map((s) => s.stack)).toEqual(['MailProbe']);
      expect(ofType(root!, 'AWS::CloudFormation::Stack')).toBe(0);
      expect(ofType(root!, 'AWS::Scheduler::Schedule')).toBe(schedules);
      return;
    }
    const layout = shardStackLayout(plan.shards, plan.estimate.resources);
    expect(plan.estimate.resources).toBeGreaterThan(500);
    expect(layout.stacks).toBeGreaterThanOrEqual(Math.ceil(schedules / SCHEDULES_PER_SHARD_STACK));
    expect(nested).toHaveLength(layout.stacks);
    expect(ofType(root!, 'AWS::CloudFormation::Stack')).toBe(layout.stacks);
    expect(ofType(root!, 'AWS::Scheduler::Schedule')).toBe(0);
    // Functions, alarms, topic, table and dashboard stay in the root; the nested stacks hold schedules only.
    expect(ofType(root!, 'AWS::Lambda::Function')).toBe(3);
    expect(ofType(root!, 'AWS::CloudWatch::Dashboard')).toBe(1);
    nested.forEach((t, i) => {
      expect(Object.values(t).every((r) => r.Type === 'AWS::Scheduler::Schedule')).toBe(true);
      expect(Object.keys(t)).toHaveLength(layout.schedules[i]!);
    });
    expect(nested.reduce((n, t) => n + Object.keys(t).length, 0)).toBe(schedules);
    // Nested templates are uploaded as written: unindented, so the measured bytes are the minified ones.
    for (const s of sizes.slice(1)) expect(s.stack).toMatch(/^MailProbe\/MailProbesShardStacksShards\d+$/);
  });

  it('makes alarms per group or per check kind, not per target; none in the shard stacks', () => {
    const { plan, templates } = synthesized.get(endpoints)!;
    const [root, ...nested] = templates;
    const alarms = ofType(root!, 'AWS::CloudWatch::Alarm');
    for (const t of nested) expect(ofType(t, 'AWS::CloudWatch::Alarm')).toBe(0);
    // Three per probe function (Errors, Throttles, Duration) besides the plan's.
    const kinds = new Set(plan.shards.map((s) => s.check)).size;
    expect(alarms).toBe(
      plan.estimate.perTargetAlarms + plan.estimate.insightsAlarms + plan.estimate.otherAlarms + 3 * kinds,
    );
    if (endpoints >= 1000) expect(alarms).toBeLessThan(plan.targets.length / 50);
    if (endpoints === 100_000) {
      // Ten times the targets of 10,000 endpoints in the same mode, and not one alarm more.
      const tenThousand = planConfig(fleetConfig(10_000, { metrics: 'aggregate' })).estimate;
      expect(alarms).toBe(tenThousand.otherAlarms + 3 * kinds);
    }
  });
});

describe('stable shard stacks', () => {
  it('adding a target to 100,000 endpoints moves no schedule between stacks and no function', () => {
    const base = synthesized.get(100_000)!;
    const config = configOf(100_000);
    const plus = planConfig({
      ...config,
      targets: [...(config.targets ?? []), { name: 'relay-00000a', host: 'late.example.com', port: 587 }],
    });
    expect(plus.targets.length).toBe(base.plan.targets.length + 2);
    // Named to sort second: every later check shifts one place, so most shards' contents change,
    // while their IDs, and with them their stacks, must not.
    const first = (p: Plan) =>
      p.shards.find((s) => s.shard === 'smtp-5m-1')!.specs.map((s) => s.check === 'smtp' && s.host);
    expect(first(plus)).not.toEqual(first(base.plan));
    // Built, not synthesized: construct paths and logical IDs are fixed once the tree is.
    const { stack } = build(plus);
    const before = scheduleHomes(base.stack);
    const after = scheduleHomes(stack);
    expect(before.size).toBeGreaterThan(1000);
    const moved = [...before].filter(([id, home]) => after.get(id) !== home);
    expect(moved).toEqual([]);
    // At most the new target's shards are new.
    expect(after.size - before.size).toBeLessThanOrEqual(2);
    const functions = (s: MailProbeStack) =>
      [...s.probes.functions.values()].map((f) => s.getLogicalId(f.function.node.defaultChild as CfnResource));
    expect(functions(stack)).toEqual(functions(base.stack));
  }, 300_000);

  it("a small config synthesizes as before the split: the example's probe and schedule logical IDs", () => {
    const plan = planConfig(loadConfig('mailprobe.config.example.yaml'));
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new MailProbeStack(app, 'MailProbe', { plan, code: INLINE });
    const resources = Template.fromStack(stack).toJSON()['Resources'] as Resources;
    const ids = Object.entries(resources)
      .filter(([id, r]) => r.Type === 'AWS::Scheduler::Schedule' || id.startsWith('MailProbesProbe'))
      .map(([id]) => id)
      .sort();
    // Recorded from main before the split existed.
    expect(ids).toEqual(EXAMPLE_IDS);
    expect(ofType(resources, 'AWS::CloudFormation::Stack')).toBe(0);
  }, 120_000);
});

describe('cdk-nag in nested stacks', () => {
  it('reports a finding inside a nested stack: the shard stacks are checked, not skipped', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    // A queue without enforced SSL (AwsSolutions-SQS4) where the schedules would be.
    new sqs.Queue(new NestedStack(stack, 'Nested'), 'Plain', { encryption: sqs.QueueEncryption.SQS_MANAGED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});

const EXAMPLE_IDS = [
  'MailProbesProbemtastsDeadLettersD41F88FD',
  'MailProbesProbemtastsDeadLettersPolicy878FB3E9',
  'MailProbesProbemtastsFunction0556C5E4',
  'MailProbesProbemtastsFunctionEventInvokeConfig25B63388',
  'MailProbesProbemtastsLogs3E590D1C',
  'MailProbesProbemtastsRole0D6DA628',
  'MailProbesProbemtastsRoleDefaultPolicyCD7591AC',
  'MailProbesProbemtastsSchedulemtasts1h17DCC3E58',
  'MailProbesProbemtastsSchedulemtasts2h1CCDDA304',
  'MailProbesProbemtastsSchedulerRoleDDEB4A94',
  'MailProbesProbemtastsSchedulerRoleDefaultPolicy4DAF2B6B',
  'MailProbesProbemtastsShards86087AB3',
  'MailProbesProbesenderauthDeadLettersA995F8F5',
  'MailProbesProbesenderauthDeadLettersPolicy9F4BCD67',
  'MailProbesProbesenderauthFunction68BE21E6',
  'MailProbesProbesenderauthFunctionEventInvokeConfig8C06F375',
  'MailProbesProbesenderauthLogsCC505273',
  'MailProbesProbesenderauthRole73445262',
  'MailProbesProbesenderauthRoleDefaultPolicy2A15CDAC',
  'MailProbesProbesenderauthSchedulerRoleDefaultPolicy211A5FB5',
  'MailProbesProbesenderauthSchedulerRoleF35FDCD8',
  'MailProbesProbesenderauthSchedulesenderauth1h1674C9DF5',
  'MailProbesProbesenderauthShards73859356',
  'MailProbesProbesesaccountDeadLetters5B4FD1EE',
  'MailProbesProbesesaccountDeadLettersPolicy829FE8A3',
  'MailProbesProbesesaccountFunction7F5C5B69',
  'MailProbesProbesesaccountFunctionEventInvokeConfigE431D982',
  'MailProbesProbesesaccountLogsBFE9ADF7',
  'MailProbesProbesesaccountRole6C330361',
  'MailProbesProbesesaccountRoleDefaultPolicyCB1C8624',
  'MailProbesProbesesaccountSchedulerRoleA8D7AAF9',
  'MailProbesProbesesaccountSchedulerRoleDefaultPolicy6D7B4A70',
  'MailProbesProbesesaccountSchedulesesaccount6h1F379B608',
  'MailProbesProbesesaccountShards8C1101AA',
  'MailProbesProbesmtpDeadLetters945F3B4C',
  'MailProbesProbesmtpDeadLettersPolicy685957C1',
  'MailProbesProbesmtpFunctionEventInvokeConfig292CFAAD',
  'MailProbesProbesmtpFunctionF5E60395',
  'MailProbesProbesmtpLogsDB9813C6',
  'MailProbesProbesmtpRoleB9B8FB26',
  'MailProbesProbesmtpRoleDefaultPolicyC66324F6',
  'MailProbesProbesmtpSchedulerRoleDA9F4147',
  'MailProbesProbesmtpSchedulerRoleDefaultPolicy5DF35D07',
  'MailProbesProbesmtpSchedulesmtp10m19C099A8F',
  'MailProbesProbesmtpSchedulesmtp5m1667719C7',
  'MailProbesProbesmtpSchedulesmtp5mt21D53EB2DF',
  'MailProbesProbesmtpShards8EF1FF8A',
  'MailProbesProbetlsDeadLetters9FE7CFB7',
  'MailProbesProbetlsDeadLettersPolicy5CA2FE9D',
  'MailProbesProbetlsFunction47CC37AB',
  'MailProbesProbetlsFunctionEventInvokeConfigEB9D8911',
  'MailProbesProbetlsLogs19F32B4F',
  'MailProbesProbetlsRole5994CD7D',
  'MailProbesProbetlsRoleDefaultPolicy7A502989',
  'MailProbesProbetlsSchedulerRole5A728F78',
  'MailProbesProbetlsSchedulerRoleDefaultPolicy3F3050CA',
  'MailProbesProbetlsScheduletls12h1B4081B01',
  'MailProbesProbetlsScheduletls6h126206BDA',
  'MailProbesProbetlsShardsF311EB8D',
];
