/**
 * `mailprobe dane DOMAIN...`: DANE for SMTP (RFC 7672) with DNSSEC validated by the probe,
 * and the DNSSEC settings (`--dns-server`, `--trust-anchor`) every command's context gets,
 * so `mta-sts` results carry the same DANE verdict.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileErrorReason } from '../../lib/fs-errors.js';
import type { CheckSpec } from '../../lambdas/engine/checks.js';
import {
  MAX_ANCHOR_FILE_BYTES,
  parseTrustAnchors,
  TrustAnchorError,
  type TrustAnchor,
} from '../../lambdas/engine/dnssec/anchors.js';
import type { ProbeContext } from '../../lambdas/engine/context.js';
import { runChecks, type CheckResult, type EngineDeps } from '../../lambdas/engine/run/all.js';
import { domainArguments, intOption, stringOption, UsageError, type Parsed } from './args.js';

/** Reads every --trust-anchor file (DS or DNSKEY records in presentation format). */
export function readTrustAnchors(paths: readonly string[]): TrustAnchor[] | undefined {
  if (paths.length === 0) return undefined;
  return paths.flatMap((path) => {
    let text: string;
    try {
      if (statSync(path).size > MAX_ANCHOR_FILE_BYTES) {
        throw new UsageError(`--trust-anchor ${path}: larger than ${MAX_ANCHOR_FILE_BYTES} bytes`);
      }
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--trust-anchor ${path}: cannot read it: ${fileErrorReason(err)}`);
    }
    try {
      return parseTrustAnchors(text);
    } catch (err) {
      if (err instanceof TrustAnchorError) throw new UsageError(`--trust-anchor ${path}: ${err.message}`);
      throw err;
    }
  });
}

/** The context's DNSSEC settings from --dns-server and --trust-anchor. */
export function dnssecSettings(values: Parsed['values']): NonNullable<ProbeContext['dnssec']> {
  const server = stringOption(values, 'dns-server');
  const anchors = readTrustAnchors((values['trust-anchor'] as string[] | undefined) ?? []);
  return { ...(server !== undefined ? { server } : {}), ...(anchors !== undefined ? { anchors } : {}) };
}

/** The config's `dnssec.trustAnchors`, as the plan hands it to every shard. */
export function dnssecFromShard(trustAnchors: string | undefined): NonNullable<ProbeContext['dnssec']> {
  return trustAnchors !== undefined ? { anchors: parseTrustAnchors(trustAnchors) } : {};
}

/** `--mx-port`: DANE against local servers (production uses 25). */
export function daneDeps(values: Parsed['values']): Pick<EngineDeps, 'dane'> {
  const mxPort = values['mx-port'] === undefined ? undefined : intOption(values, 'mx-port', 1, 65535, 25);
  return { dane: mxPort !== undefined ? { mxPort } : {} };
}

export async function daneCommand(parsed: Parsed, ctx: ProbeContext, concurrency: number): Promise<CheckResult[]> {
  const specs: CheckSpec[] = domainArguments(parsed).map((domain) => ({ check: 'dane', domain }));
  return runChecks(specs, ctx, { concurrency, deps: daneDeps(parsed.values) });
}
