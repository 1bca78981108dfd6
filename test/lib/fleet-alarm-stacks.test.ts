/**
 * The fleet alarms of a split fleet (issue #20 item 3): 100,000 endpoints with default metrics
 * (693 Metrics Insights alarms, the quota raised to 1,000) synthesize, cdk-nag clean, into a
 * root, shard stacks and alarm stacks each under 1 MB minified and 500 resources; every alarm
 * of the plan exists once; the root's AnyCritical reaches every critical alarm through the
 * alarm stacks' composites; the actions (the alert topic, the user's pager) reach the nested
 * alarms as parameters; adding a target moves no alarm between stacks.
 *
 * The 100,000-endpoint synth is the slow part (about half a minute alone): once, in beforeAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnParameter, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { alarmStackLayout, shardStackLayout } from '../../lib/config/shard-stacks.js';
import { COMPOSITE_MAX_CHILDREN, COMPOSITE_MAX_RULE_CHARS } from '../../lib/critical-composite.js';
import { fleetConfig } from '../../lib/cost/sample-configs.js';
import { MailProbes } from '../../lib/mail-probes.js';
import { fleetAlarmGroups } from '../../lib/monitoring/alarm-layout.js';
import {
  CFN_MAX_TEMPLATE_BYTES,
  measureAssembly,
  templateLimitProblems,
  type StackSize,
} from '../../lib/template-limits.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] };
type Resources = Record<string, Resource>;

const INLINE = () => lambda.Code.fromInline('export const handler = async () => ({});');
const PREFIX = 'MailProbe';
const outdirs: string[] = [];
afterAll(() => {
  for (const d of outdirs) rmSync(d, { recursive: true, force: true });
});

const configOf = (extra: Parameters<typeof fleetConfig>[1] = {}) =>
  fleetConfig(100_000, { ...extra, alarms: { insightsQuota: 1000 } });

/**
 * The user's pager for critical alarms, its ARN a parameter of the root: a reference the
 * nested alarm stacks can only reach through parameters of their own.
 */
