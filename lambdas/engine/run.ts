/**
 * The engine's entry point: runs check specs concurrently, each under its own deadline,
 * and returns one result per spec in the same order. Never throws: a check that fails
 * in an unexpected way still yields a result (PROBE_INTERNAL_ERROR), so one broken
 * target can never stop or delay the others.
 */
import type { CheckSpec, SmtpCheckSpec, TlsCheckSpec } from './checks.js';
import { effectiveTlsMode, targetOf } from './checks.js';
import { finding, statusOf, type Finding } from './findings.js';
import { runMtaStsCheck, type MtaStsDeps, type MtaStsResult } from './mtasts/check.js';
import type { ProbeContext } from './options.js';
import type { BaseResult } from './result.js';
import { runSesAccountCheck, type SesAccountResult } from './ses/account.js';
import { isSesEndpoint, withSesHints } from './ses/presets.js';
import { resolveCredentials, type CredentialDeps } from './secrets.js';
import { runSmtpCheck, type SmtpResult } from './smtp/check.js';
import { starttlsConnector } from './smtp/connector.js';
import { implicitTlsConnector } from './tls/connect.js';
import { runTlsCheck, type TlsResult } from './tls/posture.js';

export type CheckResult = SmtpResult | TlsResult | MtaStsResult | SesAccountResult;

export interface EngineDeps {
  /** MTA-STS overrides (policy and MX ports) for testing against local servers. */
  readonly mtaSts?: MtaStsDeps;
  /** Where credentials come from (Secrets Manager client, environment). */
  readonly credentials?: CredentialDeps;
}

export interface RunOptions {
  /** Checks in flight at once. @default 16 */
  readonly concurrency?: number;
  readonly deps?: EngineDeps;
}

export const DEFAULT_CONCURRENCY = 16;

export async function runCheck(spec: CheckSpec, ctx: ProbeContext, deps: EngineDeps = {}): Promise<CheckResult> {
  const startedMs = ctx.clock.now();
  try {
    switch (spec.check) {
      case 'smtp':
        return await runSmtp(spec, ctx, deps);
      case 'tls':
        return await runTls(spec, ctx);
      case 'mta-sts':
        return await runMtaStsCheck(spec, ctx, deps.mtaSts);
      case 'ses-account':
        return await runSesAccountCheck(spec, ctx);
    }
  } catch (err) {
    return failedResult(spec, ctx, startedMs, [
      finding('PROBE_INTERNAL_ERROR', `the ${spec.check} check failed unexpectedly: ${describe(err)}`),
    ]) as CheckResult;
  }
}

async function runSmtp(spec: SmtpCheckSpec, ctx: ProbeContext, deps: EngineDeps): Promise<CheckResult> {
  const ses = isSesEndpoint(spec.host);
  const hintFor = ses ? (f: Finding) => withSesHints([f], spec.host, spec.port)[0]?.hint : undefined;
  let credentials;
  if (spec.auth) {
    try {
      credentials = await resolveCredentials(spec.auth, deps.credentials);
    } catch (err) {
      const startedMs = ctx.clock.now();
      return failedResult(spec, ctx, startedMs, [
        finding('CREDENTIALS_UNAVAILABLE', `the SMTP credentials could not be read: ${describe(err)}`, {
          stage: 'auth',
        }),
      ]) as CheckResult;
    }
  }
  return runSmtpCheck(spec, ctx, {
    ...(credentials !== undefined ? { credentials } : {}),
    ...(hintFor !== undefined ? { hintFor } : {}),
  });
}

async function runTls(spec: TlsCheckSpec, ctx: ProbeContext): Promise<CheckResult> {
  const mode = effectiveTlsMode(spec.tls, spec.port);
  const connector =
    mode === 'implicit'
      ? implicitTlsConnector(spec.host, spec.port, undefined, ctx.resolver)
      : starttlsConnector(
          { host: spec.host, port: spec.port, ...(spec.ehloName ? { ehloName: spec.ehloName } : {}) },
          ctx,
        );
  const result = await runTlsCheck(spec, ctx, connector);
  if (!isSesEndpoint(spec.host)) return result;
  const findings = withSesHints(result.findings, spec.host, spec.port);
  return { ...result, findings };
}

/** Runs all specs with at most `concurrency` in flight; results keep the specs' order. */
export async function runChecks(
  specs: readonly CheckSpec[],
  ctx: ProbeContext,
  options: RunOptions = {},
): Promise<CheckResult[]> {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const results: CheckResult[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const spec = specs[index];
      if (spec === undefined) return;
      results[index] = await runCheck(spec, ctx, options.deps);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return results;
}

function failedResult(spec: CheckSpec, ctx: ProbeContext, startedMs: number, findings: Finding[]): BaseResult {
  return {
    check: spec.check,
    target: targetOf(spec),
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    status: statusOf(findings),
    startedAt: new Date(startedMs).toISOString(),
    durationMs: ctx.clock.now() - startedMs,
    findings,
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
