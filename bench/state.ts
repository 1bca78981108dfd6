/**
 * State bench: one invocation with 1,000 targets against dynalite on loopback (the real SDK
 * client and the real store): the batched load before the checks and the conditional save
 * after them, per target (p50/p99) and for the whole invocation, plus the item size that
 * the cost figures in the README assume.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { performance } from 'node:perf_hooks';
import { finding } from '../lambdas/engine/findings.js';
import type { BaseResult } from '../lambdas/engine/result.js';
import { openState } from '../lambdas/engine/alerts/probe-state.js';
import { DynamoStateStore } from '../lambdas/engine/state/dynamodb.js';
import { startDynalite } from '../testkit/dynalite.js';

const TARGETS = Number(process.env.BENCH_STATE_TARGETS ?? 1000);
const RUNS = 3;

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? NaN;
}
const round = (ms: number) => Math.round(ms * 10) / 10;

/** An mta-sts result with the facts change detection keeps (policy, MX, TLS-RPT). */
function result(i: number, at: number, run: number): BaseResult {
  const failing = i % 10 === 0;
  return {
    check: 'mta-sts',
    target: `domain-${i}.example.com`,
    status: failing ? 'critical' : 'ok',
    startedAt: new Date(at).toISOString(),
    durationMs: 800,
    findings: failing ? [finding('MTASTS_MX_NOT_COVERED', `mx3.domain-${i}.example.com is not covered`)] : [],
    txt: { records: [`v=STSv1; id=2026${run}`], id: `2026${run}`, valid: true },
    policy: {
      mode: 'enforce',
      // Each run edits the policy with a new id: MTASTS_POLICY_CHANGED for every target from run 2.
      maxAge: 604800 + run,
      mx: [`mx1.domain-${i}.example.com`, `mx2.domain-${i}.example.com`],
      id: `2026${run}`,
      authenticated: true,
    },
    acceptsMail: true,
    mx: [{ host: `mx1.domain-${i}.example.com` }, { host: `mx2.domain-${i}.example.com` }],
    tlsRpt: { records: [`v=TLSRPTv1; rua=mailto:tls-reports@domain-${i}.example.com`], valid: true },
  } as BaseResult;
}

export async function benchState(): Promise<void> {
  const db = await startDynalite();
  await db.createTable('mailprobe-bench-state');
  // Per-request timings at the SDK boundary: which keys each BatchGetItem carried, each PutItem's time.
  const batches: { ms: number; keys: number }[] = [];
  const puts: number[] = [];
  db.client.middlewareStack.add(
    (next, context) => async (args) => {
      const t0 = performance.now();
      const out = await next(args);
      const ms = performance.now() - t0;
      if (context.commandName === 'BatchGetItemCommand') {
        const input = args.input as { RequestItems?: Record<string, { Keys?: unknown[] }> };
        batches.push({ ms, keys: Object.values(input.RequestItems ?? {})[0]?.Keys?.length ?? 0 });
      } else if (context.commandName === 'PutItemCommand') puts.push(ms);
      return out;
    },
    { step: 'initialize', name: 'benchTiming' },
  );

  const t0 = Date.parse('2026-11-23T00:00:00.000Z');
  const reports = [];
  for (let run = 0; run < RUNS; run += 1) {
    batches.length = 0;
    puts.length = 0;
    const at = t0 + run * 3_600_000;
    const clock = { now: () => at };
    const store = new DynamoStateStore({ client: db.client, tableName: 'mailprobe-bench-state', clock });
    const results = Array.from({ length: TARGETS }, (_, i) => result(i, at, run));
    const started = performance.now();
    const state = await openState(
      store,
      results.map((r) => ({ check: r.check, target: r.target })),
      () => {},
    );
    const loadedMs = performance.now() - started;
    const annotated = results.map((r) => state.annotate(r));
    const summary = await state.commit(annotated, {
      store,
      notify: async () => true,
      holdCount: 2,
      redact: (t) => t,
      clock,
      log: () => {},
    });
    const totalMs = performance.now() - started;
    // Per target: the round trip of the batch that read it, plus its conditional write.
    const loadPerTarget = batches.flatMap((b) => Array.from({ length: b.keys }, () => b.ms)).sort((a, b) => a - b);
    const savePerTarget = [...puts].sort((a, b) => a - b);
    const both = loadPerTarget.map((l, i) => l + (puts[i] ?? 0)).sort((a, b) => a - b);
    reports.push({
      run: run + 1,
      targets: TARGETS,
      batchGetItemCalls: batches.length,
      putItemCalls: puts.length,
      loadMsPerTarget: { p50: round(percentile(loadPerTarget, 50)), p99: round(percentile(loadPerTarget, 99)) },
      saveMsPerTarget: { p50: round(percentile(savePerTarget, 50)), p99: round(percentile(savePerTarget, 99)) },
      loadPlusSaveMsPerTarget: { p50: round(percentile(both, 50)), p99: round(percentile(both, 99)) },
      invocation: { loadMs: Math.round(loadedMs), loadAndSaveMs: Math.round(totalMs) },
      sent: summary.sent,
      changes: summary.changes,
      unavailable: summary.stateUnavailable,
    });
  }
  const item = await db.client.send(
    new GetItemCommand({ TableName: 'mailprobe-bench-state', Key: { pk: { S: 'mta-sts#domain-0.example.com' } } }),
  );
  const itemBytes = Object.entries(item.Item ?? {}).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.S ?? v.N ?? ''),
    0,
  );
  await db.close();
  console.log(JSON.stringify({ state: { dynalite: true, itemBytes, runs: reports } }, null, 2));
  const last = reports.at(-1)!;
  console.log(
    `\nstate, ${TARGETS} targets in one invocation (dynalite, run ${last.run}): load + save per target p50 ` +
      `${last.loadPlusSaveMsPerTarget.p50} ms, p99 ${last.loadPlusSaveMsPerTarget.p99} ms; ` +
      `${last.batchGetItemCalls} BatchGetItem + ${last.putItemCalls} PutItem, ${last.invocation.loadAndSaveMs} ms in all; item ${itemBytes} bytes`,
  );
  if (reports.some((r) => r.unavailable > 0)) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchState();
