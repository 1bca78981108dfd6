/**
 * `mailprobe cost` prices the deployed flows: one line per flow with every charge it adds
 * (recomputed here by hand from the prices), the shared token key and alarms, the totals.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../lib/config/load.js';
import { planConfig } from '../../../lib/config/plan.js';
import { FLOW_PRICES, withFlowCosts } from '../../../lib/cost/flow.js';
import { estimateCost } from '../../../lib/cost/model.js';
import { PRICES } from '../../../lib/cost/prices.js';

const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
const config = (flows: unknown[], extra: Record<string, unknown> = {}) =>
  validateConfig({
    targets: [{ name: 'relay', host: 'relay.example.com', port: 587, auth: { secretArn: ARN('relay') } }],
    flows,
    ...extra,
  });
const flow = {
  name: 'to-inbox',
  via: 'relay',
  from: 'probe@example.com',
  to: 'probe@example.net',
  receive: { imap: { host: 'imap.example.com', auth: { secretArn: ARN('mailbox') } } },
};

describe('cost of the mail flows', () => {
  it('prices a 15-minute IMAP flow item by item', () => {
    const plan = planConfig(config([flow]));
    const base = estimateCost(plan);
    const withFlows = withFlowCosts(base, plan);
    const line = withFlows.targets.find((t) => t.name === 'to-inbox')!;
    expect(line.checks).toEqual(['flow']);
    const runs = (730 * 3600) / 900; // 2,920 runs a month
    const item = (name: string) => line.items.find((i) => i.item === name)?.usd;
    // 3 s + 0.5 s start-up at 512 MB, plus the request and the schedule's invocation.
    expect(item('schedule and Lambda')).toBeCloseTo(
      (runs / 1e6) * (PRICES.schedulerPerMillion + PRICES.lambdaRequestsPerMillion) +
        runs * 3.5 * 0.5 * PRICES.lambdaArmGbSecond,
      6,
    );
    // default mode: Success, Delivered, DeliverySeconds, each with data in every hour.
    expect(item('custom metrics')).toBeCloseTo(3 * PRICES.customMetricMonth, 6);
    expect(item('alarms')).toBeCloseTo(PRICES.alarmMetricMonth, 6);
    expect(item('Secrets Manager reads')).toBeCloseTo(((runs * 3) / 10_000) * FLOW_PRICES.secretApiPer10000, 6);
    expect(item('SES sending')).toBeUndefined();
    expect(line.usd).toBeCloseTo(
      line.items.reduce((a, i) => a + i.usd, 0),
      6,
    );
    expect(line.usd).toBeGreaterThan(1.0);
    expect(line.usd).toBeLessThan(1.2);
    // The shared lines, and the totals they add up to.
    expect(withFlows.fixedItems.find((i) => i.item === 'flows: token key (Secrets Manager)')?.usd).toBe(0.4);
    const fixed = withFlows.fixedItems.filter((i) => i.item.startsWith('flows:')).reduce((a, i) => a + i.usd, 0);
    expect(withFlows.totalUsd).toBeCloseTo(base.totalUsd + line.usd + fixed, 5);
  });

  it('adds SES sending when the relay is an SES SMTP endpoint, and keeps Delivered alone in aggregate mode', () => {
    const plan = planConfig(
      validateConfig({
        targets: [{ ses: { region: 'eu-west-1', ports: [587], auth: { secretArn: ARN('ses') } } }],
        metrics: 'aggregate',
        flows: [{ ...flow, via: 'ses-eu-west-1-587' }],
      }),
    );
    const line = withFlowCosts(estimateCost(plan), plan).targets.find((t) => t.name === 'to-inbox')!;
    expect(line.items.find((i) => i.item === 'SES sending')?.usd).toBeCloseTo((2920 / 1000) * 0.1, 6);
    expect(line.items.find((i) => i.item === 'custom metrics')?.usd).toBeCloseTo(PRICES.customMetricMonth, 6);
  });

  it('changes nothing without flows', () => {
    const plan = planConfig(validateConfig({ targets: [{ name: 'relay', host: 'relay.example.com', port: 587 }] }));
    const base = estimateCost(plan);
    expect(withFlowCosts(base, plan)).toBe(base);
  });
});
