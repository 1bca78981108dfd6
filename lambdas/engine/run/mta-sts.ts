import type { MtaStsCheckSpec } from '../checks.js';
import { runMtaStsCheck, type MtaStsDeps, type MtaStsResult } from '../mtasts/check.js';
import type { ProbeContext } from '../context.js';
import type { BaseResult } from '../result.js';
import { runPool, type PoolOptions } from './pool.js';

export function runMtaStsChecks(
  specs: readonly MtaStsCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions & { readonly deps?: MtaStsDeps } = {},
): Promise<(MtaStsResult | BaseResult)[]> {
  return runPool(specs, (spec) => runMtaStsCheck(spec, ctx, options.deps), ctx, options);
}
