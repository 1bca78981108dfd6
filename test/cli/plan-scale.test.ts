/**
 * `mailprobe plan` at 100,000 endpoints with default metrics and the Metrics Insights quota
 * raised in the config (issue #20 item 3): planned, not refused; the schedules and the fleet
 * alarms in nested stacks, every measured stack under CloudFormation's limits, and a cost per
 * endpoint for every metrics mode, default and detailed included. One plan with its synth (about
 * half a minute), so one test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli/main.js';
import { fleetConfig } from '../../lib/cost/sample-configs.js';

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-plan-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

describe('mailprobe plan at 100,000 endpoints, default metrics, alarms.insightsQuota 1000', () => {
  it('plans the fleet alarms into alarm stacks and prices every metrics mode per endpoint', async () => {
    const path = join(dir, 'fleet.json');
    // JSON is YAML: the generated fleet as a user would write it, the quota raised.
    writeFileSync(path, JSON.stringify(fleetConfig(100_000, { alarms: { insightsQuota: 1000 } })));
    const r = await cli(['plan', '--config', path, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      endpoints: number;
      shardStacks: number;
      alarmStacks: number;
      stacks: { stack: string; bytes: number; resources: number }[];
      costPerEndpoint: { metrics: string; usdPerEndpointMonth?: number; notDeployable?: string }[];
    };
    expect(doc.endpoints).toBe(100_000);
    expect(doc.shardStacks).toBeGreaterThan(0);
    expect(doc.alarmStacks).toBeGreaterThan(0);
    expect(doc.stacks.filter((s) => /FleetAlarms\d+$/.test(s.stack))).toHaveLength(doc.alarmStacks);
    expect(doc.stacks).toHaveLength(1 + doc.shardStacks + doc.alarmStacks);
    for (const s of doc.stacks) {
      expect(s.bytes).toBeLessThanOrEqual(1_000_000);
      expect(s.resources).toBeLessThan(500);
    }
    expect(doc.costPerEndpoint.map((c) => c.metrics)).toEqual(['default', 'detailed', 'aggregate']);
    for (const c of doc.costPerEndpoint) {
      expect(c.notDeployable).toBeUndefined();
      expect(c.usdPerEndpointMonth).toBeGreaterThan(0);
    }
    const usd = Object.fromEntries(doc.costPerEndpoint.map((c) => [c.metrics, c.usdPerEndpointMonth!]));
    // Per-target metrics and their alarms' analyzed series cost more than per-kind aggregates.
    expect(usd['detailed']).toBeGreaterThan(usd['default']!);
    expect(usd['default']).toBeGreaterThan(usd['aggregate']!);
    console.log(
      `100,000 endpoints: ${doc.costPerEndpoint.map((c) => `${c.metrics} $${c.usdPerEndpointMonth!.toFixed(4)}`).join(', ')} per endpoint a month`,
    );
  }, 600_000);
});
