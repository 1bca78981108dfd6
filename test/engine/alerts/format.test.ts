import { describe, expect, it } from 'vitest';
import { finding } from '../../../lambdas/engine/findings.js';
import type { AlertableResult } from '../../../lambdas/engine/alerts/alert-facts.js';
import { factsOf } from '../../../lambdas/engine/alerts/alert-facts.js';
import {
  SNS_MAX_MESSAGE_BYTES,
  consoleLinks,
  formatAlert,
  type AlertTransition,
  type FormatOptions,
} from '../../../lambdas/engine/alerts/format.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const LINKS = { region: 'eu-west-1', dashboardName: 'MailProbe', queryName: 'mailprobe/failed' };
const identity = (s: string) => s;
const OPTIONS: FormatOptions = { redact: identity, now: NOW, links: LINKS };
const RAISED: AlertTransition = { kind: 'raised', previousStatus: 'ok', failingSince: NOW - 5 * 60_000 };

function authFailed(overrides: Record<string, unknown> = {}): AlertableResult {
  return {
    check: 'smtp',
    target: 'smtp.example.com:587',
    name: 'relay-eu',
    status: 'critical',
    startedAt: '2026-11-23T11:59:58.000Z',
    durationMs: 320,
    findings: [finding('AUTH_FAILED', '535 5.7.8 Authentication credentials invalid', { stage: 'auth' })],
    failure: { stage: 'auth', responseCode: 535, response: '5.7.8 Authentication credentials invalid' },
    ...overrides,
  };
}

function envelope(message: ReturnType<typeof formatAlert>): Record<string, string> {
  return JSON.parse(message.input.Message) as Record<string, string>;
}

describe('formatAlert: subject', () => {
  it('names the change behind the status, and keeps it when the subject is clipped', () => {
    const change = (code: 'CERT_ROTATED' | 'CERT_ISSUER_CHANGED') => ({
      code,
      severity: 'info' as const,
      message: 'm',
      hint: 'h',
      before: {},
      after: {},
    });
    const rotated = authFailed({ changes: [change('CERT_ROTATED'), change('CERT_ISSUER_CHANGED')] });
    expect(formatAlert(rotated, RAISED, OPTIONS).subject).toBe(
      '[CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED after CERT_ROTATED',
    );
    expect(formatAlert(rotated, { kind: 'reminder', previousStatus: 'critical' }, OPTIONS).subject).toBe(
      '[STILL CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED with CERT_ROTATED',
    );
    const long = authFailed({
      name: 'Corporate mail',
      target: 'example-corp.co.uk',
      check: 'mta-sts',
      findings: [
        finding('DANE_TLSA_MISMATCH', 'x'),
        finding('MTASTS_MX_CERT_INVALID', 'y'),
        finding('MTASTS_MX_UNREACHABLE', 'z'),
      ],
      changes: [change('CERT_ROTATED')],
    });
    const subject = formatAlert(long, RAISED, OPTIONS).subject;
    expect(subject.length).toBeLessThanOrEqual(99);
    expect(subject.startsWith('[CRITICAL] mta-sts Corporate mail (example-corp.co.uk): DANE_TLSA_MISMATCH, ')).toBe(
      true,
    );
    expect(subject.endsWith('... after CERT_ROTATED')).toBe(true);
  });

  it('names severity, check, name, target and the critical codes', () => {
    const message = formatAlert(authFailed(), RAISED, OPTIONS);
    expect(message.subject).toBe('[CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED');
    expect(message.input.Subject).toBe(message.subject);
  });

  it('announces a recovery as RESOLVED and a reminder as STILL CRITICAL', () => {
    const ok = authFailed({ status: 'ok', findings: [] });
    expect(formatAlert(ok, { kind: 'resolved', previousStatus: 'critical' }, OPTIONS).subject).toBe(
      '[RESOLVED] smtp relay-eu (smtp.example.com:587): ok again (was critical)',
    );
    expect(formatAlert(authFailed(), { kind: 'reminder', previousStatus: 'critical' }, OPTIONS).subject).toBe(
      '[STILL CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED',
    );
  });

  it('stays ASCII, on one line and under 100 characters', () => {
    const many = [
      'CERT_EXPIRED',
      'CERT_NAME_MISMATCH',
      'CERT_UNTRUSTED',
      'AUTH_WITHHELD',
      'TLS_HANDSHAKE_FAILED',
    ] as const;
    const result = authFailed({
      name: 'relais-müller\nzwei',
      findings: many.map((code) => finding(code, 'x')),
    });
    const subject = formatAlert(result, RAISED, OPTIONS).subject;
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.startsWith('[CRITICAL] smtp relais-m?ller zwei (smtp.example.com:587): CERT_EXPIRED, ')).toBe(true);
    expect(subject.endsWith('...')).toBe(true);
  });

  it('uses the target alone when there is no name, and the warning codes for a warning', () => {
    const result = authFailed({
      name: undefined,
      status: 'warning',
      findings: [finding('CERT_EXPIRING', 'expires in 20 days'), finding('MTASTS_MODE_TESTING', 'testing')],
    });
    expect(formatAlert(result, RAISED, OPTIONS).subject).toBe('[WARNING] smtp smtp.example.com:587: CERT_EXPIRING');
  });
});

