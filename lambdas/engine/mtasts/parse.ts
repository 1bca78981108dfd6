/**
 * Pure parsers for MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): the `_mta-sts` TXT record
 * (here), the policy file (policy.ts), the MX pattern matcher (mx-pattern.ts) and the
 * `_smtp._tls` record (tlsrpt.ts). No I/O, never throws: every outcome is a typed result
 * whose errors say what is wrong (and on which line, for the policy), so the check can turn
 * them into findings a domain owner can act on.
 *
 * The parsers are deliberately strict: a validator that accepts what the RFC grammar does
 * not would hide exactly the drift senders trip over.
 */
import type { ExtensionField, ParseIssue, ParseResult, TxtSelection } from './syntax.js';
import { checkExtension, fail, selectTxtRecord, show, splitTagRecord } from './syntax.js';

// --- STS TXT record (RFC 8461 §3.1) -----------------------------------------------------

export interface StsRecord {
  readonly id: string;
  readonly extensions: readonly ExtensionField[];
}

const STS_VERSION = 'v=STSv1';
// sts-id = %s"id=" 1*32(ALPHA / DIGIT)
const STS_ID = /^[A-Za-z0-9]{1,32}$/;

/** Parses one `_mta-sts` TXT record (its strings already concatenated, §3.1). */
export function parseStsRecord(text: string): ParseResult<StsRecord> {
  const { fields, errors } = splitTagRecord(text, STS_VERSION);
  if (errors.length > 0 && fields.length === 0) return fail(errors);
  const warnings: ParseIssue[] = [];
  const extensions: ExtensionField[] = [];
  let id: string | undefined;
  for (const field of fields) {
    if (field.name === '' && field.value === '') {
      errors.push({ message: `field ${show(field.raw)} has no "=" (fields are name=value)` });
    } else if (field.name === 'id') {
      if (!STS_ID.test(field.value)) {
        const why =
          field.value.length === 0
            ? 'it is empty'
            : field.value.length > 32
              ? `it has ${field.value.length} characters`
              : 'it contains characters other than letters and digits';
        errors.push({ message: `id must be 1–32 letters or digits, but ${why}: ${show(field.value)}` });
      } else if (id !== undefined) {
        // §3.2's "first instance wins" rule, applied to the TXT record as senders do.
        warnings.push({ message: `id appears more than once; senders use the first (${show(id)})` });
      } else {
        id = field.value;
      }
    } else if (checkExtension(field, errors)) {
      if (field.name.toLowerCase() === 'id') {
        errors.push({ message: `field names are case-sensitive: ${show(field.name)} is not "id"` });
      }
      extensions.push({ name: field.name, value: field.value });
    }
  }
  if (id === undefined && !errors.some((e) => e.message.startsWith('id '))) {
    errors.push({ message: 'the required id field is missing (e.g. id=20240101T000000)' });
  }
  if (errors.length > 0 || id === undefined) return fail(errors);
  return { ok: true, value: { id, extensions }, warnings };
}

export function selectStsRecord(records: readonly (readonly string[])[]): TxtSelection {
  return selectTxtRecord(records, STS_VERSION);
}

export type { ExtensionField, ParseIssue, ParseResult, TxtSelection } from './syntax.js';
export { selectTxtRecord, show } from './syntax.js';
export { coveringPattern, mxMatches, mxPatternError, normaliseHost } from './mx-pattern.js';
export { MAX_AGE_LIMIT, parsePolicy, type StsMode, type StsPolicy } from './policy.js';
export { parseTlsRptRecord, selectTlsRptRecord, type TlsRptRecord } from './tlsrpt.js';
