/**
 * Command-line parsing and validation. Every mistake becomes a UsageError whose message
 * says what to fix; the CLI exits 2 for it (DESIGN.md §4).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ipFamily } from '../../lambdas/engine/net/ip.js';
import type { TlsMode } from '../../lambdas/engine/result.js';
import { isTlsPolicy, TLS_POLICIES, type TlsPolicy } from '../../lambdas/engine/tls/policy.js';
import { fileErrorReason } from '../../lib/fs-errors.js';
import { closestName } from '../../lib/suggest.js';
import { MailprobeError } from '../../lambdas/engine/errors.js';

export class UsageError extends MailprobeError {
  override readonly name = 'UsageError';
  /** The user's to fix: one line, exit 2. */
  override readonly userFacing = true;
}

/** Every command takes these. */
export const GENERAL_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The commands that run checks take these too; `cost`, `plan`, `tlsrpt` and `ses-smtp-password` do not. */
export const COMMON_OPTIONS = {
  ...GENERAL_OPTIONS,
  timeout: { type: 'string' },
  'dns-server': { type: 'string' },
  'ca-file': { type: 'string', multiple: true },
  'allow-private': { type: 'boolean' },
  'warn-days': { type: 'string' },
  'critical-days': { type: 'string' },
  'min-dh-bits': { type: 'string' },
  concurrency: { type: 'string' },
  state: { type: 'string' },
  output: { type: 'string', short: 'o' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  quiet: { type: 'boolean', short: 'q' },
  severity: { type: 'string' },
} as const;

export const COMMAND_OPTIONS = {
  smtp: {
    tls: { type: 'string' },
    sni: { type: 'string' },
    debug: { type: 'boolean' },
    user: { type: 'string' },
    'password-env': { type: 'string' },
    'auth-secret': { type: 'string' },
    ehlo: { type: 'string' },
    'mail-from': { type: 'string' },
    'rcpt-to': { type: 'string' },
    name: { type: 'string' },
    'tls-policy': { type: 'string' },
  },
  tls: {
    tls: { type: 'string' },
    sni: { type: 'string' },
    ehlo: { type: 'string' },
    name: { type: 'string' },
    'tls-policy': { type: 'string' },
  },
  'mta-sts': {
    'domains-file': { type: 'string', multiple: true },
    mx: { type: 'string', multiple: true },
    'policy-port': { type: 'string' },
    'mx-port': { type: 'string' },
    'trust-anchor': { type: 'string', multiple: true },
  },
  dane: {
    'domains-file': { type: 'string', multiple: true },
    'trust-anchor': { type: 'string', multiple: true },
    'mx-port': { type: 'string' },
  },
  'sender-auth': {
    'domains-file': { type: 'string', multiple: true },
    'dkim-selector': { type: 'string', multiple: true },
  },
  ses: { ports: { type: 'string' }, fips: { type: 'boolean' }, posture: { type: 'boolean' } },
  run: {
    config: { type: 'string', short: 'c' },
    only: { type: 'string', multiple: true },
    'explain-alerts': { type: 'boolean' },
    'policy-port': { type: 'string' },
    'mx-port': { type: 'string' },
    'trust-anchor': { type: 'string', multiple: true },
  },
  'ses-smtp-password': { region: { type: 'string' }, 'key-env': { type: 'string' } },
  cost: {
    config: { type: 'string', short: 'c' },
    'dashboard-hours': { type: 'string' },
    'dashboard-refresh': { type: 'string' },
  },
  plan: { config: { type: 'string', short: 'c' } },
  tlsrpt: {},
  flow: {
    via: { type: 'string' },
    tls: { type: 'string' },
    'tls-policy': { type: 'string' },
    user: { type: 'string' },
    'password-env': { type: 'string' },
    'auth-secret': { type: 'string' },
    ehlo: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    imap: { type: 'string' },
    'imap-user': { type: 'string' },
    'imap-password-env': { type: 'string' },
    'imap-secret': { type: 'string' },
    'imap-tls': { type: 'string' },
    'imap-folder': { type: 'string' },
    'imap-junk': { type: 'string' },
    'wait-ses': { type: 'string' },
    table: { type: 'string' },
    'key-secret': { type: 'string' },
    'max-wait': { type: 'string' },
    'warn-seconds': { type: 'string' },
    'key-env': { type: 'string' },
    name: { type: 'string' },
  },
} as const;

export type Command = keyof typeof COMMAND_OPTIONS;

/** Commands that run no check: probe options (`--timeout`, `--ca-file`, …) mean nothing to them. */
export const NON_PROBE_COMMANDS: ReadonlySet<Command> = new Set<Command>([
  'ses-smtp-password',
  'cost',
  'plan',
  'tlsrpt',
]);

/** The options a command accepts: its own, plus the general or the common probe options. */
export function optionsOf(command: Command) {
  return { ...(NON_PROBE_COMMANDS.has(command) ? GENERAL_OPTIONS : COMMON_OPTIONS), ...COMMAND_OPTIONS[command] };
}

export function isCommand(value: string | undefined): value is Command {
  return value !== undefined && Object.prototype.hasOwnProperty.call(COMMAND_OPTIONS, value);
}

export interface Parsed {
  readonly command: Command;
  readonly positionals: string[];
  readonly values: Record<string, string | boolean | string[] | undefined>;
}

export function parseCommandLine(argv: readonly string[]): Parsed | 'help' {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return 'help';
  if (!isCommand(command)) {
    throw new UsageError(`unknown command "${command}": expected one of ${Object.keys(COMMAND_OPTIONS).join(', ')}`);
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: optionsOf(command),
      allowPositionals: true,
      strict: true,
    });
    // Checked before any probe runs, so a typo costs no run.
    const checked = values as Parsed['values'];
    parseSeverity(typeof checked['severity'] === 'string' ? checked['severity'] : undefined);
    return { command, positionals, values: checked };
  } catch (err) {
    throw new UsageError(`${describeParseError(err, command)} (see mailprobe ${command} --help)`);
  }
}

