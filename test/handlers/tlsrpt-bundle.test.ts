/**
 * The receivers as Lambda runs them: bundled by esbuild with the options of
 * lib/tlsrpt-receiver.ts (ESM, minified, node22, SDK and postal-mime inside), imported,
 * and driven with events that are answered before any AWS call but the daily counters,
 * which go to dynalite on loopback (AWS_ENDPOINT_URL_DYNAMODB).
 */
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';

let dir: string;
let db: RunningDynalite;
const saved = { ...process.env };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-tlsrpt-bundle-'));
  await build({
    entryPoints: {
      https: new URL('../../lambdas/handlers/tlsrpt-https.ts', import.meta.url).pathname,
      mail: new URL('../../lambdas/handlers/tlsrpt-mail.ts', import.meta.url).pathname,
    },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'silent',
  });
  process.env.TLSRPT_BUCKET = 'reports-bucket';
  process.env.TLSRPT_DOMAINS = JSON.stringify([{ domain: 'example.com', name: 'example', mtaSts: true }]);
  process.env.AWS_REGION = 'eu-west-1';
  db = await startDynalite();
  await db.createTable('bundle-state');
  process.env.STATE_TABLE_NAME = 'bundle-state';
  // The SDK reads service endpoints and credentials from the environment: nothing leaves 127.0.0.1.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  process.env = saved;
  await db.close();
});

interface Handler {
  handler: (event: unknown) => Promise<{ statusCode: number; body: string }>;
}

describe('bundled TLS-RPT receivers', () => {
  it('the HTTPS bundle loads and refuses bad requests with their codes', async () => {
    const { handler } = (await import(pathToFileURL(join(dir, 'https.mjs')).href)) as Handler;
    const post = (type: string, body: string) =>
      handler({ requestContext: { http: { method: 'POST' } }, headers: { 'content-type': type }, body });
    expect(await post('text/plain', '{}')).toMatchObject({ statusCode: 415 });
    const notJson = await post('application/tlsrpt+json', 'not json');
    expect(notJson.statusCode).toBe(400);
    expect(JSON.parse(notJson.body)).toMatchObject({ error: 'TLSRPT_REPORT_NOT_JSON' });
    const stranger = JSON.stringify({
      'organization-name': 'x',
      'report-id': 'y',
      'date-range': { 'start-datetime': '2026-11-29T00:00:00Z', 'end-datetime': '2026-11-29T23:59:59Z' },
      policies: [
        {
          policy: { 'policy-type': 'sts', 'policy-domain': 'stranger.example' },
          summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 0 },
        },
      ],
    });
    const refused = await post('application/tlsrpt+json', stranger);
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'TLSRPT_DOMAIN_UNKNOWN' });
  });

  it('the mail bundle (with postal-mime) loads and skips objects outside incoming/', async () => {
    const { handler } = (await import(pathToFileURL(join(dir, 'mail.mjs')).href)) as unknown as {
      handler: (event: unknown) => Promise<unknown>;
    };
    expect(
      await handler({
        Records: [{ s3: { bucket: { name: 'reports-bucket' }, object: { key: 'reports/x', size: 1 } } }],
      }),
    ).toEqual([{ object: 'reports/x', outcome: 'skipped' }]);
    // Each bundle holds only the clients its handler imports. The mail bundle carries mailauth's
    // DKIM verifier (with libmime's charset tables, ~1.2 MB minified); the HTTPS one must not.
    expect(statSync(join(dir, 'https.mjs')).size).toBeLessThan(1_000_000);
    expect(readFileSync(join(dir, 'https.mjs'), 'utf8')).not.toContain('DKIM-Signature');
    expect(statSync(join(dir, 'mail.mjs')).size).toBeLessThan(2_500_000);
  });
});
