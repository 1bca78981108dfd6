/**
 * The flow function and the flow receiver as Lambda runs them: bundled by esbuild with the
 * options every handler gets (lib/bundle-options.ts: ESM, minified, node22, SDK, mailauth and
 * imapflow inside), imported, and invoked. The flow bundle runs a real shard: it reads the token
 * key from a Secrets Manager stand-in on loopback, sends through a loopback relay and logs the
 * send in dynalite; CloudWatch's endpoint refuses connections (the publisher falls back to EMF
 * lines). The SDK reaches all three through AWS_ENDPOINT_URL_*: nothing leaves 127.0.0.1.
 */
import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowCheckSpec } from '../../lambdas/engine/checks.js';
import { readFlowLog } from '../../lambdas/engine/flow/log-store.js';
import { flowShardEvent } from '../../testkit/flow-shard.js';
import { DynamoStateStore } from '../../lambdas/engine/state/dynamodb.js';
import { HANDLER_BUNDLE_OPTIONS } from '../../lib/bundle-options.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { createTestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';
import { freePort } from '../../testkit/system/daemon.js';

const KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/flow-key-AbCdEf';
const KEY_TEXT = 'Bm7Kp2Xq9Lw4Nv1Rz6Tc3Hy8Jd5Fs0Ga7Ue2Wo9Ti4Qr1Xy6Ln3Mb8Vc5Sk0Dh2E';

let dir: string;
let db: RunningDynalite;
let relay: RunningSmtp;
let secrets: Server;
const secretRequests: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-flow-bundle-'));
  await build({
    ...HANDLER_BUNDLE_OPTIONS,
    entryPoints: {
      flow: new URL('../../lambdas/handlers/flow.ts', import.meta.url).pathname,
      receiver: new URL('../../lambdas/handlers/flow-receiver.ts', import.meta.url).pathname,
    },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
  });
  db = await startDynalite();
  await db.createTable('bundle-flow-state');
  relay = await startSmtpServer({ credentials: (await createTestPki()).credentials(), hideStartTls: true });
  // Secrets Manager's JSON protocol, as much of it as GetSecretValue needs.
  secrets = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      secretRequests.push(`${String(req.headers['x-amz-target'])} ${body}`);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: KEY_ARN, Name: 'mailprobe/flow-key', SecretString: KEY_TEXT, VersionId: 'v1' }));
    });
  });
  await new Promise<void>((resolve) => secrets.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
    // Nothing listens there: PutMetricData fails fast and the publisher writes EMF lines instead.
    AWS_ENDPOINT_URL_CLOUDWATCH: `http://127.0.0.1:${await freePort()}`,
    STATE_TABLE_NAME: 'bundle-flow-state',
    FLOW_KEY_SECRET_ARN: KEY_ARN,
    METRIC_NAMESPACE: 'MailProbe',
  });
}, 120_000);
afterAll(async () => {
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
  await relay?.close();
  await new Promise((resolve) => secrets?.close(resolve));
  await db?.close();
});

interface Handler {
  handler: (event: unknown) => Promise<unknown>;
}

describe('bundled flow handlers', () => {
  it('the flow bundle reads the key, sends through the relay and logs the send in the state table', async () => {
    const spec: FlowCheckSpec = {
      check: 'flow',
      name: 'bundled',
      via: { host: '127.0.0.1', port: relay.port, tls: 'none' },
      from: 'probe@send.example.test',
      to: 'flow@in.example.test',
      receive: { ses: { region: 'eu-west-1' } },
    };
    const shard = flowShardEvent('flow-bundled', spec);
    const { handler } = (await import(pathToFileURL(join(dir, 'flow.mjs')).href)) as Handler;
    const summary = await handler(shard);
    expect(summary).toMatchObject({ shard: 'flow-bundled', check: 'flow', checks: 1 });
    expect(secretRequests.some((r) => r.startsWith('secretsmanager.GetSecretValue') && r.includes(KEY_ARN))).toBe(true);
    expect(relay.messages).toHaveLength(1);
    expect(relay.messages[0]).toMatch(/^X-Mailprobe-Flow: mp1\./m);
    const store = new DynamoStateStore({
      client: db.client,
      tableName: 'bundle-flow-state',
      clock: { now: () => Date.now() },
    });
    expect((await readFlowLog(store, 'bundled')).pending).toHaveLength(1);
  }, 60_000);

  it('the receiver bundle loads and refuses to run without its bucket', async () => {
    const { handler } = (await import(pathToFileURL(join(dir, 'receiver.mjs')).href)) as Handler;
    await expect(handler({ Records: [] })).rejects.toThrow(/FLOW_BUCKET/);
  });
});