describe('formatAlert: bodies and structure', () => {
  it('builds the per-protocol envelope: text for e-mail and SMS, the JSON result for machines', () => {
    const message = formatAlert(authFailed(), RAISED, OPTIONS);
    expect(message.input.MessageStructure).toBe('json');
    const env = envelope(message);
    expect(Object.keys(env).sort()).toEqual(['default', 'email', 'email-json', 'https', 'lambda', 'sms', 'sqs']);
    expect(env['email']).toBe(message.text);
    expect(env['sms']).toBe(message.subject);
    for (const protocol of ['default', 'email-json', 'https', 'sqs', 'lambda']) {
      expect(JSON.parse(env[protocol]!)).toEqual(message.json);
    }
    expect(message.json).toMatchObject({
      check: 'smtp',
      target: 'smtp.example.com:587',
      name: 'relay-eu',
      status: 'critical',
      startedAt: '2026-11-23T11:59:58.000Z',
      durationMs: 320,
      transition: 'raised',
      previousStatus: 'ok',
      failingSince: '2026-11-23T11:55:00.000Z',
      failure: { stage: 'auth', responseCode: 535 },
    });
    expect((message.json['findings'] as { code: string }[]).map((f) => f.code)).toEqual(['AUTH_FAILED']);
  });

  it('writes the e-mail text with findings, hints, facts, since when and links', () => {
    const text = formatAlert(authFailed(), RAISED, OPTIONS).text;
    expect(text).toContain('The smtp check of relay-eu (smtp.example.com:587) is critical (was ok).');
    expect(text).toContain('Status: ok -> critical');
    expect(text).toContain('Failing since: 2026-11-23T11:55:00.000Z (5 min)');
    expect(text).toContain('1. [CRITICAL] AUTH_FAILED: 535 5.7.8 Authentication credentials invalid');
    expect(text).toContain('   What to do: The server rejected the credentials (535).');
    expect(text).toContain('  Failed stage: auth');
    expect(text).toContain('  Server reply: 535 5.7.8 Authentication credentials invalid');
    expect(text).toContain(
      '  Dashboard: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/MailProbe',
    );
    expect(text).toContain('#logsV2:logs-insights (saved query "mailprobe/failed")');
  });

  it('sets the filter attributes as Strings, with the worst code and NONE on recovery', () => {
    const result = authFailed({
      findings: [finding('CERT_EXPIRING', 'soon'), finding('AUTH_FAILED', '535')],
    });
    const attrs = formatAlert(result, RAISED, OPTIONS).input.MessageAttributes;
    expect(attrs).toEqual({
      severity: { DataType: 'String', StringValue: 'critical' },
      check: { DataType: 'String', StringValue: 'smtp' },
      target: { DataType: 'String', StringValue: 'smtp.example.com:587' },
      code: { DataType: 'String', StringValue: 'AUTH_FAILED' },
      transition: { DataType: 'String', StringValue: 'raised' },
      name: { DataType: 'String', StringValue: 'relay-eu' },
    });
    const resolved = formatAlert(
      authFailed({ status: 'ok', findings: [] }),
      { kind: 'resolved', previousStatus: 'critical' },
      OPTIONS,
    );
    expect(resolved.input.MessageAttributes['code']).toEqual({ DataType: 'String', StringValue: 'NONE' });
    expect(resolved.input.MessageAttributes['severity']).toEqual({ DataType: 'String', StringValue: 'ok' });
  });

  it("lists the worst findings first in the text but keeps the check's order in the JSON", () => {
    const result = authFailed({ findings: [finding('TLSRPT_MISSING', 'no TLS-RPT'), finding('AUTH_FAILED', '535')] });
    const message = formatAlert(result, RAISED, OPTIONS);
    expect(message.text.indexOf('1. [CRITICAL] AUTH_FAILED')).toBeGreaterThan(0);
    expect(message.text).toContain('2. [WARNING] TLSRPT_MISSING: no TLS-RPT');
    expect((message.json['findings'] as { code: string }[]).map((f) => f.code)).toEqual([
      'TLSRPT_MISSING',
      'AUTH_FAILED',
    ]);
  });

  it('builds China-partition console links when asked', () => {
    expect(consoleLinks({ ...LINKS, region: 'cn-north-1', consoleDomain: 'console.amazonaws.cn' }).dashboard).toBe(
      'https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#dashboards/dashboard/MailProbe',
    );
  });
});

