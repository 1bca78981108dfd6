/** The tls check as the engine runs it: the right connector for the port's TLS mode, SES hints. */
import type { TlsCheckSpec } from '../checks.js';
import { effectiveTlsMode } from '../checks.js';
import type { Finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import type { BaseResult } from '../result.js';
import { isSesEndpoint, withSesHints } from '../ses/presets.js';
import { starttlsConnector } from '../smtp/connector.js';
import { implicitTlsConnector } from '../tls/connect.js';
import { runTlsCheck, type TlsResult } from '../tls/posture.js';
import { runPool, type PoolOptions } from './pool.js';

export async function runTls(spec: TlsCheckSpec, ctx: ProbeContext): Promise<TlsResult> {
  const connector =
    effectiveTlsMode(spec.tls, spec.port) === 'implicit'
      ? implicitTlsConnector(spec.host, spec.port, undefined, ctx.resolver)
      : starttlsConnector(
          {
            host: spec.host,
            port: spec.port,
            ...(spec.ehloName ? { ehloName: spec.ehloName } : {}),
            ...(spec.sni ? { sni: spec.sni } : {}),
          },
          ctx,
        );
  const hintFor = isSesEndpoint(spec.host)
    ? (f: Finding) => withSesHints([f], spec.host, spec.port)[0]?.hint
    : undefined;
  return runTlsCheck(spec, ctx, connector, hintFor !== undefined ? { hintFor } : {});
}

export function runTlsChecks(
  specs: readonly TlsCheckSpec[],
  ctx: ProbeContext,
  options: PoolOptions = {},
): Promise<(TlsResult | BaseResult)[]> {
  return runPool(specs, (spec) => runTls(spec, ctx), ctx, options);
}
