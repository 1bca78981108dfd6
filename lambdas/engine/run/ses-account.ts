import type { SesAccountCheckSpec } from '../checks.js';
import type { ProbeContext } from '../context.js';
import type { BaseResult } from '../result.js';
import { runSesAccountCheck, type SesAccountResult } from '../ses/account.js';
import { runPool, type PoolOptions } from './pool.js';

export function runSesAccountChecks(
  specs: readonly SesAccountCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions = {},
): Promise<(SesAccountResult | BaseResult)[]> {
  return runPool(specs, (spec) => runSesAccountCheck(spec, ctx), ctx, options);
}
