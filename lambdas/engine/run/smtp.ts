/** The smtp Lambda's runner: the configured SMTP probe (probe/smtp.ts) over a shard, in waves. */
import type { SmtpCheckSpec } from '../checks.js';
import type { ProbeContext } from '../context.js';
import { runSmtp, type SmtpRunDeps } from '../probe/smtp.js';
import type { BaseResult } from '../result.js';
import type { SmtpResult } from '../smtp/check.js';
import { runPool, type PoolOptions } from './pool.js';

export function runSmtpChecks(
  specs: readonly SmtpCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions & { readonly deps?: SmtpRunDeps } = {},
): Promise<(SmtpResult | BaseResult)[]> {
  return runPool(specs, (spec) => runSmtp(spec, ctx, options.deps), ctx, options);
}