describe('facts', () => {
  it('picks certificate, DH, policy and MX facts from the check details', () => {
    const result = authFailed({
      failure: undefined,
      certificate: {
        subject: 'CN=mx2.example.com',
        issuer: 'CN=R11',
        daysToExpiry: 3,
        notAfter: '2026-11-26T00:00:00Z',
      },
      dh: { bits: 1024 },
      policy: { id: '20261101', mode: 'enforce' },
      mx: [
        { host: 'mx1.example.com', status: 'ok' },
        { host: 'mx2.example.com', findings: [{ code: 'MTASTS_MX_CERT_INVALID', severity: 'critical' }] },
        'garbage',
      ],
    });
    expect(factsOf(result)).toEqual([
      { label: 'Failed stage', value: 'auth' },
      { label: 'Certificate subject', value: 'CN=mx2.example.com' },
      { label: 'Certificate issuer', value: 'CN=R11' },
      { label: 'Certificate expiry', value: '3 day(s) left (not after 2026-11-26T00:00:00Z)' },
      { label: 'DH key size', value: '1024 bits' },
      { label: 'MTA-STS policy', value: 'id 20261101, mode enforce' },
      { label: 'MX hosts concerned', value: 'mx2.example.com' },
    ]);
  });

  it('ignores details of unexpected shapes instead of failing', () => {
    const result = authFailed({ failure: 'boom', tls: [1, 2], dh: { bits: 'many' }, policy: null, mx: { host: 'x' } });
    expect(factsOf(result)).toEqual([{ label: 'Failed stage', value: 'auth' }]);
  });
});

describe('formatAlert: size limit', () => {
  it('keeps a result with 500 findings under 256 KiB and says how many were left out', () => {
    const findings = Array.from({ length: 500 }, (_, i) =>
      finding(i % 2 === 0 ? 'MTASTS_MX_CERT_INVALID' : 'TLSRPT_INVALID', `mx${i}.example.com: ${'é'.repeat(300)}`),
    );
    const message = formatAlert(authFailed({ findings }), RAISED, OPTIONS);
    const bytes =
      Buffer.byteLength(message.input.Subject) +
      Buffer.byteLength(message.input.Message) +
      Object.entries(message.input.MessageAttributes).reduce(
        (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType!) + Buffer.byteLength(v.StringValue!),
        0,
      );
    expect(bytes).toBe(message.bytes);
    expect(bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(message.omittedFindings).toBeGreaterThan(0);
    expect(message.omittedFindings).toBeLessThan(500);
    expect(message.text).toContain(`… and ${message.omittedFindings} more findings`);
    expect(message.json['findingsOmitted']).toBe(message.omittedFindings);
    const kept = message.json['findings'] as { severity: string }[];
    expect(kept.length + message.omittedFindings).toBe(500);
    // The critical findings go first, so the warnings are the ones dropped.
    expect(kept.filter((f) => f.severity === 'critical')).toHaveLength(Math.min(250, kept.length));
    // Nearly full: one more finding would not have fit.
    expect(bytes).toBeGreaterThan(SNS_MAX_MESSAGE_BYTES - 8_000);
  });

  it('drops the details when they alone do not fit, keeping the contract fields', () => {
    const result = authFailed({
      policyText: 'x'.repeat(4_000),
      chain: Array.from({ length: 200 }, () => 'y'.repeat(4_000)),
    });
    const message = formatAlert(result, RAISED, OPTIONS);
    expect(message.bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(message.omittedDetails).toBe(true);
    expect(message.json['chain']).toBeUndefined();
    expect(message.json['detailsOmitted']).toBe(true);
    expect(message.json['findings']).toHaveLength(1);
  });
});

describe('formatAlert: secrets', () => {
  it('applies redact to every string: no password in subject, text, JSON or attributes', () => {
    const password = 'hunter2-S3cret!';
    const redact = (s: string) => s.split(password).join('[REDACTED]');
    const result = authFailed({
      name: `relay ${password}`,
      findings: [finding('AUTH_FAILED', `535 5.7.8 bad password ${password}`, { stage: 'auth' })],
      failure: { stage: 'auth', responseCode: 535, response: `5.7.8 you sent ${password}` },
      nested: { deeper: [password, { again: password }] },
    });
    const message = formatAlert(result, RAISED, { ...OPTIONS, redact });
    const everything = JSON.stringify(message);
    expect(everything).not.toContain(password);
    expect(message.text).toContain('Server reply: 535 5.7.8 you sent [REDACTED]');
    expect(message.subject).toContain('relay [REDACTED]');
  });
});