/**
 * Node's parseArgs text ("Unknown option '--x'. To specify a positional argument starting
 * with a '-', place it at the end of the command after '--', as in '-- \"--x\"") in a
 * sentence, with the option the user most likely meant.
 */
function describeParseError(err: unknown, command: Command): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /option '(-{1,2}[\w-]+)/i.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    const known = Object.keys(optionsOf(command));
    const near = closestName(option.replace(/^-+/, ''), known);
    return `unknown option ${option}${near === undefined ? '' : `; did you mean --${near}?`}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    return /argument missing/i.test(message) ? `option ${option} needs a value` : `option ${option} takes no value`;
  }
  return message;
}

/** `--severity`: the least severe finding the table shows. */
export function parseSeverity(value: string | undefined): 'warning' | 'critical' | undefined {
  if (value === undefined) return undefined;
  if (value !== 'warning' && value !== 'critical') {
    throw new UsageError(`--severity: expected warning|critical, got "${value}"`);
  }
  return value;
}

/** A whole number in range, or a UsageError naming the option and the value received. */
export function intOption(values: Parsed['values'], name: string, min: number, max: number, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) {
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got "${String(raw)}"`);
  }
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`--${name}: expected ${min}–${max}, got ${n}`);
  return n;
}

export function stringOption(values: Parsed['values'], name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 literal. */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  let host = value;
  let port = String(defaultPort);
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = bracketed[2];
  } else if (ipFamily(value) === 6) {
    host = value;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
  }
  if (host === '' || /[\s/@]/.test(host)) throw new UsageError(`"${value}": expected HOST[:PORT]`);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new UsageError(`"${value}": port must be 1–65535, got "${port}"`);
  }
  return { host, port: Number(port) };
}

export function parseTlsMode(value: string | undefined, allowNone: boolean): TlsMode {
  if (value === undefined) return 'auto';
  const modes = allowNone ? ['auto', 'starttls', 'implicit', 'none'] : ['auto', 'starttls', 'implicit'];
  if (!modes.includes(value)) throw new UsageError(`--tls: expected ${modes.join('|')}, got "${value}"`);
  return value as TlsMode;
}

/** `--tls-policy`: how the sender using the target acts on TLS problems (tls/policy.ts). */
export function parseTlsPolicy(value: string | undefined): TlsPolicy | undefined {
  if (value === undefined) return undefined;
  if (!isTlsPolicy(value)) throw new UsageError(`--tls-policy: expected ${TLS_POLICIES.join('|')}, got "${value}"`);
  return value;
}

export function parsePorts(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const ports = value.split(',').map((p) => p.trim());
  for (const p of ports) {
    if (!/^\d{1,5}$/.test(p))
      throw new UsageError(`--ports: expected a comma-separated list like 587,2587,465, got "${value}"`);
  }
  return ports.map(Number);
}

/** A domains file bigger than this is not an ad-hoc list (100,000 domains of 10 characters). */
export const MAX_DOMAINS_FILE_BYTES = 1 << 20;

/**
 * The DOMAIN arguments plus every `--domains-file` (one domain per line; blank lines and
 * `#` comments ignored), checked, lower-cased, without a trailing dot, each once.
 */
export function domainArguments(parsed: Parsed): string[] {
  const files = (parsed.values['domains-file'] as string[] | undefined) ?? [];
  const fromFiles = files.flatMap((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`--domains-file ${path}: cannot read it: ${fileErrorReason(err)}`);
    }
    if (Buffer.byteLength(text) > MAX_DOMAINS_FILE_BYTES) {
      throw new UsageError(`--domains-file ${path}: larger than ${MAX_DOMAINS_FILE_BYTES} bytes; split it`);
    }
    return text
      .split(/\r?\n/)
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '');
  });
  const all = [...parsed.positionals, ...fromFiles];
  if (all.length === 0)
    throw new UsageError(`${parsed.command}: expected one or more DOMAINs (or --domains-file FILE)`);
  return [
    ...new Set(
      all.map((d) => {
        if (!/^[A-Za-z0-9._-]+\.?$/.test(d) || !d.includes('.')) {
          throw new UsageError(`${parsed.command}: "${d}" is not a domain name`);
        }
        return d.replace(/\.$/, '').toLowerCase();
      }),
    ),
  ];
}

/** Reads every --ca-file; each must hold at least one PEM certificate. */
export function readCaFiles(paths: readonly string[]): string[] {
  return paths.map((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca-file ${path}: cannot read it: ${fileErrorReason(err)}`);
    }
    if (!text.includes('-----BEGIN CERTIFICATE-----')) {
      throw new UsageError(`--ca-file ${path}: no PEM certificate ("-----BEGIN CERTIFICATE-----") found`);
    }
    return text;
  });
}
