/**
 * What users of cdk-monitoring-constructs expect of a monitoring construct (issue #24):
 * one alarm name prefix on everything, actions per severity, one composite "anything
 * critical" alarm for a pager, and widgets they can put on their own dashboard.
 * Inline code keeps synth fast (TOOLCHAIN.md); assertions are per property.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { CfnAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { COMPOSITE_MAX_CHILDREN, COMPOSITE_MAX_RULE_CHARS, packRules } from '../../lib/critical-composite.js';
import { MailProbes, type MailProbesConfig, type MailProbesProps } from '../../lib/mail-probes.js';

// Template JSON: properties are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = any;
type Resources = Record<string, { Type: string; Properties?: Props }>;

const INLINE = () => lambda.Code.fromInline('export const handler = async () => ({});');

/** Every alarm kind the construct makes: per target, SES, DH, TLS-RPT receivers and their domains. */
const CONFIG: MailProbesConfig = {
  targets: [
    { name: 'relay', host: 'smtp.example.com', port: 587 },
    { name: 'ses-eu', ses: { region: 'eu-west-1', ports: [587], account: true } },
  ],
  domains: [{ domain: 'example.com', name: 'example' }],
  tlsRpt: { https: true, mail: { recipients: ['tlsrpt@reports.example.com'] } },
  alerting: { email: ['oncall@example.com'] },
};

function synth(
  props: Partial<MailProbesProps> | ((stack: Stack) => Partial<MailProbesProps>) = {},
  config: MailProbesConfig = CONFIG,
) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'UserApp', { env: { account: '123456789012', region: 'eu-west-1' } });
  const own = typeof props === 'function' ? props(stack) : props;
  const probes = new MailProbes(stack, 'Probes', { config, code: INLINE, tlsRptCode: INLINE, ...own });
  const template = Template.fromStack(stack);
  return { stack, probes, template, resources: template.toJSON().Resources as Resources };
}

const ofType = (resources: Resources, ...types: string[]) =>
  Object.values(resources).filter((r) => types.includes(r.Type));

const ALARM_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'];

describe('alarmNamePrefix', () => {
  it.each([
    ['per-target', 'default'],
    ['fleet', 'default'],
    ['per-target', 'aggregate'],
  ] as const)('names every alarm of the template with it (%s alarms, %s metrics)', (alarmMode, metrics) => {
    const { resources } = synth({ alarmNamePrefix: 'acme-mail', alarmMode }, { ...CONFIG, metrics });
    const alarms = ofType(resources, ...ALARM_TYPES);
    // Probe, function, reporting, TLS-RPT receiver and domain alarms, and the composite.
    expect(alarms.length).toBeGreaterThan(10);
    const unprefixed = alarms
      .map((a) => a.Properties.AlarmName as unknown)
      .filter((name) => typeof name !== 'string' || !name.startsWith('acme-mail-'));
    expect(unprefixed).toEqual([]);
    expect(ofType(resources, 'AWS::CloudWatch::CompositeAlarm').length).toBe(1);
  });

  it('defaults to the stack name', () => {
    const { resources } = synth();
    const names = ofType(resources, ...ALARM_TYPES).map((a) => a.Properties.AlarmName as string);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n.startsWith('UserApp-'))).toEqual([]);
  });

  it('is part of the 255-character check the plan makes', () => {
    expect(() =>
      synth(
        { alarmNamePrefix: 'p'.repeat(120) },
        { targets: [{ name: 'n'.repeat(127), host: 'a.example', port: 587 }] },
      ),
    ).toThrow(/more than CloudWatch's 255/);
  });

  it('refuses a prefix that would break the composite alarm’s rule, saying what is allowed', () => {
    expect(() => synth({ alarmNamePrefix: 'mail") OR ALARM("x' })).toThrow(
      /alarmNamePrefix must be 1–128 letters, digits and \. _ : @ \/ -.*got "mail\\"\) OR/,
    );
    expect(() => synth({ alarmNamePrefix: '' })).toThrow(/alarmNamePrefix must be/);
  });
});

