/**
 * `npm run bench` (fleet part): for generated fleets of 10 / 100 / 1,000 / 10,000 / 100,000
 * endpoints (BENCH_FLEET_SIZES=10,1000 for others; 100,000 adds about 10 s: plan, synth and
 * the per-mode costs; `100000:default`, on by default, the same fleet with default metrics and
 * alarms.insightsQuota 1000, its fleet alarms in nested alarm stacks, about 30 s more),
 * plan and synth seconds (offline, inline code, cdk-nag on), the bytes and resources of every
 * template (the root and, for a fleet one stack cannot hold, its nested shard stacks), alarms,
 * dashboard widgets, and the monthly cost per endpoint in each metric mode; then the CPU one
 * smtp check and one tls posture check cost (the capacity figures in lib/config/defaults.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createContext } from '../lambdas/engine/context.js';
import { clearShardCache, loadShardEvent, SHARD_ARTIFACT_FOLDER } from '../lambdas/engine/shard/artifact.js';
import { runSmtpCheck } from '../lambdas/engine/smtp/check.js';
import { starttlsConnector } from '../lambdas/engine/smtp/connector.js';
import { runTlsCheck } from '../lambdas/engine/tls/posture.js';
import { planConfig } from '../lib/config/plan.js';
import type { MailProbeConfig } from '../lib/config/schema.js';
import { schedulesOf } from '../lib/config/shard-stacks.js';
import { costPerEndpointByMode } from '../lib/cost/per-endpoint.js';
import { fleetConfig, scaleFleetConfig } from '../lib/cost/sample-configs.js';
import { MailProbeStack } from '../lib/mail-probe-stack.js';
import { measureAssembly } from '../lib/template-limits.js';
import { createTestPki } from '../testkit/pki.js';
import { startSmtpServer } from '../testkit/smtp-servers.js';

/** `N` (scaleFleetConfig's metrics mode) or `N:default` (default metrics, the Insights quota raised to 1,000). */
const SIZES = (process.env.BENCH_FLEET_SIZES ?? '10,100,1000,10000,100000:default,100000').split(',');

