/**
 * The shipped result schema (schema/mailprobe.result.schema.json) is current, and what the
 * CLI really prints for real servers on loopback conforms to it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultDocumentSchema } from '../../lib/result-schema.js';
import { RESULT_SCHEMA_PATH, renderResultJsonSchema } from '../../scripts/gen-schema.js';
import { cli } from '../../testkit/cli-in-process.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

let pki: TestPki;
let good: RunningSmtp;
let expired: RunningSmtp;
let caFile: string;

beforeAll(async () => {
  pki = await createTestPki();
  good = await startSmtpServer({ credentials: pki.credentials() });
  expired = await startSmtpServer({ credentials: pki.credentials(await pki.expired()) });
  caFile = join(mkdtempSync(join(tmpdir(), 'mailprobe-schema-')), 'ca.pem');
  writeFileSync(caFile, pki.caPem);
});

afterAll(async () => {
  await Promise.all([good.close(), expired.close()]);
});

describe('the result schema', () => {
  it('is the one the contract renders (npx tsx scripts/gen-schema.ts)', async () => {
    expect(readFileSync(RESULT_SCHEMA_PATH, 'utf8')).toBe(await renderResultJsonSchema());
  });

  it('accepts what smtp and tls print for a good and an expired relay', async () => {
    for (const server of [good, expired]) {
      for (const check of ['smtp', 'tls']) {
        const out = await cli([check, `127.0.0.1:${server.port}`, '--tls', 'starttls', '--ca-file', caFile, '--json']);
        const parsed = ResultDocumentSchema.safeParse(JSON.parse(out.stdout));
        expect(parsed.error?.issues ?? []).toEqual([]);
        expect(parsed.data && 'results' in parsed.data ? parsed.data.results[0]?.check : undefined).toBe(check);
      }
    }
  });

  it('accepts what --json prints for a usage error and a config error (exit 2)', async () => {
    const usage = await cli(['smtp', '--json']);
    expect(usage.code).toBe(2);
    const doc = ResultDocumentSchema.parse(JSON.parse(usage.stdout));
    expect(doc).toMatchObject({ version: 1, error: { type: 'UsageError', exitCode: 2 } });
    expect(usage.stderr).toMatch(/^mailprobe: /);
    const config = join(mkdtempSync(join(tmpdir(), 'mailprobe-schema-')), 'bad.yaml');
    writeFileSync(config, 'targets:\n  - name: r\n    host: relay.example.com\n    port: 99999\n');
    const bad = await cli(['run', '--config', config, '--json']);
    expect(bad.code).toBe(2);
    const problems = ResultDocumentSchema.parse(JSON.parse(bad.stdout));
    expect(problems).toMatchObject({ error: { type: 'ConfigError', problems: [expect.stringMatching(/port/)] } });
  });

  it('refuses a result with an unknown finding code or a missing status', () => {
    const base = {
      check: 'smtp',
      target: 'a:25',
      status: 'ok',
      startedAt: '2026-12-05T00:00:00.000Z',
      durationMs: 1,
      findings: [],
    };
    expect(ResultDocumentSchema.safeParse({ version: 1, results: [base] }).success).toBe(true);
    const unknownCode = { ...base, findings: [{ code: 'NOT_A_CODE', severity: 'info', message: '', hint: '' }] };
    expect(ResultDocumentSchema.safeParse({ version: 1, results: [unknownCode] }).success).toBe(false);
    const { status: _status, ...noStatus } = base;
    expect(ResultDocumentSchema.safeParse({ version: 1, results: [noStatus] }).success).toBe(false);
  });
});