/** The user's topics, as a cdk-monitoring-constructs user wires them: a pager and a ticket queue. */
function withTopics(extra: (pager: sns.Topic, tickets: sns.Topic) => Partial<MailProbesProps>) {
  return (stack: Stack) =>
    extra(new sns.Topic(stack, 'Pager', { enforceSSL: true }), new sns.Topic(stack, 'Tickets', { enforceSSL: true }));
}
const refTo = (prefix: string) => ({ Ref: Match.stringLikeRegexp(`^${prefix}`) });
const alarmNamed = (name: string) => Match.stringLikeRegexp(`^UserApp-${name}$`);

describe('actions per severity', () => {
  const { template } = synth(
    withTopics((pager, tickets) => ({
      criticalAlarmActions: [new actions.SnsAction(pager)],
      warningAlarmActions: [new actions.SnsAction(tickets)],
    })),
  );

  it.each([
    ['smtp-relay-Success', 'per target'],
    ['smtp-5m-TargetsReporting', 'reporting'],
    ['smtp-function-Errors', 'function errors'],
    ['ses-account-ses-eu-Success', 'SES account'],
  ])('critical alarms (%s, %s) notify the critical actions, on ALARM and on OK', (name) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmNamed(name),
      AlarmActions: [refTo('Pager')],
      OKActions: [refTo('Pager')],
    });
  });

  it.each([
    ['tls-relay-CertDaysToExpiry'],
    ['tls-relay-DhKeyBits'],
    ['ses-account-ses-eu-QuotaUsedPercent'],
    ['smtp-function-Throttles'],
    ['smtp-function-Duration'],
    ['tlsrpt-example-FailedSessions'],
  ])('warning alarm %s notifies the warning actions', (name) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmNamed(name),
      AlarmActions: [refTo('Tickets')],
    });
  });

  it('the TLS-RPT receivers’ Errors alarms are warnings too', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmNamed('tlsrpt-https-receiver-Errors'),
      AlarmActions: [refTo('Tickets')],
    });
  });

  it('no alarm notifies the alert topic when both severities have their own actions', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    const toTopic = Object.values(alarms).filter((a) => JSON.stringify(a).includes('AlertsTopic'));
    expect(toTopic).toEqual([]);
  });

  it('by default both severities notify the alert topic; [] leaves alarms without actions', () => {
    const defaults = synth().template;
    for (const name of ['smtp-relay-Success', 'tls-relay-CertDaysToExpiry', 'tlsrpt-example-FailedSessions']) {
      defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: alarmNamed(name),
        AlarmActions: [refTo('ProbesAlertsTopic')],
      });
    }
    const silent = synth({ warningAlarmActions: [] }).template;
    silent.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmNamed('tls-relay-CertDaysToExpiry'),
      AlarmActions: Match.absent(),
      OKActions: Match.absent(),
    });
    silent.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmNamed('smtp-relay-Success'),
      AlarmActions: [refTo('ProbesAlertsTopic')],
    });
  });
});

/** The alarm names a composite's rule lists, in order. */
function ruleNames(rule: unknown): string[] {
  expect(typeof rule).toBe('string');
  return [...(rule as string).matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]!);
}
const composites = (resources: Resources) =>
  Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::CompositeAlarm');

