/**
 * The alarm layout is one decision (lib/monitoring/alarm-layout.ts): for every alarm mode and
 * metric mode, the alarms the synthesized stack holds are exactly the ones the plan counted
 * (which `auto` and the quota checks rely on) and the ones the cost model prices. Synthesized
 * through MailProbes with inline code (no bundling).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../lib/config/load.js';
import { planConfig, type Plan } from '../../../lib/config/plan.js';
import { estimateCost } from '../../../lib/cost/model.js';
import { PRICES } from '../../../lib/cost/prices.js';
import { MailProbes } from '../../../lib/mail-probes.js';
import { alarmsWatching, classicAlarmsOf, targetAlarmRoute } from '../../../lib/monitoring/alarm-layout.js';

/** Every kind and both certificate placements: smtp with TLS and a tls check, smtp without TLS, mta-sts, ses-account. */
const RAW = {
  targets: [
    { name: 'relay', host: 'smtp.example.com', port: 587 },
    { name: 'plain', host: 'plain.example.com', port: 25, tls: 'none', checks: ['smtp'] },
    { name: 'submission', host: 'submit.example.com', port: 465, checks: ['smtp'] },
    { name: 'ses-eu', ses: { region: 'eu-west-1', ports: [587], account: { identities: ['example.com'] } } },
  ],
  domains: ['example.com', 'example.org'],
};

interface CfnAlarm {
  readonly Properties: {
    readonly AlarmName?: string;
    readonly Metrics?: readonly { readonly Expression?: string }[];
    readonly Dimensions?: readonly { readonly Name: string; readonly Value: string }[];
    readonly Namespace?: string;
  };
}

function synth(plan: Plan): CfnAlarm[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Layout', { env: { account: '123456789012', region: 'eu-west-1' } });
  new MailProbes(stack, 'Probes', {
    plan,
    code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
  });
  return Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as CfnAlarm[];
}

const isInsights = (a: CfnAlarm) => (a.Properties.Metrics ?? []).some((m) => /SELECT /.test(m.Expression ?? ''));
/** Classic alarms on one target's own metrics carry its Target dimension (directly or in a math expression). */
const isPerTarget = (a: CfnAlarm) => JSON.stringify(a.Properties).includes('"Name":"Target"');

describe.each(['per-target', 'fleet'] as const)('alarms.mode %s', (mode) => {
  it.each(['default', 'detailed', 'aggregate'] as const)(
    'metrics %s: the stack holds what the plan counted',
    (metrics) => {
      const plan = planConfig(validateConfig({ ...RAW, metrics, alarms: { mode } }));
      const alarms = synth(plan);
      expect(alarms.filter(isInsights)).toHaveLength(plan.estimate.insightsAlarms);
      expect(alarms.filter((a) => !isInsights(a) && isPerTarget(a))).toHaveLength(plan.estimate.perTargetAlarms);
      // The layout's own list, target by target, is the plan's count.
      const classic = plan.targets.filter(
        (t) => targetAlarmRoute(t.check, plan.alarmMode, plan.metricsMode) === 'classic',
      );
      expect(classic.reduce((n, t) => n + classicAlarmsOf(t).length, 0)).toBe(plan.estimate.perTargetAlarms);
      if (metrics === 'aggregate') expect(plan.estimate.perTargetAlarms + plan.estimate.insightsAlarms).toBe(0);
      // ses-account is alarmed classically in every mode but aggregate: its quota alarm exists by name.
      const quota = alarms.filter((a) => /-ses-account-.*-QuotaUsedPercent$/.test(a.Properties.AlarmName ?? ''));
      expect(quota).toHaveLength(metrics === 'aggregate' ? 0 : 1);
    },
  );
});

describe('the cost model prices the layout', () => {
  it('charges each target the alarm metrics of the alarms that watch it, in both modes', () => {
    for (const mode of ['per-target', 'fleet'] as const) {
      const plan = planConfig(validateConfig({ ...RAW, alarms: { mode } }));
      const groups = new Map(plan.alarmGroups.map((g) => [g.id, g]));
      const metrics = plan.targets.reduce(
        (n, t) =>
          n +
          alarmsWatching(t, t.group !== undefined ? groups.get(t.group) : undefined, plan.alarmMode, plan.metricsMode)
            .length,
        0,
      );
      expect(metrics).toBeGreaterThan(0);
      const priced = estimateCost(plan).items.find((i) => i.item === 'alarms');
      expect(priced?.usd).toBeCloseTo(metrics * PRICES.alarmMetricMonth, 6);
      // Per-target: one alarm metric per classic alarm, so the count is the plan's.
      if (mode === 'per-target') expect(metrics).toBe(plan.estimate.perTargetAlarms);
    }
  });
});
