/**
 * The engine's entry point for every kind of check at once (the CLI's `run`): specs run
 * concurrently, each under its own deadline, one result per spec in the same order, never
 * a throw. The Lambdas import the per-kind runners in run/ instead, so each bundle holds
 * only its own check.
 */
import type { CheckSpec } from './checks.js';
import { runDaneCheck, type DaneDeps, type DaneResult } from './dane/check.js';
import type { MtaStsDeps, MtaStsResult } from './mtasts/check.js';
import { runMtaStsCheck } from './mtasts/check.js';
import type { ProbeContext } from './options.js';
import type { BaseResult } from './result.js';
import { runPool, type PoolOptions } from './run/pool.js';
import { runSmtp, type SmtpRunDeps } from './run/smtp.js';
import { runTls } from './run/tls.js';
import { runSesAccountCheck, type SesAccountResult } from './ses/account.js';
import type { SmtpResult } from './smtp/check.js';
import type { TlsResult } from './tls/posture.js';

export { DEFAULT_CONCURRENCY } from './run/pool.js';

/**
 * One result per check. A check that could not run at all (unreadable credentials, a bug)
 * yields only the base fields and its findings.
 */
export type CheckResult = SmtpResult | TlsResult | MtaStsResult | SesAccountResult | DaneResult | BaseResult;

export interface EngineDeps extends SmtpRunDeps {
  /** MTA-STS overrides (policy and MX ports) for testing against local servers. */
  readonly mtaSts?: MtaStsDeps;
  /** DANE overrides (MX port) for testing against local servers. */
  readonly dane?: DaneDeps;
}

export interface RunOptions extends PoolOptions {
  readonly deps?: EngineDeps;
}

export function runCheck(spec: CheckSpec, ctx: ProbeContext, deps: EngineDeps = {}): Promise<CheckResult> {
  switch (spec.check) {
    case 'smtp':
      return runSmtp(spec, ctx, deps);
    case 'tls':
      return runTls(spec, ctx);
    case 'mta-sts':
      return runMtaStsCheck(spec, ctx, deps.mtaSts);
    case 'ses-account':
      return runSesAccountCheck(spec, ctx);
    case 'dane':
      return runDaneCheck(spec, ctx, deps.dane);
  }
}

export function runChecks(
  specs: readonly CheckSpec[],
  ctx: ProbeContext,
  options: RunOptions = {},
): Promise<CheckResult[]> {
  return runPool(specs, (spec) => runCheck(spec, ctx, options.deps), ctx, options);
}
