/**
 * The engine's entry point for every kind of check at once (the CLI's `run`): specs run
 * concurrently, each under its own deadline, one result per spec in the same order, never
 * a throw. The Lambdas import the per-kind runners in run/ instead, so each bundle holds
 * only its own check.
 */
import type { CheckSpec } from '../checks.js';
import type { DaneResult } from '../dane/check.js';
import type { DaneDeps } from '../dane/host.js';
import type { MtaStsDeps, MtaStsResult } from '../mtasts/check.js';
import type { ProbeContext } from '../context.js';
import { finding } from '../findings.js';
import type { FlowDeps, FlowResult } from '../flow/check.js';
import { baseResult, type BaseResult } from '../result.js';
import { runPool, type PoolOptions } from './pool.js';
import { runSmtp, type SmtpRunDeps } from '../probe/smtp.js';
import { runTls } from './tls.js';
import { runSenderAuthCheck, type SenderAuthResult } from '../sender-auth/check.js';
import type { SesAccountResult } from '../ses/account.js';
import type { SmtpResult } from '../smtp/check.js';
import type { TlsResult } from '../tls/posture.js';

export { DEFAULT_CONCURRENCY } from './pool.js';

/**
 * One result per check. A check that could not run at all (unreadable credentials, a bug)
 * yields only the base fields and its findings.
 */
export type CheckResult =
  SmtpResult | TlsResult | MtaStsResult | SesAccountResult | DaneResult | FlowResult | SenderAuthResult | BaseResult;

export interface EngineDeps extends SmtpRunDeps {
  /** MTA-STS overrides (policy and MX ports) for testing against local servers. */
  readonly mtaSts?: MtaStsDeps;
  /** DANE overrides (MX port) for testing against local servers. */
  readonly dane?: DaneDeps;
  /** The flow check's key and log store; without them a flow cannot run. */
  readonly flow?: Omit<FlowDeps, keyof SmtpRunDeps>;
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
      // Loaded on first use, as DANE below: HTTP, zlib and the policy parser, or the DNSSEC
      // validator, are of no use to a CLI smtp or tls run.
      return import('../mtasts/check.js').then(({ runMtaStsCheck }) => runMtaStsCheck(spec, ctx, deps.mtaSts));
    case 'ses-account':
      // Loaded on first use: the SES client is ~150 ms of import a CLI smtp or tls run does not need.
      return import('../ses/account.js').then(({ runSesAccountCheck }) => runSesAccountCheck(spec, ctx));
    case 'dane':
      return import('../dane/check.js').then(({ runDaneCheck }) => runDaneCheck(spec, ctx, deps.dane));
    case 'flow': {
      const flow = deps.flow;
      if (flow === undefined) {
        const missing = finding('PROBE_INTERNAL_ERROR', 'a flow needs its token key and a state store to log sends in');
        return Promise.resolve(baseResult(spec, [missing], ctx.clock.now(), ctx.clock));
      }
      // Loaded on first use: imapflow and mailauth are of no use to the other checks.
      return import('../flow/check.js').then(({ runFlowCheck }) => runFlowCheck(spec, ctx, { ...deps, ...flow }));
    }
    case 'sender-auth':
      return runSenderAuthCheck(spec, ctx);
  }
}

export function runChecks(
  specs: readonly CheckSpec[],
  ctx: ProbeContext,
  options: RunOptions = {},
): Promise<CheckResult[]> {
  return runPool(specs, (spec) => runCheck(spec, ctx, options.deps), ctx, options);
}