function build(plan: Plan): { app: App; stack: Stack; probes: MailProbes; pager: CfnParameter } {
  const outdir = mkdtempSync(join(tmpdir(), 'mailprobe-fleet-alarm-stacks-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, PREFIX, { env: { account: '123456789012', region: 'us-east-1' } });
  const pager = new CfnParameter(stack, 'PagerTopicArn', { type: 'String' });
  const probes = new MailProbes(stack, 'MailProbes', {
    plan,
    code: INLINE,
    criticalAlarmActions: [new actions.SnsAction(sns.Topic.fromTopicArn(stack, 'Pager', pager.valueAsString))],
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, probes, pager };
}

/** Each alarm's (and composite's) stack and logical ID, by alarm name. */
function alarmHomes(root: Stack): Map<string, string> {
  const homes = new Map<string, string>();
  for (const c of root.node.findAll()) {
    if (!(c instanceof cloudwatch.CfnAlarm) && !(c instanceof cloudwatch.CfnCompositeAlarm)) continue;
    const stack = Stack.of(c);
    homes.set(c.alarmName!, `${stack.node.path} ${stack.getLogicalId(c as CfnResource)}`);
  }
  return homes;
}

let plan: Plan;
let built: ReturnType<typeof build>;
let sizes: StackSize[];
/** Root, shard stacks, alarm stacks, in that order. */
let templates: { name: string; resources: Resources; parameters: Record<string, unknown> }[];

beforeAll(() => {
  plan = planConfig(configOf());
  built = build(plan);
  const started = performance.now();
  const assembly = built.app.synth();
  // Measured, not asserted (no timing assertions): the README's Scale section quotes it.
  console.log(`synth of 100,000 endpoints, default metrics: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  sizes = measureAssembly(assembly);
  const { probes, stack } = built;
  templates = [stack, ...(probes.shardStacks?.stacks ?? []), ...probes.alarms.alarmStacks].map((s) => {
    const t = Template.fromStack(s).toJSON();
    return {
      name: s.node.path,
      resources: t['Resources'] as Resources,
      parameters: (t['Parameters'] ?? {}) as Record<string, unknown>,
    };
  });
}, 600_000);

const ofType = (r: Resources, type: string) => Object.entries(r).filter(([, x]) => x.Type === type);
const nameOf = (r: Resource) => r.Properties!['AlarmName'] as string;

describe('100,000 endpoints with default metrics and alarms.insightsQuota 1000', () => {
  it('synthesizes cdk-nag clean into root, shard and alarm stacks, each under 1 MB minified and 500 resources', () => {
    const groups = fleetAlarmGroups(plan.alarmGroups, plan.alarmMode, plan.metricsMode);
    const layout = alarmStackLayout(groups, true);
    expect(plan.estimate.insightsAlarms).toBe(693);
    expect(shardStackLayout(plan.shards, plan.estimate.resources).stacks).toBeGreaterThan(0);
    expect(built.probes.alarms.alarmStacks).toHaveLength(layout.stacks);
    expect(layout.stacks).toBeGreaterThan(1);
    expect(sizes).toHaveLength(templates.length);
    for (const s of sizes) {
      expect(s.bytes).toBeLessThanOrEqual(CFN_MAX_TEMPLATE_BYTES);
      expect(s.resources).toBeLessThan(500);
    }
    expect(templateLimitProblems(sizes)).toEqual([]);
    // The plan's resource count for each alarm stack is what was built.
    const alarmStacks = templates.slice(-layout.stacks);
    alarmStacks.forEach((t, i) => {
      expect(t.name).toBe(`${PREFIX}/MailProbes/Alarms/FleetAlarms${i}`);
      expect(Object.keys(t.resources)).toHaveLength(layout.resources[i]!);
    });
    console.log(sizes.map((s) => `${s.stack}: ${s.bytes} bytes, ${s.resources} resources`).join('\n'));
  });

  it('makes every alarm of the plan exactly once, the fleet alarms in the alarm stacks of their groups', () => {
    const alarms = templates.flatMap((t, i) =>
      ofType(t.resources, 'AWS::CloudWatch::Alarm').map(([, r]) => ({ i, name: nameOf(r) })),
    );
    const kinds = new Set(plan.shards.map((s) => s.check)).size;
    expect(alarms).toHaveLength(
      plan.estimate.perTargetAlarms + plan.estimate.insightsAlarms + plan.estimate.otherAlarms + 3 * kinds,
    );
    expect(new Set(alarms.map((a) => a.name)).size).toBe(alarms.length);

    const groups = fleetAlarmGroups(plan.alarmGroups, plan.alarmMode, plan.metricsMode);
    const layout = alarmStackLayout(groups, true);
    const firstAlarmStack = templates.length - layout.stacks;
    const where = new Map(alarms.map((a) => [a.name, a.i]));
    let fleet = 0;
    for (const g of plan.alarmGroups) {
      const names = [
        ...(g.alarmSuccess ? [`${PREFIX}-${g.id}-Success`] : []),
        ...(g.alarmCertExpiry ? [`${PREFIX}-${g.id}-CertDaysToExpiry`] : []),
      ];
      for (const n of names) expect(where.get(n)).toBe(firstAlarmStack + layout.stackOf(g.id));
      fleet += names.length;
    }
    expect(fleet).toBe(plan.estimate.insightsAlarms);
    // The root keeps the alarms that do not grow with the fleet; the shard stacks hold schedules only.
    expect(alarms.filter((a) => a.i === 0)).toHaveLength(plan.estimate.otherAlarms + 3 * kinds);
    for (const t of templates.slice(1, firstAlarmStack)) {
      expect(Object.values(t.resources).every((r) => r.Type === 'AWS::Scheduler::Schedule')).toBe(true);
    }
  });

  it("the root's AnyCritical reaches every critical alarm, and only those, within the composite limits", () => {
    const rules = new Map<string, string[]>();
    const leaves = new Set<string>();
    for (const t of templates) {
      for (const [, r] of ofType(t.resources, 'AWS::CloudWatch::CompositeAlarm')) {
        const rule = r.Properties!['AlarmRule'] as string;
        const children = [...rule.matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]!);
        // Nothing but ORs of named alarms: a rule of another shape would escape this walk.
        expect(rule).toBe(children.map((c) => `ALARM("${c}")`).join(' OR '));
        expect(children.length).toBeLessThanOrEqual(COMPOSITE_MAX_CHILDREN);
        expect(rule.length).toBeLessThanOrEqual(COMPOSITE_MAX_RULE_CHARS);
        rules.set(nameOf(r), children);
      }
      for (const [, r] of ofType(t.resources, 'AWS::CloudWatch::Alarm')) leaves.add(nameOf(r));
    }
    const reached = new Set<string>();
    const seen = new Set<string>();
    const walk = (name: string) => {
      expect(seen.has(name)).toBe(false);
      seen.add(name);
      const children = rules.get(name);
      if (children) for (const c of children) walk(c);
      else {
        // A name that is neither a composite nor an alarm of these templates would never fire.
        expect(leaves.has(name)).toBe(true);
        reached.add(name);
      }
    };
    walk(`${PREFIX}-AnyCritical`);
    const critical = built.probes.alarms.criticalAlarms.map(
      (a) => (a.node.defaultChild as cloudwatch.CfnAlarm).alarmName!,
    );
    expect(critical.length).toBeGreaterThan(plan.alarmGroups.length);
    expect([...reached].sort()).toEqual([...critical].sort());
    // Every composite is reached: none is left over, watching alarms that page nobody.
    expect([...rules.keys()].filter((n) => !seen.has(n))).toEqual([]);
    // The top composite's description counts what it covers, not its direct children.
    const top =
      templates[0]!.resources[
        built.stack.getLogicalId(built.probes.anyCriticalAlarm!.node.defaultChild as CfnResource)
      ]!;
    expect(top.Properties!['AlarmDescription']).toContain(
      `one or more of the ${critical.length} critical mailprobe alarms`,
    );
  });

  it("the fleet alarms' actions reach the alert topic (warnings) and the user's pager (critical) through parameters", () => {
    const root = templates[0]!;
    const topic = ofType(root.resources, 'AWS::SNS::Topic').map(([id]) => id);
    expect(topic).toHaveLength(1);
    const nested = ofType(root.resources, 'AWS::CloudFormation::Stack').filter(([id]) => id.includes('FleetAlarms'));
    expect(nested).toHaveLength(built.probes.alarms.alarmStacks.length);
    const alarmStacks = templates.slice(-nested.length);
    alarmStacks.forEach((t, i) => {
      const ns = built.probes.alarms.alarmStacks[i]!;
      const resource = root.resources[built.stack.getLogicalId(ns.nestedStackResource as CfnResource)]!;
      expect(resource.Type).toBe('AWS::CloudFormation::Stack');
      const passed = resource.Properties!['Parameters'] as Record<string, unknown>;
      // Each parameter of the alarm stack is handed the root's topic or pager, nothing else.
      expect(Object.keys(t.parameters).sort()).toEqual(Object.keys(passed).sort());
      const source = (p: string) => JSON.stringify(passed[p]);
      for (const [, r] of ofType(t.resources, 'AWS::CloudWatch::Alarm')) {
        const name = nameOf(r);
        const want = name.endsWith('-Success')
          ? JSON.stringify({ Ref: built.stack.getLogicalId(built.pager) })
          : JSON.stringify({ Ref: topic[0] });
        for (const key of ['AlarmActions', 'OKActions']) {
          const list = r.Properties![key] as { Ref: string }[];
          expect(list).toHaveLength(1);
          expect(source(list[0]!.Ref)).toBe(want);
        }
      }
    });
  });

  it('adding a target moves no alarm or composite between stacks', () => {
    const config = configOf();
    const plus = planConfig({
      ...config,
      targets: [...(config.targets ?? []), { name: 'relay-00000a', host: 'late.example.com', port: 587 }],
    });
    expect(plus.targets.length).toBe(plan.targets.length + 2);
    // Built, not synthesized: construct paths and logical IDs are fixed once the tree is.
    const after = alarmHomes(build(plus).stack);
    const before = alarmHomes(built.stack);
    expect(before.size).toBeGreaterThan(plan.estimate.insightsAlarms);
    const moved = [...before].filter(([name, home]) => after.get(name) !== home);
    expect(moved).toEqual([]);
  }, 300_000);
});
