/**
 * Shards out of the template (issue #20), end to end: a 10,000-endpoint fleet synthesized
 * with cdk-nag, then the smtp handler invoked with two schedules' inputs exactly as the
 * template holds them (a reference, no specs). The handler finds each shard in the
 * synthesized layer asset, runs every one of its checks (against a loopback DNS server
 * that knows none of the names, so nothing leaves 127.0.0.1), and records their state in
 * dynalite; a tampered artifact fails the invocation.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { App, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../lambdas/engine/net/resolver.js';
import { runChecks } from '../../lambdas/engine/run/all.js';
import { clearShardCache, type ShardReference } from '../../lambdas/engine/shard/artifact.js';
import { createProbeHandler } from '../../lambdas/handlers/probe.js';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { fleetConfig } from '../../lib/cost/sample-configs.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';

// Template JSON, read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resources = Record<string, { Type: string; Properties?: any }>;

const cw = mockClient(CloudWatchClient);
const saved = process.env['MAILPROBE_SHARD_DIR'];
let plan: Plan;
let resources: Resources;
let layerDir: string;
let dns: DnsTestServer;
let db: RunningDynalite;
const scratch = mkdtempSync(join(tmpdir(), 'mailprobe-shard-ref-'));

beforeAll(async () => {
  plan = planConfig(fleetConfig(10_000));
  const app = new App({ outdir: join(scratch, 'cdk.out') });
  const stack = new MailProbeStack(app, 'MailProbe', {
    plan,
    code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  resources = (assembly.getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
  const layer = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::LayerVersion' && String(r.Properties.Description).startsWith('mailprobe smtp:'),
  )!;
  const key = String(layer.Properties.Content.S3Key).replace(/\.zip$/, '');
  layerDir = join(assembly.directory, `asset.${key}`, 'mailprobe-shards');
  dns = await startDnsServer({});
  db = await startDynalite();
  await db.createTable('fleet-state');
}, 180_000);
afterAll(async () => {
  if (saved === undefined) delete process.env['MAILPROBE_SHARD_DIR'];
  else process.env['MAILPROBE_SHARD_DIR'] = saved;
  await dns?.close();
  await db?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function smtpReferences(): ShardReference[] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::Scheduler::Schedule')
    .map((r) => JSON.parse(r.Properties.Target.Input as string) as ShardReference)
    .filter((ref) => ref.check === 'smtp');
}

function handler() {
  const lines: string[] = [];
  const invoke = createProbeHandler('smtp', runChecks, {
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
    dynamodb: db.client,
    env: { METRIC_NAMESPACE: 'MailProbe', STATE_TABLE_NAME: 'fleet-state' },
    writeLine: (line) => lines.push(line),
    context: { resolver: createResolver({ server: `127.0.0.1:${dns.port}`, timeoutMs: 2_000 }), timeoutMs: 5_000 },
    publisher: { sleep: async () => {}, random: () => 0 },
    stateRetry: { sleep: async () => {} },
  });
  return { lines, invoke };
}

describe('a 10,000-endpoint fleet, shards out of the template', () => {
  it('schedules references, not specs', () => {
    const refs = smtpReferences();
    expect(refs.length).toBe(plan.shards.filter((s) => s.check === 'smtp').length);
    for (const ref of refs) {
      expect(Object.keys(ref).sort()).toEqual(['artifact', 'check', 'shard', 'version']);
      expect(ref.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('the smtp function finds each shard from its reference alone and runs every check of it', async () => {
    cw.reset();
    cw.on(PutMetricDataCommand).resolves({});
    process.env['MAILPROBE_SHARD_DIR'] = layerDir;
    clearShardCache();
    const refs = smtpReferences().slice(0, 2);
    expect(refs).toHaveLength(2);
    for (const ref of refs) {
      const { lines, invoke } = handler();
      const summary = await invoke(JSON.parse(JSON.stringify(ref)));
      const expected = plan.shards.find((s) => s.shard === ref.shard)!;
      expect(summary).toMatchObject({ shard: ref.shard, check: 'smtp', checks: expected.specs.length });
      const names = lines
        .map((l) => JSON.parse(l) as { check?: string; name?: string; status?: string })
        .filter((r) => r.check === 'smtp' && r.status !== undefined)
        .map((r) => r.name);
      expect(names.sort()).toEqual(expected.specs.map((s) => s.name).sort());
    }
    // The state of every checked target went to the table.
    expect(db.requests.filter((op) => /PutItem|BatchWriteItem/.test(op)).length).toBeGreaterThan(0);
    // The names resolved against the loopback server only.
    expect(dns.queries.length).toBeGreaterThan(0);
  }, 120_000);

  it('a tampered artifact fails the invocation before any check runs', async () => {
    const copy = join(scratch, 'tampered');
    cpSync(layerDir, copy, { recursive: true });
    const ref = smtpReferences()[0]!;
    const file = join(copy, `${ref.shard}.json`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('relay-', 'RELAY-'));
    process.env['MAILPROBE_SHARD_DIR'] = copy;
    clearShardCache();
    const before = dns.queries.length;
    const { invoke } = handler();
    await expect(invoke(ref)).rejects.toThrow(/SHA-256 .* the schedule expects/);
    expect(dns.queries.length).toBe(before);
  });
});
