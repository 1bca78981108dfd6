/**
 * The RFC 8460 §4 parser: the samples give exact totals, the tolerated quirks are kept
 * (and noted), and what is not a report is rejected with a message naming the field.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReportError } from '../../../lambdas/engine/tlsrpt/errors.js';
import {
  jsonDepth,
  MAX_JSON_DEPTH,
  parseDateTime,
  parseReport,
  parseReportText,
  stsModeOf,
} from '../../../lambdas/engine/tlsrpt/parse.js';
import { totalFailed, totalSuccessful } from '../../../lambdas/engine/tlsrpt/report.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../testkit/fixtures/tlsrpt/${name}`, import.meta.url), 'utf8');
const rfc = (): Record<string, unknown> => JSON.parse(fixture('rfc8460-example.json')) as Record<string, unknown>;

describe('samples', () => {
  it('the RFC 8460 §4.8 example: totals, details, mx-host as a string (erratum 6241)', () => {
    const report = parseReportText(fixture('rfc8460-example.json'));
    expect(report.organizationName).toBe('Company-X');
    expect(report.reportId).toBe('5065427c-23d3-47ca-b6e0-946ea0e8c4be');
    expect(report.dateRange).toEqual({ start: '2016-04-01T00:00:00.000Z', end: '2016-04-01T23:59:59.000Z' });
    const [policy] = report.policies;
    expect(policy).toMatchObject({
      policyType: 'sts',
      policyDomain: 'company-y.example',
      mode: 'testing',
      mxHosts: ['*.mail.company-y.example'],
      successfulSessions: 5326,
      failedSessions: 303,
    });
    expect(policy!.failureDetails.map((d) => [d.resultType, d.failedSessions])).toEqual([
      ['certificate-expired', 100],
      ['starttls-not-supported', 200],
      ['validation-failure', 3],
    ]);
    expect(policy!.failureDetails[2]).toMatchObject({
      failureReasonCode: 'X509_V_ERR_PROOF_OF_POSSESSION',
      receivingIp: '203.0.113.58',
      sendingMtaIp: '198.51.100.62',
    });
    expect(report.quirks).toEqual(['policies[0].policy.mx-host is a string, not an array (RFC 8460 erratum 6241)']);
  });

  it.each([
    ['google-ok.json', 'Google Inc.', 1873, 0, []],
    ['microsoft-failures.json', 'Microsoft Corporation', 9120, 1234, ['mx1.example.com', 'mx2.example.com']],
    ['small-sender-quirks.json', 'mail.small-sender.example', 12, 5, []],
  ])('%s: %s, %i successful, %i failed', (file, org, ok, failed, mx) => {
    const report = parseReportText(fixture(file));
    expect(report.organizationName).toBe(org);
    expect(totalSuccessful(report)).toBe(ok);
    expect(totalFailed(report)).toBe(failed);
    expect(report.policies[0]!.mxHosts).toEqual(mx);
  });

  it('a small sender: no zone, no contact-info, no sending-mta-ip, unknown result-type kept, domain normalized', () => {
    const report = parseReportText(fixture('small-sender-quirks.json'));
    expect(report.dateRange.start).toBe('2026-11-29T00:00:00.000Z');
    expect(report.contactInfo).toBeUndefined();
    const [policy] = report.policies;
    expect(policy!.policyType).toBe('no-policy-found');
    expect(policy!.policyDomain).toBe('example.org');
    expect(policy!.mode).toBeUndefined();
    expect(policy!.failureDetails).toEqual([
      { resultType: 'starttls-not-supported', receivingMxHostname: 'mx.example.org', failedSessions: 3 },
      { resultType: 'tls-handshake-timeout', sendingMtaIp: '198.51.100.7', failedSessions: 2 },
    ]);
    expect(report.quirks).toEqual([
      'contact-info is missing',
      'date-range.start-datetime has no time zone; read as UTC',
      'date-range.end-datetime has no time zone; read as UTC',
    ]);
  });
});

type Edit = (r: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('rejects what is not a report, naming the field', () => {
  it.each<[string, Edit, string]>([
    ['organization-name missing', (r) => delete r['organization-name'], 'organization-name'],
    ['organization-name a number', (r) => (r['organization-name'] = 42), 'organization-name'],
    ['report-id empty', (r) => (r['report-id'] = ' '), 'report-id'],
    ['date-range missing', (r) => delete r['date-range'], 'date-range'],
    ['start not a date', (r) => (r['date-range']['start-datetime'] = 'yesterday'), 'date-range.start-datetime'],
    ['end on Feb 31', (r) => (r['date-range']['end-datetime'] = '2016-02-31T00:00:00Z'), 'date-range.end-datetime'],
    ['start after end', (r) => (r['date-range']['start-datetime'] = '2016-04-02T00:00:00Z'), 'date-range'],
    ['policies missing', (r) => delete r.policies, 'policies'],
    ['policies empty', (r) => (r.policies = []), 'policies'],
    ['policy not an object', (r) => (r.policies[0].policy = 'sts'), 'policies[0].policy'],
    ['policy-type missing', (r) => delete r.policies[0].policy['policy-type'], 'policies[0].policy.policy-type'],
    ['policy-domain missing', (r) => delete r.policies[0].policy['policy-domain'], 'policies[0].policy.policy-domain'],
    [
      'policy-domain not a name',
      (r) => (r.policies[0].policy['policy-domain'] = 'exa mple.com'),
      'policies[0].policy.policy-domain',
    ],
    ['mx-host a number', (r) => (r.policies[0].policy['mx-host'] = 7), 'policies[0].policy.mx-host'],
    [
      'mx-host array with a number',
      (r) => (r.policies[0].policy['mx-host'] = ['a', 1]),
      'policies[0].policy.mx-host[1]',
    ],
    ['summary missing', (r) => delete r.policies[0].summary, 'policies[0].summary'],
    [
      'negative success count',
      (r) => (r.policies[0].summary['total-successful-session-count'] = -1),
      'policies[0].summary.total-successful-session-count',
    ],
    [
      'failure count as a string',
      (r) => (r.policies[0].summary['total-failure-session-count'] = '303'),
      'policies[0].summary.total-failure-session-count',
    ],
    ['failure-details an object', (r) => (r.policies[0]['failure-details'] = {}), 'policies[0].failure-details'],
    [
      'result-type missing',
      (r) => delete r.policies[0]['failure-details'][1]['result-type'],
      'policies[0].failure-details[1].result-type',
    ],
    [
      'failed-session-count fractional',
      (r) => (r.policies[0]['failure-details'][0]['failed-session-count'] = 1.5),
      'policies[0].failure-details[0].failed-session-count',
    ],
    [
      'sending-mta-ip a number',
      (r) => (r.policies[0]['failure-details'][0]['sending-mta-ip'] = 1),
      'policies[0].failure-details[0].sending-mta-ip',
    ],
  ])('%s → TLSRPT_REPORT_INVALID at %s', (_, edit, field) => {
    const raw = rfc();
    edit(raw);
    let error: unknown;
    try {
      parseReport(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ReportError);
    expect((error as ReportError).code).toBe('TLSRPT_REPORT_INVALID');
    expect((error as ReportError).field).toBe(field);
    expect((error as ReportError).message.startsWith(`${field}: `)).toBe(true);
  });

  it.each([
    ['[]', 'TLSRPT_REPORT_INVALID'],
    ['"a string"', 'TLSRPT_REPORT_INVALID'],
    ['{"feedback": {"report_metadata": {}}}', 'TLSRPT_REPORT_INVALID'],
    ['{"organization-name": ', 'TLSRPT_REPORT_NOT_JSON'],
    ['<?xml version="1.0"?><feedback/>', 'TLSRPT_REPORT_NOT_JSON'],
    ['[['.repeat(200_000), 'TLSRPT_REPORT_NOT_JSON'],
  ])('%s → %s', (text, code) => {
    expect(() => parseReportText(text)).toThrow(expect.objectContaining({ code }));
  });
});

describe('tolerances', () => {
  it('mx-host as an array, null optional fields, policy-string as a string, unknown policy type kept', () => {
    const raw = rfc();
    const p = (raw.policies as Record<string, Record<string, unknown>>[])[0]!;
    p.policy!['mx-host'] = ['MX1.mail.company-y.example.', 'mx2.mail.company-y.example'];
    p.policy!['policy-string'] = 'mode: enforce';
    (p['failure-details'] as unknown as Record<string, unknown>[])[0]!['sending-mta-ip'] = null;
    const report = parseReport(raw);
    expect(report.policies[0]!.mxHosts).toEqual(['mx1.mail.company-y.example', 'mx2.mail.company-y.example']);
    expect(report.policies[0]!.mode).toBe('enforce');
    expect(report.policies[0]!.failureDetails[0]!.sendingMtaIp).toBeUndefined();

    p.policy!['policy-type'] = 'future-policy';
    expect(parseReport(raw).policies[0]!.policyType).toBe('future-policy');
    expect(parseReport(raw).policies[0]!.mode).toBeUndefined();
  });

  it.each([
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z', 0],
    ['2024-01-01T02:00:00+02:00', '2024-01-01T00:00:00.000Z', 0],
    ['2024-01-01T02:00:00+0200', '2024-01-01T00:00:00.000Z', 0],
    ['2024-01-01 00:00:00.5z', '2024-01-01T00:00:00.500Z', 0],
    ['2024-01-01T00:00:00', '2024-01-01T00:00:00.000Z', 1],
  ])('date-time %s → %s (%i quirk)', (input, iso, quirkCount) => {
    const quirks: string[] = [];
    expect(parseDateTime(input, 'x', quirks)).toBe(iso);
    expect(quirks).toHaveLength(quirkCount);
  });

  it.each([
    [['version: STSv1', 'mode: enforce'], 'enforce'],
    [['mode:testing'], 'testing'],
    [['mode: NONE '], 'none'],
    [['mode: sometimes'], undefined],
    [[], undefined],
  ])('mode of %j is %s', (lines, mode) => {
    expect(stsModeOf(lines)).toBe(mode);
  });
});

describe('hostile reports (issue 25)', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('a 40 KB deeply nested report is refused as not a report, never a stack overflow', () => {
    const text = `{"organization-name": ${nested(20_000)}}`;
    expect(() => parseReportText(text)).toThrow(
      expect.objectContaining({
        code: 'TLSRPT_REPORT_NOT_JSON',
        message: expect.stringMatching(/nested deeper than 32/),
      }),
    );
    // Already parsed (a caller that skipped the text check): the error is still a ReportError.
    const value = JSON.parse(text) as unknown;
    expect(() => parseReport(value)).toThrow(ReportError);
  });

  it('counts depth on the text, skipping brackets inside strings and escapes', () => {
    expect(jsonDepth('{"a": "[[[[[[[[[[\\"[[[[", "b": [1, {"c": []}]}')).toBe(4);
    expect(jsonDepth(nested(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth(nested(100_000))).toBe(MAX_JSON_DEPTH + 1);
  });

  it.each([
    ['total-successful-session-count', 9_007_199_254_740_991],
    ['total-failure-session-count', 2_000_000_000],
  ])('refuses %s = %d: more sessions than a day can hold', (field, value) => {
    const raw = rfc();
    const p = (raw.policies as Record<string, Record<string, unknown>>[])[0]!;
    p.summary![field] = value;
    expect(() => parseReport(raw)).toThrow(
      expect.objectContaining({
        code: 'TLSRPT_REPORT_INVALID',
        field: `policies[0].summary.${field}`,
        message: expect.stringMatching(/more than a report of its date range can hold/),
      }),
    );
  });

  it('allows a week-long report proportionally more sessions', () => {
    const raw = rfc();
    (raw['date-range'] as Record<string, string>)['end-datetime'] = '2016-04-08T23:59:59Z';
    (raw['date-range'] as Record<string, string>)['start-datetime'] = '2016-04-01T00:00:00Z';
    const p = (raw.policies as Record<string, Record<string, unknown>>[])[0]!;
    p.summary!['total-successful-session-count'] = 5_000_000_000;
    expect(totalSuccessful(parseReport(raw))).toBe(5_000_000_000);
  });
});
