import type { FlowCheckSpec } from '../checks.js';
import { runFlowCheck, type FlowDeps, type FlowResult } from '../flow/check.js';
import type { ProbeContext } from '../context.js';
import { runPool, type PoolOptions } from './pool.js';

/** Flows of one deployment, each under its own deadline, sharing the key and the log store. */
export function runFlowChecks(
  specs: readonly FlowCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions & { readonly deps: FlowDeps },
): Promise<FlowResult[]> {
  return runPool(specs, (spec) => runFlowCheck(spec, ctx, options.deps), ctx, options) as Promise<FlowResult[]>;
}
