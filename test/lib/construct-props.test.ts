/**
 * MailProbes in a user's own app: typed `config` props validated like the file, and
 * MailProbes.fromConfigFile. No bundling (TOOLCHAIN.md), fine-grained assertions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../lib/config/load.js';
import { planConfig } from '../../lib/config/plan.js';
import { ENV } from '../../lambdas/engine/shard/env.js';
import { MailProbes, type MailProbesConfig } from '../../lib/mail-probes.js';
import { scheduledShards } from '../../testkit/shard-artifacts.js';

const CONFIG: MailProbesConfig = {
  targets: [
    { name: 'relay', host: 'smtp.example.com', port: 587 },
    { name: 'submission', host: 'submit.example.com', port: 465, checks: ['smtp'] },
  ],
  domains: ['example.com'],
  alerting: { email: ['oncall@example.com'] },
};

function newStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'UserApp', { env: { account: '123456789012', region: 'eu-west-1' } });
}

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-props-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MailProbes with typed config props', () => {
  it('deploys the configured checks next to the user’s own topic, with the given function timeout', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'OnCall', { enforceSSL: true });
    const probes = new MailProbes(stack, 'Probes', {
      config: CONFIG,
      alertTopic: topic,
      functionTimeout: Duration.minutes(2),
    });
    const template = Template.fromStack(stack);

    expect([...probes.functions.keys()].sort()).toEqual(['mta-sts', 'smtp', 'tls']);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'mailprobe: smtp checks', Timeout: 120 });
    // The user's topic is the only topic: no second one is created, and it receives the subscription.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    expect(probes.alertTopic).toBe(topic);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: Match.stringLikeRegexp('^OnCall') },
    });
  });

  it('plans exactly as the file would', () => {
    const fromProps = new MailProbes(newStack(), 'Probes', { config: CONFIG });
    const fromPlan = new MailProbes(newStack(), 'Probes', { plan: planConfig(validateConfig(CONFIG)) });
    const schedules = (p: MailProbes) =>
      [...p.functions.values()].flatMap((f) => f.schedules.map((s) => s.node.id)).sort();
    expect(schedules(fromProps)).toEqual(schedules(fromPlan));
    expect(schedules(fromProps).length).toBeGreaterThan(0);
  });

  it('alarmMode overrides the config: fleet makes Metrics Insights alarms, per-target makes none', () => {
    const insightsAlarms = (mode: 'per-target' | 'fleet') => {
      const stack = newStack();
      new MailProbes(stack, 'Probes', { config: CONFIG, alarmMode: mode });
      return Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).filter((a) =>
        JSON.stringify(a.Properties.Metrics ?? []).includes('SELECT MIN(Success)'),
      ).length;
    };
    expect(insightsAlarms('per-target')).toBe(0);
    expect(insightsAlarms('fleet')).toBeGreaterThan(0);
    expect(
      () => new MailProbes(newStack(), 'Probes', { plan: planConfig(validateConfig(CONFIG)), alarmMode: 'fleet' }),
    ).toThrow(/alarmMode applies to config/);
  });

  it('with a vpc prop, mx "auto" probes the MX hosts; without one it does not', async () => {
    const mtaStsInputs = async (withVpc: boolean) => {
      const stack = newStack();
      const vpc = withVpc ? new ec2.Vpc(stack, 'Vpc', { maxAzs: 1 }) : undefined;
      new MailProbes(stack, 'Probes', { config: CONFIG, ...(vpc ? { vpc } : {}) });
      return (await scheduledShards(stack, Template.fromStack(stack)))
        .map((shard) => JSON.stringify(shard))
        .filter((input) => input.includes('mta-sts'));
    };
    const without = await mtaStsInputs(false);
    expect(without.length).toBeGreaterThan(0);
    expect(without.every((input) => input.includes('"probeMx":false'))).toBe(true);
    const within = await mtaStsInputs(true);
    expect(within.length).toBeGreaterThan(0);
    expect(within.some((input) => input.includes('"probeMx":false'))).toBe(false);
  });

  it('rejects an invalid config with the path-naming error of the file', () => {
    const bad = {
      targets: [...(CONFIG.targets ?? []), { host: 'smtp3.example.com', port: '587a' }],
    } as unknown as MailProbesConfig;
    let error: unknown;
    try {
      new MailProbes(newStack(), 'Probes', { config: bad });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(['targets[2].port: expected 1–65535, got "587a"']);
    expect((error as ConfigError).message).toMatch(/^MailProbes UserApp\/Probes config: 1 problem/);
  });

  it('refuses both config and plan, neither, a plan with functionTimeout, and config.vpc', () => {
    const plan = planConfig(validateConfig(CONFIG));
    expect(() => new MailProbes(newStack(), 'P', { config: CONFIG, plan })).toThrow(/either config or plan, not both/);
    expect(() => new MailProbes(newStack(), 'P', {})).toThrow(/config is required/);
    expect(() => new MailProbes(newStack(), 'P', { plan, functionTimeout: Duration.minutes(1) })).toThrow(
      /functionTimeout applies to config/,
    );
    const withVpc = { ...CONFIG, vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] } };
    expect(() => new MailProbes(newStack(), 'P', { config: withVpc })).toThrow(/pass the VPC as the vpc prop/);
  });
});

describe('MailProbes.fromConfigFile', () => {
  it('reads a YAML file and takes the other props', () => {
    const path = join(dir, 'mailprobe.config.yaml');
    writeFileSync(path, 'targets:\n  - name: relay\n    host: smtp.example.com\n    port: 587\n    checks: [smtp]\n');
    const stack = newStack();
    const probes = MailProbes.fromConfigFile(stack, 'Probes', path, { notifyChanges: false });
    expect([...probes.functions.keys()]).toEqual(['smtp']);
    // notifyChanges: false leaves the function without the topic ARN in its environment.
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: 'mailprobe: smtp checks',
      Environment: { Variables: Match.objectLike({ [ENV.alertTopicArn]: Match.absent() }) },
    });
  });

  it('names the file and the path of the mistake', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'targets:\n  - host: smtp.example.com\n    port: 70000\n');
    expect(() => MailProbes.fromConfigFile(newStack(), 'Probes', path)).toThrow(
      `${path}: 1 problem\n  - targets[0].port: expected 1–65535, got 70000`,
    );
  });
});
