/**
 * Shared pieces of the MTA-STS and TLS-RPT parsers: the typed parse result and the
 * tag-value record grammar both TXT records use (RFC 8461 §3.1, RFC 8460 §3). Pure.
 */

export interface ParseIssue {
  /** 1-based line of the policy file the issue is on (absent for TXT records and file-wide issues). */
  readonly line?: number;
  readonly message: string;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly ParseIssue[] }
  | { readonly ok: false; readonly errors: readonly ParseIssue[] };

export interface ExtensionField {
  readonly name: string;
  readonly value: string;
}

export function fail<T>(errors: ParseIssue[]): ParseResult<T> {
  return { ok: false, errors };
}

/** Quotes a value for a message, escaping control characters so a message stays one line. */
export function show(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

// --- tag-value records (RFC 8461 §3.1, RFC 8460 §3) --------------------------------------

const WSP = /^[ \t]*$/;
const TRAILING_WSP = /[ \t]$/;
// RFC 8461 §3.1 sts-ext-name / RFC 8460 §3 tlsrpt-ext-name: a letter or digit, then up to 31 more.
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
// sts-ext-value / tlsrpt-ext-value: visible ASCII except "=" and ";" (and no spaces).
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

export interface RawField {
  readonly name: string;
  readonly value: string;
  readonly raw: string;
}

/**
 * Splits `VERSION *WSP ";" *WSP field ... [*WSP ";" *WSP]` into fields. The version tag is
 * case-sensitive (`%s"..."` in both grammars); whitespace is allowed only around `;`.
 */
export function splitTagRecord(text: string, version: string): { fields: RawField[]; errors: ParseIssue[] } {
  const errors: ParseIssue[] = [];
  if (!text.startsWith(version)) {
    const hint =
      text.slice(0, version.length).toLowerCase() === version.toLowerCase()
        ? ` (the version tag is case-sensitive: write exactly ${version})`
        : '';
    errors.push({ message: `record must start with ${show(version)}, found ${show(text.slice(0, 20))}${hint}` });
    return { fields: [], errors };
  }
  const pieces = text.slice(version.length).split(';');
  if (!WSP.test(pieces[0] ?? '')) {
    errors.push({ message: `expected ";" after ${version}, found ${show(pieces[0] ?? '')}` });
    return { fields: [], errors };
  }
  if (pieces.length === 1) {
    errors.push({ message: `no fields after ${version}` });
    return { fields: [], errors };
  }
  const fields: RawField[] = [];
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i] ?? '';
    const trimmed = piece.replace(/^[ \t]+|[ \t]+$/g, '');
    const last = i === pieces.length - 1;
    if (trimmed === '') {
      // A trailing ";" (optionally followed by spaces) is allowed; an empty field between two is not.
      if (!last) errors.push({ message: 'empty field between two ";" delimiters' });
      continue;
    }
    if (last && TRAILING_WSP.test(piece)) {
      errors.push({ message: `whitespace after the last field ${show(trimmed)} is only allowed before a ";"` });
    }
    const eq = trimmed.indexOf('=');
    if (eq < 0) {
      fields.push({ name: '', value: '', raw: trimmed });
      continue;
    }
    fields.push({ name: trimmed.slice(0, eq), value: trimmed.slice(eq + 1), raw: trimmed });
  }
  return { fields, errors };
}

export function checkExtension(field: RawField, errors: ParseIssue[]): boolean {
  if (!EXT_NAME.test(field.name)) {
    errors.push({ message: `invalid field name ${show(field.name)} in ${show(field.raw)}` });
    return false;
  }
  if (!EXT_VALUE.test(field.value)) {
    errors.push({
      message: `invalid value for field ${show(field.name)}: ${show(field.value)} (visible ASCII without spaces, "=" or ";")`,
    });
    return false;
  }
  return true;
}

export type TxtSelection =
  | { readonly kind: 'none' }
  | { readonly kind: 'multiple'; readonly records: readonly string[] }
  | { readonly kind: 'one'; readonly record: string };

/**
 * Picks the record of a TXT RRset (RFC 8461 §3.1, RFC 8460 §3): each record's strings are
 * concatenated, records not starting with the version tag are discarded, exactly one must
 * remain. A record whose tag differs only in case is kept when it is the only candidate, so
 * the owner is told what is wrong with it rather than that it does not exist.
 */
export function selectTxtRecord(records: readonly (readonly string[])[], version: string): TxtSelection {
  const joined = records.map((strings) => strings.join(''));
  const strict = joined.filter((r) => r.startsWith(version));
  if (strict.length > 1) return { kind: 'multiple', records: strict };
  if (strict.length === 1) return { kind: 'one', record: strict[0] ?? '' };
  const loose = joined.filter((r) => r.slice(0, version.length).toLowerCase() === version.toLowerCase());
  if (loose.length === 1) return { kind: 'one', record: loose[0] ?? '' };
  if (loose.length > 1) return { kind: 'multiple', records: loose };
  return { kind: 'none' };
}

/** `line 3: mode must be …` for issues tied to a line, the bare message otherwise. */
export function formatIssue(issue: ParseIssue): string {
  return issue.line === undefined ? issue.message : `line ${issue.line}: ${issue.message}`;
}
