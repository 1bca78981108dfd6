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
 * Splits `VERSION ";" *WSP field ... [*WSP ";" *WSP]` into fields. The version tag is
 * case-sensitive (`%s"..."` in both grammars), and the record must begin with the tag and
 * its ";" with nothing in between: RFC 8461 §3.1 and RFC 8460 §3 tell senders to discard
 * records that do not begin with "v=STSv1;" / "v=TLSRPTv1;" (the ABNF's `*WSP` before
 * the first ";" contradicts that rule, RFC 8461 erratum 6285; senders follow the rule).
 * Whitespace is otherwise allowed only around later ";" delimiters.
 */
export function splitTagRecord(text: string, version: string): { fields: RawField[]; errors: ParseIssue[] } {
  const errors: ParseIssue[] = [];
  const problem = versionTagProblem(text, version);
  if (problem !== undefined) {
    errors.push({ message: problem });
    return { fields: [], errors };
  }
  // The text after the tag begins with the ";" checked above, so pieces[0] is empty.
  const pieces = text.slice(version.length).split(';');
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

/**
 * What keeps `text` from beginning with `VERSION;` as senders require (RFC 8461 §3.1,
 * RFC 8460 §3), named precisely, or undefined when it does. The near misses seen in the
 * wild: the tag in another case (`v=STSV1`), spaces (` v=STSv1`, `v = STSv1`,
 * `v=STSv1 ;`), and a missing ";" (`v=STSv1 id=…`).
 */
export function versionTagProblem(text: string, version: string): string | undefined {
  if (text.startsWith(`${version};`)) return undefined;
  const discarded = `senders discard a record that does not begin with "${version};"`;
  if (/^[ \t]/.test(text)) return `leading whitespace before ${version}: ${discarded}`;
  const [tag = '', value = ''] = version.split('=');
  const loose = new RegExp(`^${tag}[ \t]*=[ \t]*${value}`, 'i').exec(text);
  if (loose !== null && loose[0].length !== version.length) {
    return `no spaces are allowed around "=" in the version tag: write ${version}; (${discarded})`;
  }
  const head = text.slice(0, version.length);
  if (head !== version) {
    if (head.toLowerCase() === version.toLowerCase()) {
      return `the version tag is case-sensitive: write exactly ${version}, found ${show(head)} (${discarded})`;
    }
    return `record must start with ${show(`${version};`)}, found ${show(text.slice(0, 20))}`;
  }
  const rest = text.slice(version.length);
  if (rest === '') return `nothing follows ${version}: a ";" and the fields are required`;
  if (/^[ \t]+;/.test(rest)) return `remove the whitespace between ${version} and ";": ${discarded}`;
  if (/^[ \t]/.test(rest))
    return `a ";" must follow ${version} directly, found ${show(rest.slice(0, 20))}: write "${version}; …" (${discarded})`;
  return `a ";" must follow ${version}, found ${show(rest.slice(0, 20))} (${discarded})`;
}

/**
 * True for a record that looks like an attempt at this record type (RFC 8461 §3.1 / RFC 8460
 * §3 near misses: case, spacing, a missing ";"), so the owner hears what is wrong with it
 * instead of being told the record does not exist.
 */
export function isNearMiss(text: string, version: string): boolean {
  const [tag = '', value = ''] = version.split('=');
  return new RegExp(`^[ \t]*${tag}[ \t]*=[ \t]*${value}`, 'i').test(text);
}

export type TxtSelection =
  | { readonly kind: 'none' }
  | { readonly kind: 'multiple'; readonly records: readonly string[] }
  | { readonly kind: 'one'; readonly record: string };

/**
 * Picks the record of a TXT RRset (RFC 8461 §3.1, RFC 8460 §3): each record's strings are
 * concatenated, records not beginning with `VERSION;` are discarded, exactly one must
 * remain. When none remains, a lone near miss (another case, stray spaces, no ";") is kept
 * so the owner is told what is wrong with it rather than that it does not exist; senders
 * still discard it, so the check reports it as invalid.
 */
export function selectTxtRecord(records: readonly (readonly string[])[], version: string): TxtSelection {
  const joined = records.map((strings) => strings.join(''));
  const strict = joined.filter((r) => r.startsWith(`${version};`));
  if (strict.length > 1) return { kind: 'multiple', records: strict };
  if (strict.length === 1) return { kind: 'one', record: strict[0] ?? '' };
  const loose = joined.filter((r) => isNearMiss(r, version));
  if (loose.length === 1) return { kind: 'one', record: loose[0] ?? '' };
  if (loose.length > 1) return { kind: 'multiple', records: loose };
  return { kind: 'none' };
}

/** `line 3: mode must be …` for issues tied to a line, the bare message otherwise. */
export function formatIssue(issue: ParseIssue): string {
  return issue.line === undefined ? issue.message : `line ${issue.line}: ${issue.message}`;
}
