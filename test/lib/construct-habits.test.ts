/**
 * What users of cdk-monitoring-constructs expect of a monitoring construct (issue #24):
 * one alarm name prefix on everything, actions per severity, one composite "anything
 * critical" alarm for a pager, and widgets they can put on their own dashboard.
 * Inline code keeps synth fast (TOOLCHAIN.md); assertions are per property.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
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
    { name: 'ses-eu', ses: { region: 'eu-west-1' } },
  ],
  domains: [{ domain: 'example.com', name: 'example' }],
  tlsRpt: { https: true, mail: { recipients: ['tlsrpt@reports.example.com'] } },
  alerting: { email: ['oncall@example.com'] },
};

function synth(props: Partial<MailProbesProps> = {}, config: MailProbesConfig = CONFIG) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'UserApp', { env: { account: '123456789012', region: 'eu-west-1' } });
  const probes = new MailProbes(stack, 'Probes', { config, code: INLINE, tlsRptCode: INLINE, ...props });
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
    // Probe, function, reporting, TLS-RPT receiver and domain alarms.
    expect(alarms.length).toBeGreaterThan(10);
    const unprefixed = alarms
      .map((a) => a.Properties.AlarmName as unknown)
      .filter((name) => typeof name !== 'string' || !name.startsWith('acme-mail-'));
    expect(unprefixed).toEqual([]);
  });

  it('defaults to the stack name', () => {
    const { resources } = synth();
    const names = ofType(resources, ...ALARM_TYPES).map((a) => a.Properties.AlarmName as string);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n.startsWith('UserApp-'))).toEqual([]);
  });

  it('is part of the 255-character check the plan makes', () => {
    expect(() => synth({ alarmNamePrefix: 'p'.repeat(230) })).toThrow(/more than CloudWatch's 255/);
  });
});
