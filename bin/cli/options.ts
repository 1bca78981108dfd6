/**
 * Command-line values → what the engine takes (context, thresholds, credentials, the
 * endpoint): shared by the probe commands and `run`.
 */
import type { CredentialSource } from '../../lambdas/engine/checks.js';
import { createResolver, dnsQueryTimeoutMs, onlyFamily } from '../../lambdas/engine/net/resolver.js';
import {
  createContext,
  DEFAULT_THRESHOLDS,
  DEFAULT_TIMEOUT_MS,
  type ProbeContext,
  type Thresholds,
} from '../../lambdas/engine/context.js';
import type { EngineDeps } from '../../lambdas/engine/run/all.js';
import type { TlsPolicy } from '../../lambdas/engine/tls/policy.js';
import {
  intOption,
  parseHostPort,
  parseTlsPolicy,
  readCaFiles,
  stringOption,
  UsageError,
  type Parsed,
} from './args.js';
import { dnssecSettings } from './dane.js';

export function thresholdsFrom(values: Parsed['values'], base: Thresholds = DEFAULT_THRESHOLDS): Thresholds {
  const warnDays = intOption(values, 'warn-days', 0, 3650, base.warnDays);
  const criticalDays = intOption(values, 'critical-days', 0, 3650, base.criticalDays);
  if (criticalDays > warnDays) {
    throw new UsageError(`--critical-days (${criticalDays}) must not exceed --warn-days (${warnDays})`);
  }
  return { warnDays, criticalDays, minDhBits: intOption(values, 'min-dh-bits', 0, 16384, base.minDhBits) };
}

export function contextFrom(
  values: Parsed['values'],
  stderr: { write(text: string): unknown } = process.stderr,
): ProbeContext {
  const dnsServer = stringOption(values, 'dns-server');
  const timeoutMs = intOption(values, 'timeout', 100, 600_000, DEFAULT_TIMEOUT_MS);
  let resolver;
  try {
    // Sized so that even a query nobody cancels ends by --timeout.
    const dnsTimeoutMs = dnsQueryTimeoutMs(timeoutMs);
    resolver = createResolver({ ...(dnsServer !== undefined ? { server: dnsServer } : {}), timeoutMs: dnsTimeoutMs });
  } catch (err) {
    throw new UsageError(`--dns-server: ${(err as Error).message}`);
  }
  if (values.ipv4 === true && values.ipv6 === true) throw new UsageError('-4 and -6 exclude each other');
  if (values.ipv4 === true || values.ipv6 === true) resolver = onlyFamily(resolver, values.ipv4 === true ? 4 : 6);
  const caFiles = (values['ca-file'] as string[] | undefined) ?? [];
  return createContext({
    resolver,
    extraCa: readCaFiles(caFiles),
    allowPrivate: values['allow-private'] === true,
    thresholds: thresholdsFrom(values),
    timeoutMs,
    dnssec: dnssecSettings(values),
    ...(values.debug === true ? { transcript: debugTranscript((line) => stderr.write(line)) } : {}),
  });
}

/** `--debug`: the SMTP dialogue on stderr with the milliseconds since the start, as swaks prints it. */
export function debugTranscript(write: (line: string) => void) {
  const start = performance.now();
  const arrow = { C: ' -> ', S: '<-  ', '*': ' ** ' } as const;
  return (direction: keyof typeof arrow, text: string): void => {
    write(`[${String(Math.round(performance.now() - start)).padStart(5)} ms]${arrow[direction]}${text}\n`);
  };
}

/** `--policy-port` / `--mx-port`: MTA-STS against local servers (production uses 443 and 25). */
export function engineDeps(values: Parsed['values']): EngineDeps {
  const policyPort = values['policy-port'] === undefined ? undefined : intOption(values, 'policy-port', 1, 65535, 443);
  const mxPort = values['mx-port'] === undefined ? undefined : intOption(values, 'mx-port', 1, 65535, 25);
  return {
    mtaSts: { ...(policyPort !== undefined ? { policyPort } : {}), ...(mxPort !== undefined ? { mxPort } : {}) },
    dane: mxPort !== undefined ? { mxPort } : {},
  };
}

export function credentialSource(values: Parsed['values']): CredentialSource | undefined {
  const user = stringOption(values, 'user');
  const passwordEnv = stringOption(values, 'password-env');
  const secret = stringOption(values, 'auth-secret');
  if (secret !== undefined && (user !== undefined || passwordEnv !== undefined)) {
    throw new UsageError('use either --auth-secret ARN or --user U --password-env VAR, not both');
  }
  if (secret !== undefined) {
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/.test(secret)) {
      throw new UsageError(`--auth-secret: expected a Secrets Manager secret ARN, got "${secret}"`);
    }
    return { secretArn: secret };
  }
  if (user !== undefined || passwordEnv !== undefined) {
    if (user === undefined || passwordEnv === undefined) {
      throw new UsageError(
        '--user and --password-env go together; the password itself is never a command-line argument (it would show in `ps` and shell history)',
      );
    }
    return { username: user, passwordEnv };
  }
  return undefined;
}

/** HOST[:PORT] (port 25 unless given) with the optional --name and --ehlo of smtp and tls. */
export function endpointOf(parsed: Parsed): { host: string; port: number; name?: string; ehloName?: string } {
  const { host, port } = parseHostPort(singleTarget(parsed, 'HOST[:PORT]'), 25);
  const name = stringOption(parsed.values, 'name');
  const ehloName = stringOption(parsed.values, 'ehlo');
  return { host, port, ...(name !== undefined ? { name } : {}), ...(ehloName !== undefined ? { ehloName } : {}) };
}

export function tlsPolicyOf(values: Parsed['values']): { tlsPolicy?: TlsPolicy } {
  const tlsPolicy = parseTlsPolicy(stringOption(values, 'tls-policy'));
  return tlsPolicy !== undefined ? { tlsPolicy } : {};
}

export function singleTarget(parsed: Parsed, what: string): string {
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`${parsed.command}: expected exactly one ${what}, got ${parsed.positionals.length}`);
  }
  return parsed.positionals[0] as string;
}
