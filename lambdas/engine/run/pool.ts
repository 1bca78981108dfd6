/**
 * Running many checks: at most `concurrency` in flight, results in the specs' order, and
 * never a throw — a check that fails in an unexpected way still yields a result
 * (PROBE_INTERNAL_ERROR), so one broken target cannot stop or delay the others. Every
 * result passes through `boundResult` here, the one door results leave the engine by, so
 * what a hostile server sends cannot make a log line or an alert outgrow its limits.
 */
import type { CheckSpec } from '../checks.js';
import { finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import { boundResult } from '../result-bounds.js';
import { baseResult, type BaseResult } from '../result.js';
import { describeError } from '../errors.js';

export const DEFAULT_CONCURRENCY = 16;

export interface PoolOptions {
  /** Checks in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Called as each result is ready, in completion order (e.g. to log it before the others finish). */
  readonly onResult?: (result: BaseResult, index: number) => void;
  /** Called as each check starts (the CLI's progress line names the one running longest). */
  readonly onStart?: (spec: CheckSpec, index: number) => void;
}

export async function runPool<S extends CheckSpec, R extends BaseResult>(
  specs: readonly S[],
  runOne: (spec: S) => Promise<R>,
  ctx: ProbeContext,
  options: PoolOptions = {},
): Promise<(R | BaseResult)[]> {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const results: (R | BaseResult)[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const spec = specs[index];
      if (spec === undefined) return;
      options.onStart?.(spec, index);
      const result = await guarded(spec, runOne, ctx);
      results[index] = result;
      options.onResult?.(result, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return results;
}

async function guarded<S extends CheckSpec, R extends BaseResult>(
  spec: S,
  runOne: (spec: S) => Promise<R>,
  ctx: ProbeContext,
): Promise<R | BaseResult> {
  const startedMs = ctx.clock.now();
  try {
    return boundResult(await runOne(spec));
  } catch (err) {
    const findings = [
      finding('PROBE_INTERNAL_ERROR', `the ${spec.check} check failed unexpectedly: ${describeError(err)}`),
    ];
    return baseResult(spec, findings, startedMs, ctx.clock);
  }
}
