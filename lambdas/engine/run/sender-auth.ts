import type { SenderAuthCheckSpec } from '../checks.js';
import type { ProbeContext } from '../context.js';
import type { BaseResult } from '../result.js';
import { runSenderAuthCheck, type SenderAuthResult } from '../sender-auth/check.js';
import { runPool, type PoolOptions } from './pool.js';

/** The sender-auth Lambda's runner: only this check in its bundle. */
export function runSenderAuthChecks(
  specs: readonly SenderAuthCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions = {},
): Promise<(SenderAuthResult | BaseResult)[]> {
  return runPool(specs, (spec) => runSenderAuthCheck(spec, ctx), ctx, options);
}
