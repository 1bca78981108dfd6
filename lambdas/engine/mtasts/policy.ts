/**
 * The MTA-STS policy file parser (RFC 8461 §3.2). Pure, never throws. Every error carries
 * the 1-based line it is on and says what is wrong and what was found, because the owner
 * reads it in an alert and fixes that line.
 */
import { mxPatternError } from './mx-pattern.js';
import type { ExtensionField, ParseIssue, ParseResult } from './syntax.js';
import { show } from './syntax.js';

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  readonly version: 'STSv1';
  readonly mode: StsMode;
  /** Seconds (§3.2 max_age). */
  readonly maxAge: number;
  /** The `mx:` patterns in file order. */
  readonly mx: readonly string[];
  readonly extensions: readonly ExtensionField[];
}

/** §3.2: max_age is at most 31557600 seconds (about one year). */
export const MAX_AGE_LIMIT = 31_557_600;

const MODES: readonly StsMode[] = ['enforce', 'testing', 'none'];
const KNOWN = ['version', 'mode', 'max_age', 'mx'] as const;
// sts-policy-ext-name: a letter or digit, then up to 31 letters, digits, "_", "-" or ".".
const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
// Control characters other than HTAB (WSP) are excluded from every value (§3.2 ext-value).
// eslint-disable-next-line no-control-regex
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;

function parseMaxAge(value: string): number | string {
  // sts-policy-max-age-value = 1*10(DIGIT): no sign, exponent, hex or fraction.
  if (!/^[0-9]+$/.test(value)) {
    return `max_age must be a whole number of seconds written with digits only, found ${show(value)}`;
  }
  if (value.length > 10) return `max_age has ${value.length} digits, at most 10 are allowed: ${show(value)}`;
  const seconds = Number(value);
  if (seconds > MAX_AGE_LIMIT) return `max_age ${value} exceeds the maximum of ${MAX_AGE_LIMIT} seconds`;
  return seconds;
}

/** Parses a policy body. Line ends are LF or CRLF (§3.2 sts-policy-term); one final line end is optional. */
export function parsePolicy(text: string): ParseResult<StsPolicy> {
  const errors: ParseIssue[] = [];
  const warnings: ParseIssue[] = [];
  if (text.length === 0) return { ok: false, errors: [{ message: 'the policy is empty' }] };
  // Editors on Windows like to add one; it makes the first field name unreadable to senders.
  if (text.startsWith('\uFEFF')) {
    return {
      ok: false,
      errors: [{ line: 1, message: 'the file starts with a byte-order mark (U+FEFF); save it without one' }],
    };
  }

  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();

  let version: string | undefined;
  let mode: StsMode | undefined;
  let maxAge: number | undefined;
  const mx: string[] = [];
  const extensions: ExtensionField[] = [];
  const firstSeen = new Map<string, number>();

  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const content = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const err = (message: string): void => void errors.push({ line, message });
    if (content.length === 0) return err('blank line (§3.2 allows no empty lines between fields)');
    if (content.includes('\r')) return err('carriage return not followed by a line feed (use LF or CRLF)');
    if (/^[ \t]/.test(content)) return err(`leading whitespace before the field name: ${show(content)}`);
    const colon = content.indexOf(':');
    if (colon < 0) return err(`expected "name: value", found ${show(content)}`);
    const name = content.slice(0, colon);
    const value = content.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[ \t]$/.test(name) && FIELD_NAME.test(name.trimEnd())) {
      return err(`no whitespace is allowed between ${show(name.trimEnd())} and ":"`);
    }
    if (!FIELD_NAME.test(name)) return err(`invalid field name ${show(name)}`);
    if (CTL.test(value)) return err(`the value of ${name} contains a control character: ${show(value)}`);

    const first = firstSeen.get(name);
    if (first === undefined) firstSeen.set(name, line);
    // §3.2: when a field appears more than once, senders use the first; mx is the exception (one per MX).
    const duplicate = first !== undefined && name !== 'mx';
    const dupWarning = (): void =>
      void warnings.push({ line, message: `${name} already given on line ${first}; this one is ignored` });

    switch (name) {
      case 'version':
        if (value !== 'STSv1') return err(`version must be STSv1 (case-sensitive), found ${show(value)}`);
        if (duplicate) return dupWarning();
        version = value;
        return;
      case 'mode': {
        const m = MODES.find((candidate) => candidate === value);
        if (m === undefined) {
          return err(`mode must be one of enforce, testing, none (case-sensitive), found ${show(value)}`);
        }
        if (duplicate) return dupWarning();
        mode = m;
        return;
      }
      case 'max_age': {
        const parsed = parseMaxAge(value);
        if (typeof parsed === 'string') return err(parsed);
        if (duplicate) return dupWarning();
        maxAge = parsed;
        return;
      }
      case 'mx': {
        const problem = mxPatternError(value);
        if (problem !== undefined) return err(problem);
        mx.push(value);
        return;
      }
      default: {
        // §3.2: unknown fields are ignored, but a known name in the wrong case is a likely typo.
        const known = KNOWN.find((k) => k === name.toLowerCase());
        if (known !== undefined) {
          warnings.push({
            line,
            message: `field names are case-sensitive: ${show(name)} is ignored, not read as ${known}`,
          });
        }
        if (value.length === 0) return err(`field ${show(name)} has an empty value`);
        if (!duplicate) extensions.push({ name, value });
        return;
      }
    }
  });

  if (version === undefined && !firstSeen.has('version'))
    errors.push({ message: 'the version field is missing (version: STSv1)' });
  if (mode === undefined && !firstSeen.has('mode'))
    errors.push({ message: 'the mode field is missing (mode: enforce, testing or none)' });
  if (maxAge === undefined && !firstSeen.has('max_age'))
    errors.push({ message: 'the max_age field is missing (e.g. max_age: 604800)' });
  // §3.2: mx "MUST be present once for each allowed MX, unless mode is none".
  if (mode !== undefined && mode !== 'none' && mx.length === 0 && !firstSeen.has('mx')) {
    errors.push({ message: `no mx field: at least one mx pattern is required when mode is ${mode}` });
  }
  if (errors.length > 0 || mode === undefined || maxAge === undefined || version === undefined) {
    return { ok: false, errors };
  }
  return { ok: true, value: { version: 'STSv1', mode, maxAge, mx, extensions }, warnings };
}
