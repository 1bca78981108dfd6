/** The smtp check as the engine runs it: credentials resolved first, SES hints on SES hosts. */
import type { SmtpCheckSpec } from '../checks.js';
import { finding, type Finding } from '../findings.js';
import type { ProbeContext } from '../options.js';
import type { BaseResult } from '../result.js';
import { isSesEndpoint, withSesHints } from '../ses/presets.js';
import { resolveCredentials, type CredentialDeps } from '../secrets.js';
import { runSmtpCheck, type SmtpResult } from '../smtp/check.js';
import { describeError, failedResult, runPool, type PoolOptions } from './pool.js';

export interface SmtpRunDeps {
  /** Where credentials come from (Secrets Manager client, environment). */
  readonly credentials?: CredentialDeps;
}

export async function runSmtp(
  spec: SmtpCheckSpec,
  ctx: ProbeContext,
  deps: SmtpRunDeps = {},
): Promise<SmtpResult | BaseResult> {
  const hintFor = isSesEndpoint(spec.host)
    ? (f: Finding) => withSesHints([f], spec.host, spec.port)[0]?.hint
    : undefined;
  let credentials;
  if (spec.auth) {
    const startedMs = ctx.clock.now();
    try {
      credentials = await resolveCredentials(spec.auth, deps.credentials);
    } catch (err) {
      return failedResult(spec, ctx, startedMs, [
        finding('CREDENTIALS_UNAVAILABLE', `the SMTP credentials could not be read: ${describeError(err)}`, {
          stage: 'auth',
        }),
      ]);
    }
  }
  return runSmtpCheck(spec, ctx, {
    ...(credentials !== undefined ? { credentials } : {}),
    ...(hintFor !== undefined ? { hintFor } : {}),
  });
}

export function runSmtpChecks(
  specs: readonly SmtpCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions & { readonly deps?: SmtpRunDeps } = {},
): Promise<(SmtpResult | BaseResult)[]> {
  return runPool(specs, (spec) => runSmtp(spec, ctx, options.deps), ctx, options);
}
