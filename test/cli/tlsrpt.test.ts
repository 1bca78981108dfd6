/**
 * `mailprobe tlsrpt FILE...`: exact totals for every sample, the --json contract with
 * exactly the field names, error codes for bad files, exit status 0/1/2.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../testkit/cli-in-process.js';

const FIXTURES = new URL('../../testkit/fixtures/tlsrpt/', import.meta.url).pathname;
const f = (name: string): string => join(FIXTURES, name);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-tlsrpt-'));
  writeFileSync(join(dir, 'dmarc.xml.gz'), gzipSync('<?xml version="1.0"?><feedback></feedback>'));
  writeFileSync(join(dir, 'no-summary.json'), JSON.stringify({ 'organization-name': 'x', 'report-id': 'y' }));
  writeFileSync(join(dir, 'bomb.json.gz'), gzipSync(Buffer.alloc(50 * 1024 * 1024)));
  writeFileSync(join(dir, 'spam.eml'), 'From: a@b.example\r\nSubject: hi\r\n\r\nbuy now\r\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mailprobe tlsrpt', () => {
  it('--json over every sample: exact totals and exactly the contract fields', async () => {
    const files = [
      'rfc8460-example.json',
      'google-ok.json',
      'google-ok.json.gz',
      'microsoft-failures.json',
      'microsoft-report.eml',
      'small-sender-quirks.json',
    ];
    const run = await cli(['tlsrpt', '--json', ...files.map(f)]);
    expect(run.code).toBe(1); // sessions failed
    const doc = JSON.parse(run.stdout) as {
      version: number;
      reports: Record<string, unknown>[];
      errors: unknown[];
    };
    expect(doc.version).toBe(1);
    expect(doc.errors).toEqual([]);
    expect(Object.keys(doc)).toEqual(['version', 'reports', 'errors']);
    const totals = doc.reports.map((r) => {
      const policies = r.policies as { successfulSessions: number; failedSessions: number }[];
      return [r.organizationName, policies[0]!.successfulSessions, policies[0]!.failedSessions];
    });
    expect(totals).toEqual([
      ['Company-X', 5326, 303],
      ['Google Inc.', 1873, 0],
      ['Google Inc.', 1873, 0],
      ['Microsoft Corporation', 9120, 1234],
      ['Microsoft Corporation', 9120, 1234],
      ['mail.small-sender.example', 12, 5],
    ]);
    const first = doc.reports[0]!;
    expect(Object.keys(first)).toEqual(['organizationName', 'reportId', 'dateRange', 'policies']);
    expect(first.dateRange).toEqual({ start: '2016-04-01T00:00:00.000Z', end: '2016-04-01T23:59:59.000Z' });
    const policy = (first.policies as Record<string, unknown>[])[0]!;
    expect(Object.keys(policy)).toEqual([
      'policyType',
      'policyDomain',
      'mxHosts',
      'successfulSessions',
      'failedSessions',
      'failureDetails',
    ]);
    expect((policy.failureDetails as unknown[])[0]).toEqual({
      resultType: 'certificate-expired',
      failedSessions: 100,
      sendingMtaIp: '2001:db8:abcd:0012::1',
      receivingMxHostname: 'mx1.mail.company-y.example',
      receivingIp: null,
    });
  });

  it('exit 0 when every file parsed and no session failed', async () => {
    const run = await cli(['tlsrpt', f('google-ok.json'), f('google-ok.json.gz')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2 report(s): 3,746 successful, 0 failed session(s)');
  });

  it('the table: one line per policy, failure details worst first', async () => {
    const run = await cli(['tlsrpt', f('microsoft-report.eml')]);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(
      'Microsoft Corporation  report 134088480000000000+example.com  2026-11-29 00:00 – 2026-11-29 23:59 UTC',
    );
    expect(lines[2]).toMatch(
      /^ {2}sts {5}example\.com {2}enforce {2}mx1\.example\.com,mx2\.example\.com {2}9,120 {7}1,234$/,
    );
    expect(lines[5]).toMatch(/^ {4}certificate-expired {2}1,200 .* 40\.107\.22\.101$/);
    expect(lines[7]).toMatch(/^ {4}sts-webpki-invalid {3}4 .*-$/);
    expect(run.stdout).toContain('1 report(s): 9,120 successful, 1,234 failed session(s)');
  });

  it('invalid files give their error codes, never a crash, and exit 1', async () => {
    const run = await cli([
      'tlsrpt',
      '--json',
      f('google-ok.json'),
      join(dir, 'dmarc.xml.gz'),
      join(dir, 'no-summary.json'),
      join(dir, 'bomb.json.gz'),
      join(dir, 'spam.eml'),
      join(dir, 'missing.json'),
    ]);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as {
      reports: unknown[];
      errors: { file: string; code: string; message: string }[];
    };
    expect(doc.reports).toHaveLength(1);
    expect(doc.errors.map((e) => [e.file.replace(`${dir}/`, ''), e.code])).toEqual([
      ['dmarc.xml.gz', 'TLSRPT_REPORT_NOT_JSON'],
      ['no-summary.json', 'TLSRPT_REPORT_INVALID'],
      ['bomb.json.gz', 'TLSRPT_REPORT_TOO_LARGE'],
      ['spam.eml', 'TLSRPT_MAIL_NO_REPORT'],
      ['missing.json', 'TLSRPT_FILE_UNREADABLE'],
    ]);
    expect(doc.errors[1]!.message).toBe('date-range: expected an object, got nothing');
    expect(Object.keys(doc.errors[0]!)).toEqual(['file', 'code', 'message']);
  });

  it('the human output lists each bad file with its code', async () => {
    const run = await cli(['tlsrpt', join(dir, 'no-summary.json')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      `${join(dir, 'no-summary.json')}: TLSRPT_REPORT_INVALID date-range: expected an object, got nothing\n`,
    );
  });

  it('no FILE and unknown options are usage errors: exit 2, one line', async () => {
    const none = await cli(['tlsrpt']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('mailprobe: tlsrpt: expected one or more FILEs (.json, .json.gz, .eml)\n');
    const bad = await cli(['tlsrpt', '--frobnicate', f('google-ok.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mailprobe: unknown option --frobnicate \(see mailprobe tlsrpt --help\)\n$/);
  });
});
