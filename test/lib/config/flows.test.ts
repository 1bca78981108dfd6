/**
 * `flows[]` in the config: validated with the exact path, expanded against the targets the
 * message is sent through, and planned apart from the targets' shards (lib/config/flow-plan.ts).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../../lib/config/load.js';
import { expandFlows } from '../../../lib/config/expand.js';
import { planConfig } from '../../../lib/config/plan.js';

const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
const imap = { imap: { host: 'imap.example.com', auth: { secretArn: ARN('mailbox') } } };
const base = {
  targets: [
    { name: 'relay', host: 'relay.example.com', port: 587, tls: 'starttls', auth: { secretArn: ARN('relay') } },
    { ses: { region: 'eu-west-1', ports: [587], auth: { secretArn: ARN('ses') } } },
  ],
};

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('flows in the config', () => {
  it('names the path of each mistake', () => {
    const problems = problemsOf({
      ...base,
      flows: [
        { name: 'x'.repeat(65), via: 'relay', from: 'a@example.com', to: 'b@example.com', receive: imap },
        {
          name: 'plain',
          via: 'relay',
          from: 'a@example.com',
          to: 'b@example.com',
          receive: { imap: { ...imap.imap, tls: 'none' } },
        },
        { name: 'late', via: 'relay', from: 'a@example.com', to: 'b@example.com', receive: imap, warnSeconds: 600 },
        { name: 'pw', via: 'relay', from: 'a@example.com', to: 'b@example.com', receive: { imap: { host: 'h' } } },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^flows\[0\]\.name: expected a flow name .*up to 64/),
        expect.stringMatching(/^flows\[1\]\.receive(\.imap\.tls)?: expected/),
        expect.stringMatching(/^flows\[2\]: warnSeconds must be below maxSeconds/),
        expect.stringMatching(/^flows\[3\]\.receive/),
      ]),
    );
  });

  it('sends through the named target with its TLS mode and credentials, or an expanded SES port', () => {
    const config = validateConfig({
      ...base,
      flows: [
        { name: 'via-relay', via: 'relay', from: 'a@example.com', to: 'b@example.com', receive: imap },
        {
          name: 'via-ses',
          via: 'ses-eu-west-1-587',
          from: 'a@example.com',
          to: 'b@example.com',
          receive: imap,
          maxSeconds: 900,
          schedule: 'rate(30 minutes)',
        },
      ],
    });
    const problems: string[] = [];
    const flows = expandFlows(config, problems);
    expect(problems).toEqual([]);
    expect(flows.map((f) => [f.spec.name, f.schedule])).toEqual([
      ['via-relay', 'rate(15 minutes)'],
      ['via-ses', 'rate(30 minutes)'],
    ]);
    expect(flows[0]!.spec.via).toEqual({
      host: 'relay.example.com',
      port: 587,
      tls: 'starttls',
      auth: { secretArn: ARN('relay') },
    });
    expect(flows[1]!.spec.via).toMatchObject({
      host: 'email-smtp.eu-west-1.amazonaws.com',
      port: 587,
      auth: { secretArn: ARN('ses') },
    });
    expect(flows[1]!.spec.maxSeconds).toBe(900);
    expect(flows[0]!.spec.receive).toEqual({ imap: { host: 'imap.example.com', auth: { secretArn: ARN('mailbox') } } });
  });

  it('refuses a via that names no target, listing the names there are', () => {
    const config = validateConfig({
      ...base,
      flows: [{ name: 'f', via: 'rellay', from: 'a@example.com', to: 'b@example.com', receive: imap }],
    });
    const problems: string[] = [];
    expect(expandFlows(config, problems)).toEqual([]);
    expect(problems).toEqual([
      'flows[0].via: no SMTP target named "rellay" (targets: relay, ses-eu-west-1-587); name the target the message is sent through',
    ]);
  });

  it("stays out of the targets' shards: planned apart, as plan.flows", () => {
    const config = validateConfig({
      ...base,
      flows: [{ name: 'f', via: 'relay', from: 'a@example.com', to: 'b@example.com', receive: imap }],
    });
    const plan = planConfig(config);
    expect(plan.shards.flatMap((s) => s.specs.map((spec) => spec.check))).not.toContain('flow');
    expect(plan.flows?.shards.map((s) => s.specs.map((spec) => spec.check))).toEqual([['flow']]);
  });
});
