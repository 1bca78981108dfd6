/**
 * Dashboard viewing cost (lib/cost/dashboard.ts): the metrics each widget's query analyzes,
 * counted by hand for one SMTP endpoint, and the widget list the cost model prices is the
 * one the synthesized dashboard draws.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { planConfig } from '../../../lib/config/plan.js';
import { DEFAULT_VIEWING, estimateDashboardViewing } from '../../../lib/cost/dashboard.js';
import { PRICES } from '../../../lib/cost/prices.js';
import { domainConfig, smtpEndpointConfig } from '../../../lib/cost/sample-configs.js';
import { insightsWidgets } from '../../../lib/dashboard-layout.js';
import { ProbeDashboard } from '../../../lib/probe-dashboard.js';
import { insightsQuery } from '../../../lib/probe-metrics.js';

/** 730 h / 24 = 30.417 days × (8 h × 60 / 5 min = 96 refreshes a day). */
const REFRESHES = (730 / 24) * 96;

describe('dashboard viewing cost', () => {
  it.each([
    // One SMTP endpoint (smtp every 5 min, tls every 6 h): two reporting groups (smtp 5m, tls 6h).
    // per-target default: smtp publishes Success only; tls Success, CertDaysToExpiry, DhKeyBits.
    // counts 2 × 1 + smtp Success 1 + tls Success 1 + certificates 1 + DH 1.
    ['default', 'per-target', [2, 1, 1, 1, 1]],
    // fleet (the cost model's own figures, model.test.ts): smtp publishes Success and CertDaysToExpiry
    // (its Metrics Insights alarm), tls Success and DhKeyBits: certificates are smtp's one series.
    ['default', 'fleet', [2, 1, 1, 1, 1]],
    // detailed: 4 count metrics × 2 groups; Success and Duration per kind; certificates on both.
    ['detailed', 'per-target', [8, 1, 1, 1, 1, 2, 1]],
    // aggregate: the count graph only.
    ['aggregate', 'per-target', [8]],
  ] as const)('counts the metrics each widget analyzes: %s metrics, %s alarms', (metrics, mode, perWidget) => {
    const v = estimateDashboardViewing(planConfig(smtpEndpointConfig({ metrics, alarms: { mode } })));
    expect(v.widgets.map((w) => w.metrics)).toEqual(perWidget);
    const total = perWidget.reduce((a, b) => a + b, 0);
    expect(v.metricsPerRefresh).toBe(total);
    expect(v.refreshesPerMonth).toBe(Math.round(REFRESHES));
    expect(v.getMetricDataUsd).toBeCloseTo(((REFRESHES * total) / 1000) * PRICES.getMetricDataPer1000Metrics, 6);
  });

  it('prices the Logs Insights widget by the result logs of one day', () => {
    const v = estimateDashboardViewing(planConfig(smtpEndpointConfig()));
    // smtp: 288 runs × (3,000 B result + 1,000 B invocation); tls: 4 runs × (2,700 + 1,000) B.
    const bytes = 288 * 4000 + 4 * 3700;
    expect(v.logBytesPerRefresh).toBe(bytes);
    expect(v.logsInsightsUsd).toBeCloseTo(((REFRESHES * bytes) / 1e9) * 0.005, 6);
    expect(v.usd).toBeCloseTo(v.getMetricDataUsd + v.logsInsightsUsd, 5);
  });

  it('scales with the pattern: 24 h with a 1-minute refresh is 15× the default', () => {
    const plan = planConfig(smtpEndpointConfig());
    const base = estimateDashboardViewing(plan, DEFAULT_VIEWING);
    const wall = estimateDashboardViewing(plan, { hoursPerDay: 24, refreshMinutes: 1 });
    expect(wall.metricsPerRefresh).toBe(base.metricsPerRefresh);
    expect(wall.getMetricDataUsd / base.getMetricDataUsd).toBeCloseTo(15, 3);
    expect(estimateDashboardViewing(plan, { hoursPerDay: 0, refreshMinutes: 5 }).usd).toBe(0);
    expect(() => estimateDashboardViewing(plan, { hoursPerDay: 25, refreshMinutes: 5 })).toThrow(/0–24/);
    expect(() => estimateDashboardViewing(plan, { hoursPerDay: 8, refreshMinutes: 0 })).toThrow(/≥ 1 minute/);
  });

  it.each([
    [
      'an SMTP endpoint, fleet alarms, detailed metrics',
      smtpEndpointConfig({ metrics: 'detailed', alarms: { mode: 'fleet' } }),
    ],
    ['an MTA-STS domain', domainConfig()],
  ])('prices the widgets the synthesized dashboard draws: %s', (_label, config) => {
    const plan = planConfig(config);
    const stack = new Stack(new App(), 'Viewing');
    new ProbeDashboard(stack, 'Dashboard', {
      namespace: 'MailProbe',
      targets: plan.targets,
      alarms: [],
      logGroups: [new logs.LogGroup(stack, 'Logs')],
      alarmMode: plan.alarmMode,
      metricsMode: plan.metricsMode,
    });
    const [dashboard] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify((dashboard as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    const layout = insightsWidgets({ targets: plan.targets, alarmMode: plan.alarmMode, metricsMode: plan.metricsMode });
    expect(layout.length).toBeGreaterThan(0);
    for (const w of layout) {
      expect(body).toContain(w.title);
      // The query as it appears in the body (quotes JSON-escaped twice: widget JSON inside a Fn::Join string).
      const query = insightsQuery({ namespace: 'MailProbe', ...w.query });
      expect(body).toContain(JSON.stringify(JSON.stringify(query)).slice(3, -3));
    }
    const priced = estimateDashboardViewing(plan).widgets.map((w) => w.title);
    expect(priced).toEqual(['Results per check kind and status', ...layout.map((w) => w.title)]);
  });
});
