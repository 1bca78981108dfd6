/**
 * A flow's changes between two runs 15 minutes apart, through the real state file and the
 * shared pipeline (shard/run-shard.ts): the DKIM result that changed and a latency over twice the
 * recent median are reported once, on the run that saw them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertKeyOf } from '../../../lambdas/engine/alerts/probe-state.js';
import type { BaseResult } from '../../../lambdas/engine/result.js';
import { runShard } from '../../../lambdas/engine/shard/run-shard.js';
import { FileStateStore } from '../../../lambdas/engine/state/file.js';

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-flow-changes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-12-05T09:00:00Z');
const flowResult = (at: number, dkim: string, latencyMs: number, medianLatencyMs: number): BaseResult =>
  ({
    check: 'flow',
    target: 'probe@example.com -> sink@example.net',
    name: 'relay-to-m365',
    status: 'ok',
    startedAt: new Date(at).toISOString(),
    durationMs: 900,
    findings: [],
    latest: {
      latencyMs,
      hops: [
        { by: 'mx.example.net', transport: 'tls' },
        { by: 'relay.example.com', transport: 'tls' },
      ],
      verdicts: { spf: 'pass', dkim, dmarc: 'pass' },
    },
    medianLatencyMs,
  }) as unknown as BaseResult;

async function run(path: string, result: BaseResult, now: number) {
  const store = new FileStateStore(path);
  const log = () => undefined;
  const { results } = await runShard({
    keys: [alertKeyOf(result)],
    run: async () => [result],
    state: { store, notify: async () => true, policyFor: () => ({ holdCount: 1 }) },
    clock: { now: () => now },
    log,
  });
  return results[0]?.changes ?? [];
}

describe('flow changes through the state file', () => {
  it('FLOW_DKIM_CHANGED and FLOW_LATENCY_DOUBLED on the run that saw them, and only then', async () => {
    const path = join(dir, 'state.json');
    expect(await run(path, flowResult(T0, 'pass', 2000, 2000), T0)).toEqual([]);
    const second = await run(path, flowResult(T0 + 15 * 60_000, 'fail', 9000, 2000), T0 + 15 * 60_000);
    expect(second.map((c) => c.code).sort()).toEqual(['FLOW_DKIM_CHANGED', 'FLOW_LATENCY_DOUBLED']);
    expect(second.find((c) => c.code === 'FLOW_DKIM_CHANGED')?.message).toBe('The DKIM result went from pass to fail.');
    expect(second.find((c) => c.code === 'FLOW_LATENCY_DOUBLED')?.message).toContain(
      'Delivery took 9.0 s, more than twice the recent median of 2.0 s.',
    );
    // The third run sees the same DKIM result and a normal latency: nothing to report.
    expect(await run(path, flowResult(T0 + 30 * 60_000, 'fail', 2500, 2200), T0 + 30 * 60_000)).toEqual([]);
  });
});
