/**
 * `mailprobe`: the engine the Lambdas run, from a terminal. Same checks, same results.
 * Exit status: 0 no result critical, 1 some result critical, 2 usage or configuration error.
 */
import type { CheckSpec, CredentialSource, SmtpCheckSpec, TlsCheckSpec } from '../../lambdas/engine/checks.js';
import { explainAlert } from '../../lambdas/engine/alerts/explain.js';
import { createResolver } from '../../lambdas/engine/net/resolver.js';
import type { TlsPolicy } from '../../lambdas/engine/tls/policy.js';
import {
  createContext,
  DEFAULT_THRESHOLDS,
  DEFAULT_TIMEOUT_MS,
  type ProbeContext,
  type Thresholds,
} from '../../lambdas/engine/options.js';
import { DEFAULT_CONCURRENCY, runChecks, type CheckResult, type EngineDeps } from '../../lambdas/engine/run.js';
import { expandSesPreset, expandSesTlsPreset, SesPresetError } from '../../lambdas/engine/ses/presets.js';
import { deriveSesSmtpPassword } from '../../lambdas/engine/ses/smtp-password.js';
import { ConfigError, loadConfig } from '../../lib/config/load.js';
import { nameOf, planConfig, PlanError } from '../../lib/config/plan.js';
import {
  intOption,
  parseCommandLine,
  parseHostPort,
  parsePorts,
  parseTlsMode,
  parseTlsPolicy,
  readCaFiles,
  stringOption,
  UsageError,
  type Parsed,
} from './args.js';
import { daneCommand, dnssecFromShard, dnssecSettings } from './dane.js';
import { formatResults, jsonDocument } from './format.js';
import { HELP, commandHelp } from './help.js';
import { applyState, formatNotices, openStateFile, policiesOf } from './state.js';

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const parsed = parseCommandLine(argv);
    if (parsed === 'help') {
      io.stdout.write(HELP);
      return 0;
    }
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(parsed.command));
      return 0;
    }
    if (parsed.command === 'ses-smtp-password') return await sesSmtpPassword(parsed, io);
    if (parsed.command === 'cost') return await (await import('./cost.js')).costCommand(parsed, io);
    if (parsed.command === 'plan') return await (await import('./plan.js')).planCommand(parsed, io);
    if (parsed.command === 'tlsrpt') return await (await import('./tlsrpt.js')).tlsrptCommand(parsed, io);
    const store = openStateFile(stringOption(parsed.values, 'state'));
    const ran = await execute(parsed, io);
    const state =
      store && (await applyState(store, ran, parsed.command === 'run' ? policiesOf(runShards(parsed)) : undefined));
    const results = state?.results ?? ran;
    const json = parsed.values.json === true;
    io.stdout.write(json ? jsonDocument(results) : formatResults(results, { color: useColor(io) }));
    if (state && !json) io.stdout.write(formatNotices(store.path, state.notices));
    if (parsed.values['explain-alerts'] === true) {
      // The SNS message each failing target would send on its first failure (issue: alerts say what broke).
      for (const result of results.filter((r) => r.status !== 'ok')) {
        io.stdout.write(`\n${explainAlert(result, { redact: (text) => text, now: Date.now() })}`);
      }
    }
    return results.some((r) => r.status === 'critical') ? 1 : 0;
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof PlanError ||
      err instanceof SesPresetError
    ) {
      io.stderr.write(`mailprobe: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function useColor(io: Io): boolean {
  return io.stdout.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}

function thresholdsFrom(values: Parsed['values'], base: Thresholds = DEFAULT_THRESHOLDS): Thresholds {
  const warnDays = intOption(values, 'warn-days', 0, 3650, base.warnDays);
  const criticalDays = intOption(values, 'critical-days', 0, 3650, base.criticalDays);
  if (criticalDays > warnDays) {
    throw new UsageError(`--critical-days (${criticalDays}) must not exceed --warn-days (${warnDays})`);
  }
  return { warnDays, criticalDays, minDhBits: intOption(values, 'min-dh-bits', 0, 16384, base.minDhBits) };
}

function contextFrom(values: Parsed['values']): ProbeContext {
  const dnsServer = stringOption(values, 'dns-server');
  const timeoutMs = intOption(values, 'timeout', 100, 600_000, DEFAULT_TIMEOUT_MS);
  let resolver;
  try {
    // c-ares gives up after about 3 × its timeout (two tries, doubling): sized so that even a
    // query nobody cancels ends by --timeout and cannot hold the process past it.
    const dnsTimeoutMs = Math.max(50, Math.min(3000, Math.floor(timeoutMs / 3)));
    resolver = createResolver({ ...(dnsServer !== undefined ? { server: dnsServer } : {}), timeoutMs: dnsTimeoutMs });
  } catch (err) {
    throw new UsageError(`--dns-server: ${(err as Error).message}`);
  }
  const caFiles = (values['ca-file'] as string[] | undefined) ?? [];
  return createContext({
    resolver,
    extraCa: readCaFiles(caFiles),
    allowPrivate: values['allow-private'] === true,
    thresholds: thresholdsFrom(values),
    timeoutMs,
    dnssec: dnssecSettings(values),
  });
}

/** `--policy-port` / `--mx-port`: MTA-STS against local servers (production uses 443 and 25). */
function engineDeps(values: Parsed['values']): EngineDeps {
  const policyPort = values['policy-port'] === undefined ? undefined : intOption(values, 'policy-port', 1, 65535, 443);
  const mxPort = values['mx-port'] === undefined ? undefined : intOption(values, 'mx-port', 1, 65535, 25);
  return {
    mtaSts: { ...(policyPort !== undefined ? { policyPort } : {}), ...(mxPort !== undefined ? { mxPort } : {}) },
    dane: mxPort !== undefined ? { mxPort } : {},
  };
}

function credentialSource(values: Parsed['values']): CredentialSource | undefined {
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
function endpointOf(parsed: Parsed): { host: string; port: number; name?: string; ehloName?: string } {
  const { host, port } = parseHostPort(singleTarget(parsed, 'HOST[:PORT]'), 25);
  const name = stringOption(parsed.values, 'name');
  const ehloName = stringOption(parsed.values, 'ehlo');
  return { host, port, ...(name !== undefined ? { name } : {}), ...(ehloName !== undefined ? { ehloName } : {}) };
}

function singleTarget(parsed: Parsed, what: string): string {
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`${parsed.command}: expected exactly one ${what}, got ${parsed.positionals.length}`);
  }
  return parsed.positionals[0] as string;
}

function tlsPolicyOf(values: Parsed['values']): { tlsPolicy?: TlsPolicy } {
  const tlsPolicy = parseTlsPolicy(stringOption(values, 'tls-policy'));
  return tlsPolicy !== undefined ? { tlsPolicy } : {};
}

async function execute(parsed: Parsed, io: Io): Promise<CheckResult[]> {
  const { values } = parsed;
  const concurrency = intOption(values, 'concurrency', 1, 1024, DEFAULT_CONCURRENCY);
  switch (parsed.command) {
    case 'smtp': {
      const auth = credentialSource(values);
      const from = stringOption(values, 'mail-from');
      const to = stringOption(values, 'rcpt-to');
      if ((from === undefined) !== (to === undefined)) throw new UsageError('--mail-from and --rcpt-to go together');
      const spec: SmtpCheckSpec = {
        check: 'smtp',
        ...endpointOf(parsed),
        tls: parseTlsMode(stringOption(values, 'tls'), true),
        ...tlsPolicyOf(values),
        ...(auth !== undefined ? { auth } : {}),
        ...(from !== undefined && to !== undefined ? { testMessage: { from, to } } : {}),
      };
      return runChecks([spec], contextFrom(values), { deps: { credentials: { env: io.env } } });
    }
    case 'tls': {
      const spec: TlsCheckSpec = {
        check: 'tls',
        ...endpointOf(parsed),
        tls: parseTlsMode(stringOption(values, 'tls'), false) as TlsCheckSpec['tls'],
        ...tlsPolicyOf(values),
      };
      return runChecks([spec], contextFrom(values));
    }
    case 'mta-sts': {
      if (parsed.positionals.length === 0) throw new UsageError('mta-sts: expected one or more DOMAINs');
      const specs: CheckSpec[] = parsed.positionals.map((d) => {
        if (!/^[A-Za-z0-9.-]+\.?$/.test(d) || !d.includes('.'))
          throw new UsageError(`mta-sts: "${d}" is not a domain name`);
        return { check: 'mta-sts', domain: d.replace(/\.$/, '').toLowerCase() };
      });
      return runChecks(specs, contextFrom(values), { concurrency, deps: engineDeps(values) });
    }
    case 'ses': {
      const region = singleTarget(parsed, 'REGION');
      const ports = parsePorts(stringOption(values, 'ports'));
      const smtp = expandSesPreset({ region, ...(ports ? { ports } : {}), fips: values.fips === true });
      const specs: CheckSpec[] = [...smtp];
      if (values.posture === true) {
        specs.push(...expandSesTlsPreset({ region, ...(ports ? { ports } : {}), fips: values.fips === true }));
      }
      return runChecks(specs, contextFrom(values), { concurrency });
    }
    case 'dane':
      return daneCommand(parsed, contextFrom(values), concurrency);
    case 'run':
      return runConfig(parsed, io);
    case 'ses-smtp-password':
    case 'cost':
    case 'plan':
    case 'tlsrpt':
      throw new UsageError('unreachable');
  }
}

function runShards(parsed: Parsed) {
  return planConfig(loadConfig(stringOption(parsed.values, 'config') ?? 'mailprobe.config.yaml')).shards;
}

/** Exactly what the deployed probes run: the same plan, shard by shard, same thresholds. */
async function runConfig(parsed: Parsed, io: Io): Promise<CheckResult[]> {
  const { values } = parsed;
  const path = stringOption(values, 'config') ?? 'mailprobe.config.yaml';
  // A terminal usually reaches port 25: `mx: auto` probes the MX hosts here (only `never` skips them).
  const plan = planConfig(loadConfig(path), { port25Reachable: true });
  const only = (values.only as string[] | undefined) ?? [];
  const base = contextFrom(values);
  const known = new Set(plan.shards.flatMap((s) => s.specs.map((spec) => nameOf(spec))));
  for (const name of only) {
    if (!known.has(name))
      throw new UsageError(`--only ${name}: no target of that name in ${path} (names: ${[...known].join(', ')})`);
  }
  const results: CheckResult[] = [];
  for (const shard of plan.shards) {
    const specs = only.length > 0 ? shard.specs.filter((s) => only.includes(nameOf(s))) : shard.specs;
    if (specs.length === 0) continue;
    const ctx: ProbeContext = {
      ...base,
      thresholds: thresholdsFrom(values, shard.thresholds),
      allowPrivate: base.allowPrivate || shard.allowPrivate,
      // --trust-anchor wins over the config's dnssec.trustAnchors.
      dnssec: { ...dnssecFromShard(shard.trustAnchors), ...base.dnssec },
    };
    results.push(
      ...(await runChecks(specs, ctx, {
        concurrency: shard.concurrency,
        deps: { ...engineDeps(values), credentials: { env: io.env } },
      })),
    );
  }
  return results;
}

async function sesSmtpPassword(parsed: Parsed, io: Io): Promise<number> {
  const region = stringOption(parsed.values, 'region');
  if (region === undefined)
    throw new UsageError('ses-smtp-password: --region is required (the password differs per region)');
  const keyEnv = stringOption(parsed.values, 'key-env');
  let key: string | undefined;
  if (keyEnv !== undefined) {
    key = io.env[keyEnv];
    if (key === undefined || key === '')
      throw new UsageError(`ses-smtp-password: environment variable ${keyEnv} is not set`);
  } else {
    if (io.stdin.isTTY === true) io.stderr.write('Paste the IAM secret access key, then press Enter:\n');
    key = (await readAll(io.stdin)).trim();
    if (key === '')
      throw new UsageError('ses-smtp-password: no secret access key on standard input (or use --key-env VAR)');
  }
  try {
    io.stdout.write(`${deriveSesSmtpPassword(key, region)}\n`);
  } catch (err) {
    throw new UsageError(`ses-smtp-password: ${(err as Error).message}`);
  }
  return 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > 4096) throw new UsageError('ses-smtp-password: standard input is too long for a secret access key');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