function fleetOf(size: string): { endpoints: number; config: MailProbeConfig; pricedAs: MailProbeConfig } {
  const [n, mode] = size.split(':');
  const endpoints = Number(n);
  if (mode === undefined) return { endpoints, config: scaleFleetConfig(endpoints), pricedAs: fleetConfig(endpoints) };
  if (mode !== 'default') throw new Error(`BENCH_FLEET_SIZES: ${size}: only N or N:default`);
  const config = fleetConfig(endpoints, { alarms: { insightsQuota: 1000 } });
  return { endpoints, config, pricedAs: config };
}
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function synthFleet(size: string) {
  const { endpoints, config, pricedAs } = fleetOf(size);
  const t0 = performance.now();
  const plan = planConfig(config);
  const t1 = performance.now();
  const app = new App();
  const stack = new MailProbeStack(app, 'MailProbe', {
    plan,
    code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const stacks = measureAssembly(assembly);
  const template = assembly.getStackByName(stack.stackName).template as {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    Resources: Record<string, { Type: string; Properties?: any }>;
  };
  const t2 = performance.now();
  const resources = Object.values(template.Resources);
  // null: the mode cannot be deployed at this size (the Metrics Insights quota at 100,000 endpoints).
  const perEndpoint = Object.fromEntries(
    costPerEndpointByMode(pricedAs).map((c) => [
      c.metrics,
      'notDeployable' in c ? null : round(c.usdPerEndpointMonth, 3),
    ]),
  );
  return {
    metricsMode: plan.metricsMode,
    stacks: stacks.map((s) => ({ stack: s.stack, bytes: s.bytes, resources: s.resources })),
    templateBytes: Buffer.byteLength(JSON.stringify(template)),
    endpoints,
    checks: plan.targets.length,
    alarmMode: plan.alarmMode,
    planSeconds: round((t1 - t0) / 1000),
    synthSeconds: round((t2 - t1) / 1000),
    resources: resources.length,
    // The root's and, for a split fleet with per-target metrics, the alarm stacks' (probe-alarms.ts).
    alarms:
      resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length +
      stack.probes.alarms.alarmStacks.reduce((n, nested) => {
        const t = JSON.parse(readFileSync(join(assembly.directory, nested.templateFile), 'utf8')) as {
          Resources: Record<string, { Type: string }>;
        };
        return n + Object.values(t.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length;
      }, 0),
    schedules: plan.shards.reduce((n, sh) => n + schedulesOf(sh), 0),
    widgets: stack.probes.dashboard.widgetCount,
    usdPerEndpointMonth: perEndpoint,
    assembly: assembly.directory,
    template,
    references: stack.probes.functions.get('smtp')?.references,
  };
}

/**
 * What a cold smtp function pays to find its shard: open, hash and parse the largest shard
 * file of its layer (from the synthesized asset; the page cache is warm, as a layer's is not
 * guaranteed to be, so this is the CPU part).
 */
async function coldShardRead(fleet: ReturnType<typeof synthFleet>) {
  const resources = Object.values(fleet.template.Resources);
  const layer = resources.find(
    (r) => r.Type === 'AWS::Lambda::LayerVersion' && String(r.Properties.Description).startsWith('mailprobe smtp:'),
  );
  if (!layer) return undefined;
  const dir = join(
    fleet.assembly,
    `asset.${String(layer.Properties.Content.S3Key).replace(/\.zip$/, '')}`,
    SHARD_ARTIFACT_FOLDER,
  );
  // From the function, not the root template: a split fleet's schedules are in nested stacks.
  const refs = [...(fleet.references?.values() ?? [])].sort((a, b) => b.artifact.bytes - a.artifact.bytes);
  const largest = refs[0]!;
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    clearShardCache();
    const t0 = performance.now();
    await loadShardEvent(largest, { dir });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { shardBytes: largest.artifact.bytes, medianMs: round(times[10]!, 3), maxMs: round(times.at(-1)!, 3) };
}

/** Process CPU per check against a loopback server (an upper bound: the server's half is counted too). */
async function capacity() {
  const pki = await createTestPki();
  const server = await startSmtpServer({ credentials: pki.credentials() });
  const ctx = createContext({ extraCa: [pki.caPem], timeoutMs: 30_000 });
  const cpuMsPer = async (n: number, one: () => Promise<unknown>) => {
    await one();
    const before = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await one();
    const cpu = process.cpuUsage(before);
    return { cpuMs: round((cpu.user + cpu.system) / 1000 / n), wallMs: round((performance.now() - t0) / n) };
  };
  const smtp = await cpuMsPer(50, () =>
    runSmtpCheck({ check: 'smtp', host: 'localhost', port: server.port, tls: 'starttls' }, ctx),
  );
  const tls = await cpuMsPer(20, () =>
    runTlsCheck(
      { check: 'tls', host: 'localhost', port: server.port, tls: 'starttls' },
      ctx,
      starttlsConnector({ host: 'localhost', port: server.port, address: '127.0.0.1' }, ctx),
    ),
  );
  await server.close();
  return { smtp, tls };
}

export async function benchFleet(): Promise<void> {
  const rows = [];
  for (const n of SIZES) rows.push(synthFleet(n));
  const shardRead = await coldShardRead(rows.at(-1)!);
  const cpu = await capacity();
  console.log(
    JSON.stringify(
      {
        fleet: rows.map(({ template: _t, assembly: _a, references: _r, ...r }) => r),
        shardRead,
        capacityPerCheck: cpu,
      },
      null,
      2,
    ),
  );
  const usd = (n: number | null | undefined) => (n === null || n === undefined ? 'not deployable' : String(n));
  for (const r of rows) {
    console.log(
      `${String(r.endpoints).padStart(6)} endpoints (${r.checks} checks, ${r.alarmMode}, metrics ${r.metricsMode}): plan ${r.planSeconds} s, synth ${r.synthSeconds} s, ` +
        `${r.stacks.length} template(s), root ${r.templateBytes} bytes, ${r.resources} resources, ${r.alarms} alarms, ${r.schedules} schedules, ${r.widgets} widgets; ` +
        `$/endpoint-month default ${usd(r.usdPerEndpointMonth['default'])}, detailed ${usd(r.usdPerEndpointMonth['detailed'])}, aggregate ${usd(r.usdPerEndpointMonth['aggregate'])}`,
    );
    for (const st of r.stacks) {
      console.log(`         ${st.stack}: ${st.bytes} bytes, ${st.resources} resources`);
    }
  }
  if (shardRead) {
    console.log(
      `${rows.at(-1)!.endpoints} endpoints: a cold smtp function reads its largest shard (${shardRead.shardBytes} bytes) in ${shardRead.medianMs} ms (max ${shardRead.maxMs} ms of 20)`,
    );
  }
  console.log(
    `CPU per check on loopback (client and server): smtp ${cpu.smtp.cpuMs} ms (wall ${cpu.smtp.wallMs} ms), tls posture ${cpu.tls.cpuMs} ms (wall ${cpu.tls.wallMs} ms)`,
  );
}
