/** The smtp check as the engine runs it: credentials resolved first, SES hints on SES hosts. */
import type { Credentials, SmtpCheckSpec } from '../checks.js';
import type { DaneMxReport } from '../dane/host.js';
import { Deadline } from '../deadline.js';
import { finding, type Finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult } from '../result.js';
import { isSesEndpoint, withSesHints } from '../ses/presets.js';
import { resolveCredentials, type CredentialDeps } from '../secrets.js';
import { runSmtpCheck, type SmtpResult } from '../smtp/check.js';
import { describeError } from '../errors.js';

export interface SmtpRunDeps {
  /** Where credentials come from (Secrets Manager client, environment). */
  readonly credentials?: CredentialDeps;
}

/** Share of the check's deadline the credential read may take (the rest is the session's). */
const CREDENTIALS_SHARE = 1 / 3;

export async function runSmtp(
  spec: SmtpCheckSpec,
  ctx: ProbeContext,
  deps: SmtpRunDeps = {},
): Promise<SmtpResult | BaseResult> {
  const hintFor = isSesEndpoint(spec.host)
    ? (f: Finding) => withSesHints([f], spec.host, spec.port)[0]?.hint
    : undefined;
  const timeoutMs = spec.timeoutMs ?? ctx.timeoutMs;
  const startedMs = ctx.clock.now();
  // `dane: true` (port 25): the host's DANE verdict, alongside the session. The DNSSEC
  // validator behind it loads only then: a one-shot `mailprobe smtp` does not parse it.
  const dane =
    spec.dane === true
      ? import('../dane/attach.js').then(async (module) => ({
          module,
          report: await module.daneForHost(spec.host, spec.port, ctx, new Deadline(timeoutMs, ctx.clock)),
        }))
      : undefined;
  let credentials: Credentials | undefined;
  if (spec.auth) {
    // The read counts against the check's one deadline, so an unreachable Secrets Manager
    // cannot hold this target (or, through the shared cache, its neighbours) past it.
    try {
      credentials = await resolveCredentials(spec.auth, {
        ...deps.credentials,
        abortSignal: deps.credentials?.abortSignal ?? AbortSignal.timeout(Math.ceil(timeoutMs * CREDENTIALS_SHARE)),
      });
    } catch (err) {
      const findings = [
        finding('CREDENTIALS_UNAVAILABLE', `the SMTP credentials could not be read: ${describeError(err)}`, {
          stage: 'auth',
        }),
      ];
      // The DANE verdict was started with the check: it is still this host's verdict.
      return withDane(baseResult(spec, findings, startedMs, ctx.clock), dane);
    }
  }
  const remainingMs = Math.max(1, timeoutMs - (ctx.clock.now() - startedMs));
  // The check builds the finished result: hints, masking of this target's secret, and
  // startedAt/durationMs counted from before the credential read.
  const result = await runSmtpCheck({ ...spec, timeoutMs: remainingMs }, ctx, {
    startedMs,
    ...(credentials !== undefined ? { credentials } : {}),
    ...(hintFor !== undefined ? { hintFor } : {}),
  });
  return withDane(result, dane);
}

type DaneModule = typeof import('../dane/attach.js');

async function withDane<R extends BaseResult>(
  result: R,
  dane: Promise<{ module: DaneModule; report: DaneMxReport }> | undefined,
): Promise<R & { dane?: DaneMxReport }> {
  if (dane === undefined) return result;
  const { module, report } = await dane;
  return module.withDane(result, report);
}