describe('the composite "any critical" alarm', () => {
  it('watches exactly the critical alarms and pages the composite actions only', () => {
    const { probes, template, resources } = synth(
      withTopics((pager) => ({ compositeAlarmActions: [new actions.SnsAction(pager)] })),
    );
    const critical = probes.alarms.criticalAlarms.map((a) => (a.node.defaultChild as CfnAlarm).alarmName!);
    expect(critical).toContain('UserApp-smtp-relay-Success');
    expect(critical).toContain('UserApp-smtp-function-Errors');
    expect(critical).not.toContain('UserApp-tls-relay-CertDaysToExpiry');

    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'UserApp-AnyCritical',
      AlarmActions: [refTo('Pager')],
      OKActions: [refTo('Pager')],
      AlarmDescription: Match.stringLikeRegexp('critical mailprobe alarms'),
    });
    const [[logicalId, composite]] = composites(resources) as [[string, Props]];
    expect(ruleNames(composite.Properties.AlarmRule).sort()).toEqual([...critical].sort());
    // Created after its children, which the rule names (not ARNs: no implicit dependency).
    const raw = template.toJSON().Resources[logicalId];
    expect(raw.DependsOn.length).toBeGreaterThanOrEqual(critical.length);
    // The pager's topic is on the composite alone.
    const toPager = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      JSON.stringify(a).includes('Pager'),
    );
    expect(toPager).toEqual([]);
  });

  it('has no actions by default, and compositeAlarm: false leaves it out', () => {
    synth().template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'UserApp-AnyCritical',
      AlarmActions: Match.absent(),
    });
    const { probes, resources } = synth({ compositeAlarm: false });
    expect(composites(resources)).toEqual([]);
    expect(probes.anyCriticalAlarm).toBeUndefined();
  });

  it.each([
    ['more than 100 critical alarms', 130, 'relay'],
    ['a rule longer than 10,240 characters', 70, 'r'.repeat(120)],
  ])('with %s, splits them into parts under the limits and pages on their OR', (_what, count, stem) => {
    const config: MailProbesConfig = {
      targets: Array.from({ length: count }, (_, i) => ({
        name: `${stem}-${i}`,
        host: `smtp${i}.example.com`,
        port: 587,
        checks: ['smtp' as const],
      })),
    };
    const { probes, resources } = synth({ alarmMode: 'per-target' }, config);
    const critical = probes.alarms.criticalAlarms.map((a) => (a.node.defaultChild as CfnAlarm).alarmName!);
    expect(critical.length).toBeGreaterThan(count);

    const all = composites(resources).map(([, r]) => r.Properties as Props);
    const top = all.find((c) => c.AlarmName === 'UserApp-AnyCritical');
    const parts = all.filter((c) => c !== top);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) {
      expect(part.AlarmName).toMatch(/^UserApp-AnyCritical-part\d+$/);
      expect(ruleNames(part.AlarmRule).length).toBeLessThanOrEqual(COMPOSITE_MAX_CHILDREN);
      expect((part.AlarmRule as string).length).toBeLessThanOrEqual(COMPOSITE_MAX_RULE_CHARS);
      expect(part.AlarmActions).toBeUndefined();
    }
    expect(parts.flatMap((p) => ruleNames(p.AlarmRule)).sort()).toEqual([...critical].sort());
    expect(ruleNames(top.AlarmRule).sort()).toEqual(parts.map((p) => p.AlarmName as string).sort());
  });
});

describe('packRules', () => {
  it('packs in order by count and by characters, a rule never empty', () => {
    expect(packRules(Array(250).fill(10)).map((g) => g.length)).toEqual([100, 100, 50]);
    // Terms of 6,000 characters: two never fit one rule.
    expect(packRules([6_000, 6_000, 6_000])).toEqual([[0], [1], [2]]);
    // " OR " counts: 5,118 + 4 + 5,118 is exactly 10,240.
    expect(packRules([5_118, 5_118])).toEqual([[0, 1]]);
    expect(packRules([5_119, 5_118])).toEqual([[0], [1]]);
    expect(packRules([])).toEqual([]);
  });
});

