/**
 * Keeping secrets out of results, logs and alerts. Kept apart from secrets.ts (which
 * imports the Secrets Manager client) so the SMTP session can mask a reply the moment it
 * arrives, before anything shortens it, without pulling the AWS SDK into every bundle.
 */
import type { Credentials } from './checks.js';

export const MASK = '********';

/**
 * Shortest piece of a secret form that is masked on its own. A reply cut at 300
 * characters, or a line wrapped by a server, can hold a prefix or suffix of the AUTH
 * PLAIN blob; 8 base64 characters are 6 bytes of it. Shorter pieces are too common in
 * ordinary text to mask without garbling it (and too short to be worth much).
 */
export const MIN_PIECE_CHARS = 8;

/**
 * The forms in which a password can appear on the wire or in a transcript: as is,
 * base64 (AUTH LOGIN sends it alone), and the AUTH PLAIN blob (RFC 4616:
 * base64 of NUL user NUL password). Mask all of them, not only the plain text.
 */
export function credentialSecrets(credentials: Credentials): string[] {
  const { username, password } = credentials;
  return [
    password,
    Buffer.from(password, 'utf8').toString('base64'),
    Buffer.from(`\0${username}\0${password}`, 'utf8').toString('base64'),
    Buffer.from(`${username}\0${username}\0${password}`, 'utf8').toString('base64'),
  ];
}

/**
 * Replaces every occurrence of each secret in `text` with MASK, and every run of text
 * made of overlapping MIN_PIECE_CHARS-long pieces of a secret (so any piece of 8 or more
 * characters, wherever a quote was cut). Secrets shorter than that are masked whole.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const list = [...new Set(secrets.filter((s) => s.length > 0))];
  if (list.length === 0 || text.length === 0) return text;
  const windows = new Set<string>();
  for (const secret of list) {
    for (let i = 0; i + MIN_PIECE_CHARS <= secret.length; i += 1) windows.add(secret.slice(i, i + MIN_PIECE_CHARS));
  }
  const masked = new Uint8Array(text.length);
  if (windows.size > 0) {
    for (let i = 0; i + MIN_PIECE_CHARS <= text.length; i += 1) {
      if (windows.has(text.slice(i, i + MIN_PIECE_CHARS))) masked.fill(1, i, i + MIN_PIECE_CHARS);
    }
  }
  for (const secret of list.filter((s) => s.length < MIN_PIECE_CHARS)) {
    for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + secret.length)) {
      masked.fill(1, at, at + secret.length);
    }
  }
  let out = '';
  for (let i = 0; i < text.length;) {
    if (masked[i] === 1) {
      while (i < text.length && masked[i] === 1) i += 1;
      out += MASK;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/**
 * Keys that identify a result (metric dimensions, alert keys, codes), and `hint`, which is
 * mailprobe's own advice from the catalogue and never holds text from outside: masking
 * never rewrites them. (A password "mypassword-1" must not turn the hint's "user name and
 * password" into "user name and ********".)
 */
const STRUCTURAL_KEYS: ReadonlySet<string> = new Set([
  'hint',
  'check',
  'target',
  'name',
  'status',
  'startedAt',
  'host',
  'port',
  'domain',
  'region',
  'address',
  'code',
  'severity',
  'stage',
  'tlsMode',
]);

/**
 * Masks secrets in a result's free text (finding messages, server replies, greetings) and
 * leaves its identifiers alone: a password that happens to be "smtp" must not turn the
 * check's name into "********" and with it every metric dimension and alarm.
 */
export function maskResultText<T>(value: T, secrets: readonly string[]): T {
  if (secrets.every((s) => s.length === 0)) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, STRUCTURAL_KEYS.has(k) ? x : walk(x)]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * A deep copy of `value` with every string redacted: for errors and log records before
 * they are printed. Errors become `{ name, message, code? }`.
 */
export function maskSecrets<T>(value: T, secrets: readonly string[]): T {
  return maskValue(value, secrets, new WeakSet()) as T;
}

function maskValue(value: unknown, secrets: readonly string[], seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: redact(value.message, secrets),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((item) => maskValue(item, secrets, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = maskValue(item, secrets, seen);
  return out;
}
