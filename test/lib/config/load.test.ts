import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig, parseConfigText, validateConfig } from '../../../lib/config/load.js';
import { renderJsonSchema, SCHEMA_PATH } from '../../../scripts/gen-schema.js';

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation', () => {
  it('names the exact path, what was expected and what was found', () => {
    const problems = problemsOf({
      targets: [
        { host: 'a.example', port: 25 },
        { host: 'b.example', port: 587 },
        { host: 'c.example', port: '587a' },
      ],
    });
    expect(problems).toEqual(['targets[2].port: expected 1–65535, got "587a"']);
  });

  it('lists every problem at once, including in SES presets, domains and alerting', () => {
    const problems = problemsOf({
      targets: [{ ses: { region: 'eu-west-1', ports: [587, 70000] } }, { host: 'x.example', port: 25, tls: 'yes' }],
      domains: ['example.com', { domain: 'not a domain' }],
      defaults: { schedules: { smtp: 'every 5 minutes' } },
      alerting: { email: ['oncall'], https: ['http://hooks.example.com/'] },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'targets[0].ses.ports[1]: expected 1–65535, got 70000',
        'targets[1].tls: expected "auto", "starttls", "implicit" or "none", got "yes"',
        'domains[1].domain: expected a domain name like "example.com", got "not a domain"',
        'defaults.schedules.smtp: expected a schedule like "rate(5 minutes)", "rate(1 hour)" or "rate(6 hours)", got "every 5 minutes"',
        'alerting.email[0]: expected an e-mail address, got "oncall"',
        'alerting.https[0]: expected an https:// URL, got "http://hooks.example.com/"',
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('accepts IDN top-level domains as A-labels and still refuses a numeric TLD', () => {
    expect(validateConfig({ domains: ['example.xn--p1ai', { domain: 'mail.xn--fiqs8s.' }] }).domains).toEqual([
      'example.xn--p1ai',
      { domain: 'mail.xn--fiqs8s.' },
    ]);
    expect(problemsOf({ domains: ['example.123'] })).toEqual([
      'domains[0]: expected a domain name like "example.com", got "example.123"',
    ]);
  });

  it('rejects unknown keys so that a typo is not silently ignored', () => {
    expect(problemsOf({ targets: [{ host: 'a.example', prot: 25, port: 25 }] })).toEqual([
      'targets[0].prot: unknown key (did you mean "port"?; see schema/mailprobe.config.schema.json)',
    ]);
  });

  it('rejects rate expressions EventBridge or the alarms cannot take', () => {
    expect(problemsOf({ domains: [{ domain: 'example.com', schedule: 'rate(1 minutes)' }] })).toEqual([
      'domains[0].schedule: expected "rate(1 minute)" or "rate(N minutes)" (singular unit for 1 only), got "rate(1 minutes)"',
    ]);
    expect(problemsOf({ domains: [{ domain: 'example.com', schedule: 'rate(2 days)' }] })).toEqual([
      `domains[0].schedule: expected an interval from 1 minute to 1 day (the alarms' period), got "rate(2 days)"`,
    ]);
  });

  it.each([
    [
      { targets: [{ host: 'a.example', port: 587, auth: { username: 'u', password: 'hunter2' } }] },
      'targets[0].auth.password',
    ],
    [
      {
        targets: [
          {
            ses: {
              region: 'eu-west-1',
              auth: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x', pass: 'p' },
            },
          },
        ],
      },
      'targets[0].ses.auth.pass',
    ],
    [{ alerting: { email: ['a@example.com'] }, smtpPassword: 'p' }, 'smtpPassword'],
  ])('rejects a plain password anywhere and points to Secrets Manager (%#)', (raw, path) => {
    const problems = problemsOf(raw);
    const line = problems.find((p) => p.startsWith(`${path}:`));
    expect(line).toContain('plain passwords are not accepted');
    expect(line).toContain('Secrets Manager');
    expect(line).toContain('auth: { secretArn');
    // The secret itself is never echoed back in the error.
    expect(problems.join('\n')).not.toMatch(/hunter2/);
  });

  it('accepts auth only as a Secrets Manager ARN', () => {
    expect(problemsOf({ targets: [{ host: 'a.example', port: 587, auth: { secretArn: 'my-secret' } }] })).toEqual([
      'targets[0].auth.secretArn: expected a Secrets Manager ARN like "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-relay-AbCdEf", got "my-secret"',
    ]);
  });

  it('reports YAML syntax errors with the line', () => {
    expect(() => parseConfigText('targets:\n  - host: a\n   port: 25\n', 'yaml', 'x.yaml')).toThrowError(
      /x\.yaml: 1 problem\n {2}- not valid YAML \(line \d\)/,
    );
  });

  it('loads JSON and YAML files and refuses other extensions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailprobe-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ domains: ['example.com'] }));
    writeFileSync(join(dir, 'c.yml'), 'domains:\n  - example.org\n');
    expect(loadConfig(join(dir, 'c.json')).domains).toEqual(['example.com']);
    expect(loadConfig(join(dir, 'c.yml')).domains).toEqual(['example.org']);
    expect(() => loadConfig(join(dir, 'c.toml'))).toThrowError(/expected a \.json, \.yaml or \.yml file, got "\.toml"/);
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrowError(
      /cannot read the file: there is no such file \(check the path/,
    );
  });

  it('accepts the commented example config', () => {
    const config = loadConfig(new URL('../../../mailprobe.config.example.yaml', import.meta.url).pathname);
    expect(config.namespace).toBe('MailProbe');
    expect(config.targets).toHaveLength(3);
    expect(config.domains).toEqual([
      'example.com',
      {
        domain: 'example.org',
        schedule: 'rate(2 hours)',
        mx: 'never',
        senderAuth: { dkimSelectors: ['s1', 'google'] },
      },
      { domain: 'news.example.org', mtaSts: false, senderAuth: true },
    ]);
  });
});

describe('JSON Schema', () => {
  it('the committed schema/mailprobe.config.schema.json is what scripts/gen-schema.ts generates', async () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(await renderJsonSchema());
  });

  it('describes the port as an integer 1–65535 and forbids unknown keys', async () => {
    const schema = JSON.parse(await renderJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    const smtpTarget = schema.properties.targets.items.anyOf[0];
    expect(smtpTarget.properties.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
    expect(smtpTarget.required).toEqual(['host', 'port']);
  });
});

describe('config mistakes a new user makes (issue 24)', () => {
  it('suggests the key that was meant: timeoutMs for timeout, a near spelling for a typo', () => {
    expect(() =>
      validateConfig({ targets: [{ name: 'r', host: 'relay.example.com', port: 587, timeout: 5000 }] }),
    ).toThrowError(/targets\[0\]\.timeout: unknown key \(did you mean "timeoutMs"\?/);
    expect(() => validateConfig({ targets: [{ name: 'r', host: 'relay.example.com', prot: 587 }] })).toThrowError(
      /targets\[0\]\.prot: unknown key \(did you mean "port"\?/,
    );
    expect(() => validateConfig({ domains: [{ domain: 'example.com' }], alertng: {} })).toThrowError(
      /alertng: unknown key \(did you mean "alerting"\?/,
    );
    expect(() => validateConfig({ domains: [{ domain: 'example.com' }], zzzzzz: 1 })).toThrowError(
      /zzzzzz: unknown key \(check the spelling/,
    );
  });

  it('refuses a config that checks nothing, and says what to add', () => {
    expect(() => validateConfig({})).toThrowError(/checks nothing: add at least one entry to `targets`/);
    expect(() => validateConfig({ targets: [], domains: [] })).toThrowError(/checks nothing/);
  });

  it('says to drop the brackets of an IPv6 host', () => {
    expect(() => validateConfig({ targets: [{ name: 'v6', host: '[::1]', port: 25 }] })).toThrowError(
      /targets\[0\]\.host: write an IPv6 address without brackets \("::1"\); the port goes in `port`/,
    );
    expect(validateConfig({ targets: [{ name: 'v6', host: '::1', port: 25 }] }).targets).toHaveLength(1);
  });
});