describe('widgets on your own dashboard', () => {
  /** The dashboard body: a Fn::Join of strings and tokens, flattened for searching. */
  const bodyOf = (resource: { Properties?: Props }) => JSON.stringify(resource.Properties.DashboardBody);
  const widgetsIn = (body: string) => body.split('\\"properties\\":').length - 1;

  it('dashboard: false creates none of its own; addToDashboard puts every widget on yours, the composite first', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'UserApp', { env: { account: '123456789012', region: 'eu-west-1' } });
    const own = new cloudwatch.Dashboard(stack, 'Ops', { dashboardName: 'ops' });
    own.addWidgets(new cloudwatch.TextWidget({ markdown: '# Our services', width: 24 }));
    const probes = new MailProbes(stack, 'Probes', {
      config: CONFIG,
      code: INLINE,
      tlsRptCode: INLINE,
      dashboard: false,
      dashboardName: 'ops',
    });
    probes.addToDashboard(own);
    const template = Template.fromStack(stack);
    const dashboards = ofType(template.toJSON().Resources as Resources, 'AWS::CloudWatch::Dashboard');

    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties.DashboardName).toBe('ops');
    const body = bodyOf(dashboards[0]!);
    expect(widgetsIn(body)).toBe(1 + probes.dashboard.widgetCount);
    expect(body.indexOf('# Our services')).toBeLessThan(body.indexOf('mailprobe alarms'));
    expect(body).toContain('Failed checks by code');
    expect(body).toContain('AnyCritical');
    expect(probes.dashboard.dashboard).toBeUndefined();
    // The saved query stays, and the alarm descriptions and alert links name the user's dashboard.
    template.resourceCountIs('AWS::Logs::QueryDefinition', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DASHBOARD_NAME: 'ops' }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'UserApp-smtp-relay-Success',
      AlarmDescription: Match.stringLikeRegexp('dashboard ops'),
    });
  });

  it('without a dashboard name, alerts carry no dashboard link', () => {
    const { template, resources } = synth({ dashboard: false });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    const probeFunctions = ofType(resources, 'AWS::Lambda::Function').filter((f) =>
      /^mailprobe: .* checks$/.test(f.Properties.Description as string),
    );
    expect(probeFunctions.length).toBe(4);
    for (const f of probeFunctions) {
      expect(f.Properties.Environment.Variables.FAILED_CHECKS_QUERY_NAME).toBeTypeOf('string');
      expect(f.Properties.Environment.Variables.DASHBOARD_NAME).toBeUndefined();
    }
  });

  it('widgets() returns new widgets on every call, the same ones mailprobe’s dashboard holds', () => {
    const { probes, resources } = synth();
    const first = probes.widgets();
    const second = probes.widgets();
    expect(first).toHaveLength(probes.dashboard.widgetCount);
    expect(first.every((w, i) => w !== second[i])).toBe(true);
    const [own] = ofType(resources, 'AWS::CloudWatch::Dashboard');
    expect(widgetsIn(bodyOf(own!))).toBe(first.length);
  });
});

describe('alerting.format: chatbot', () => {
  const probeFunctions = (resources: Resources) =>
    ofType(resources, 'AWS::Lambda::Function').filter((f) =>
      /^mailprobe: .* checks$/.test(f.Properties.Description as string),
    );

  it('tells every probe function to publish Chatbot custom notifications', () => {
    const { resources } = synth({}, { ...CONFIG, alerting: { ...CONFIG.alerting, format: 'chatbot' } });
    const fns = probeFunctions(resources);
    expect(fns.length).toBe(4);
    for (const f of fns) expect(f.Properties.Environment.Variables.ALERT_FORMAT).toBe('chatbot');
  });

  it('text (the default), or no notifications: no format variable', () => {
    for (const [props, format] of [
      [{}, undefined],
      [{}, 'text'],
      [{ notifyChanges: false }, 'chatbot'],
    ] as const) {
      const alerting = { ...CONFIG.alerting, ...(format ? { format } : {}) };
      const fns = probeFunctions(synth(props, { ...CONFIG, alerting }).resources);
      expect(fns.length).toBe(4);
      for (const f of fns) expect(f.Properties.Environment.Variables.ALERT_FORMAT).toBeUndefined();
    }
  });

  it('refuses another format with the path and the choices', () => {
    expect(() => synth({}, { ...CONFIG, alerting: { format: 'slack' as 'text' } })).toThrow(
      /alerting\.format: expected "text" or "chatbot", got "slack"/,
    );
  });
});
