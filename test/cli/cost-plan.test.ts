import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-cost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(argv, { stdout: out, stderr: err, stdin: new PassThrough(), env: {} });
  return { code, stdout, stderr };
}

const ONE = 'targets:\n  - name: relay\n    host: smtp.example.com\n    port: 587\n';

describe('mailprobe cost', () => {
  it('--json: one SMTP endpoint (smtp 5 min, tls 6 h) at ≤ $1.00 by default', async () => {
    const r = await cli(['cost', '--config', file('one.yaml', ONE), '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      version: number;
      totalUsd: number;
      fixedUsd: number;
      targets: { name: string; usd: number }[];
    };
    expect(doc.version).toBe(1);
    expect(doc.targets.map((t) => t.name)).toEqual(['relay']);
    expect(doc.targets[0]!.usd).toBeGreaterThan(0.5);
    expect(doc.targets[0]!.usd).toBeLessThanOrEqual(1);
    expect(doc.totalUsd).toBeCloseTo(doc.fixedUsd + doc.targets[0]!.usd, 5);
  });

  it('--json: ≤ $0.05 with metrics: aggregate', async () => {
    const r = await cli(['cost', '--config', file('agg.yaml', `metrics: aggregate\n${ONE}`), '--json']);
    const doc = JSON.parse(r.stdout) as { targets: { name: string; usd: number }[] };
    expect(doc.targets[0]!.usd).toBeLessThanOrEqual(0.05);
  });

  it('prints the itemised estimate with the prices date and the assumptions', async () => {
    const r = await cli(['cost', '--config', file('one.yaml', ONE)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('us-east-1 prices checked 2026-12-01');
    expect(r.stdout).toMatch(/relay \(smtp\+tls\)\s+\$0\.87/);
    expect(r.stdout).toMatch(/dashboard\s+\$3\.00/);
    expect(r.stdout).toContain('Assumptions:');
  });

  it('a config error is one line and exit 2', async () => {
    const bad = file(
      'bad.yaml',
      'targets:\n  - name: relay/a\n    host: a.example\n    port: 587\n  - name: relay_a\n    host: b.example\n    port: 587\n',
    );
    const r = await cli(['cost', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('differ only in characters that CloudFormation IDs cannot hold');
  });
});

describe('mailprobe plan', () => {
  it('prints shards, invocations per hour and expected run time per check kind', async () => {
    const targets = Array.from({ length: 300 }, (_, i) => `  - { name: r${i}, host: r${i}.example.com, port: 587 }`);
    const r = await cli(['plan', '--config', file('many.yaml', `targets:\n${targets.join('\n')}\n`)]);
    expect(r.code).toBe(0);
    // 300 smtp checks, fleet alarms (auto: 1,200 per-target alarms would be too many), 200 per shard.
    expect(r.stdout).toMatch(/^smtp\s+2\s+300\s+24\s+0\s+16\s+512\s+13 s\s+195 s$/m);
    // tls every 6 hours in fleet mode: a 15-minute heartbeat per shard keeps its alarm fed (issue #20).
    expect(r.stdout).toMatch(/^tls\s+3\s+300\s+0\.5\s+12\s+8\s+1024/m);
    expect(r.stdout).toContain('alarms: fleet');
    // The template measured as CDK uploads it (issue #20), next to its resources.
    expect(r.stdout).toMatch(
      /^stack MailProbe: template \d+ bytes \(limit 1000000\), \d+ resources \(limit 500\), \d+ outputs/m,
    );
  }, 120_000);

  it('--json carries the document version, as every --json output does', async () => {
    const r = await cli(['plan', '--config', file('one.yaml', ONE), '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { version: number }).version).toBe(1);
  }, 120_000);

  it('prints invocations per hour, the cost per endpoint in each metrics mode and every stack; --json the same', async () => {
    const path = file('two.yaml', `${ONE}domains: [example.org]\n`);
    const r = await cli(['plan', '--config', path]);
    expect(r.code).toBe(0);
    // smtp every 5 minutes (12/h), tls every 6 hours, mta-sts hourly: one shard each, per-target alarms.
    expect(r.stdout).toContain('2 endpoints, 13.17 invocations per hour (probe runs and heartbeats)');
    const perMode = [
      ...r.stdout.matchAll(/^metrics (\S+): \$(\d+\.\d{4}) per endpoint a month \(\$(\d+\.\d\d) in all\)/gm),
    ];
    expect(perMode.map((m) => m[1])).toEqual(['default', 'detailed', 'aggregate']);
    const usd = Object.fromEntries(perMode.map((m) => [m[1], Number(m[2])]));
    // Detailed publishes more metrics than default (lib/cost/model.ts); aggregate's fixed alarms
    // per kind only pay off on larger fleets, so two endpoints say nothing about it.
    expect(usd['detailed']).toBeGreaterThan(usd['default']!);
    expect(usd['aggregate']).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^metrics default: .* \(this config\)$/m);
    // A small fleet is one stack, as before the split: no shard stacks.
    expect(r.stdout.match(/^stack /gm)).toHaveLength(1);
    expect(r.stdout).not.toContain('shard stacks');

    const j = await cli(['plan', '--config', path, '--json']);
    const doc = JSON.parse(j.stdout) as {
      endpoints: number;
      invocationsPerHour: number;
      shardStacks: number;
      stacks: { stack: string; bytes: number; resources: number }[];
      costPerEndpoint: { metrics: string; usdPerEndpointMonth: number }[];
    };
    expect(doc).toMatchObject({ endpoints: 2, invocationsPerHour: 13.17, shardStacks: 0 });
    expect(doc.stacks.map((s) => s.stack)).toEqual(['MailProbe']);
    expect(doc.costPerEndpoint.map((c) => [c.metrics, c.usdPerEndpointMonth.toFixed(4)])).toEqual(
      perMode.map((m) => [m[1], m[2]]),
    );
  }, 120_000);
});

describe('cdk synth (bin/app.ts)', () => {
  it('prints a config error as one line and exits 2, no stack trace', async () => {
    const { execFile } = await import('node:child_process');
    const bad = file(
      'app-bad.yaml',
      'targets:\n  - name: relay/a\n    host: a.example\n    port: 587\n  - name: relay_a\n    host: b.example\n    port: 587\n',
    );
    const tsx = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;
    const app = new URL('../../bin/app.ts', import.meta.url).pathname;
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [tsx, app],
        {
          timeout: 120_000,
          env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: bad }), CDK_OUTDIR: join(dir, 'cdk.out') },
        },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'mailprobe: the configuration cannot be deployed as is: targets[1]: the name "relay_a" and "relay/a" (targets[0]) differ only in characters that CloudFormation IDs cannot hold; rename one of them',
    ]);
  }, 120_000);
});

describe('mailprobe cost: viewing the dashboard', () => {
  it('prints the viewing cost apart, with its default pattern stated, and --json carries it', async () => {
    const text = await cli(['cost', '--config', file('view.yaml', ONE)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Viewing the dashboard (8 h a day, refreshed every 5 min; not in the total above):');
    expect(text.stdout).toMatch(/GetMetricData \(2920 refreshes\)\s+\$0\.\d\d/);
    expect(text.stdout).toContain('total per month with viewing');

    const json = await cli([
      'cost',
      '--config',
      file('view.yaml', ONE),
      '--json',
      '--dashboard-hours',
      '24',
      '--dashboard-refresh',
      '1',
    ]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      dashboardViewing: {
        pattern: { hoursPerDay: number; refreshMinutes: number };
        refreshesPerMonth: number;
        metricsPerRefresh: number;
      };
    };
    expect(doc.dashboardViewing.pattern).toEqual({ hoursPerDay: 24, refreshMinutes: 1 });
    // 730 h × 60 refreshes an hour.
    expect(doc.dashboardViewing.refreshesPerMonth).toBe(43_800);
    expect(doc.dashboardViewing.metricsPerRefresh).toBe(6);
  });

  it.each([
    [['--dashboard-hours', '25'], /--dashboard-hours: expected 0–24, got 25/],
    [['--dashboard-refresh', '0'], /--dashboard-refresh: expected 1–1440, got 0/],
    [['--dashboard-hours', 'all'], /--dashboard-hours: expected a whole number/],
  ])('refuses %j with exit 2', async (args, message) => {
    const r = await cli(['cost', '--config', file('view.yaml', ONE), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
