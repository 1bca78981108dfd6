/**
 * The TLS-RPT record parser (RFC 8460 §3): `_smtp._tls.DOMAIN TXT "v=TLSRPTv1; rua=…"`.
 * Pure, never throws. The common mistakes get a message that says how to fix them: a bare
 * address without `mailto:`, an `http:` URI, several URIs separated by `;` instead of `,`.
 */
import type { ExtensionField, ParseIssue, ParseResult, TxtSelection } from './syntax.js';
import { checkExtension, fail, selectTxtRecord, show, splitTagRecord } from './syntax.js';

export interface TlsRptRecord {
  /** The reporting URIs of `rua=`, in order. */
  readonly rua: readonly string[];
  readonly extensions: readonly ExtensionField[];
}

const TLSRPT_VERSION = 'v=TLSRPTv1';

export function selectTlsRptRecord(records: readonly (readonly string[])[]): TxtSelection {
  return selectTxtRecord(records, TLSRPT_VERSION);
}

function looksLikeUri(text: string): boolean {
  return /^(mailto|https?):/i.test(text) || /^[^\s@=]+@[^\s@=]+$/.test(text);
}

/** What is wrong with one rua URI (§3: "mailto:" or "https:"), or undefined. */
function ruaUriError(uri: string): string | undefined {
  if (uri === '') return 'rua contains an empty URI (check for a stray ",")';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1];
  if (scheme === undefined) {
    if (uri.includes('@')) return `rua URI ${show(uri)} has no scheme: write mailto:${uri}`;
    return `rua URI ${show(uri)} has no scheme: use mailto:ADDRESS or https://HOST/PATH`;
  }
  const lower = scheme.toLowerCase();
  if (lower === 'http') return `rua URI ${show(uri)} uses http:, which RFC 8460 does not allow: use https:`;
  if (lower === 'mailto') {
    const address = uri.slice(scheme.length + 1);
    if (!/^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/.test(address)) {
      return `rua URI ${show(uri)} is not mailto: followed by one e-mail address`;
    }
    return undefined;
  }
  if (lower === 'https') {
    if (!/^https:\/\/[^\s/]+/i.test(uri)) return `rua URI ${show(uri)} is not an absolute https:// URL`;
    return undefined;
  }
  return `rua URI ${show(uri)} uses the scheme ${scheme}:, but only mailto: and https: are defined`;
}

export function parseTlsRptRecord(text: string): ParseResult<TlsRptRecord> {
  const { fields, errors } = splitTagRecord(text, TLSRPT_VERSION);
  if (errors.length > 0 && fields.length === 0) return fail(errors);
  const warnings: ParseIssue[] = [];
  const extensions: ExtensionField[] = [];
  let rua: string[] | undefined;
  for (const field of fields) {
    if (field.name === '' && field.value === '') {
      errors.push({
        message: looksLikeUri(field.raw)
          ? `${show(field.raw)} stands on its own after a ";": separate several rua URIs with "," (rua=URI1,URI2)`
          : `field ${show(field.raw)} has no "=" (fields are name=value)`,
      });
    } else if (field.name === 'rua') {
      if (rua !== undefined) {
        errors.push({ message: 'rua appears more than once: put all URIs in one rua= field, separated by ","' });
        continue;
      }
      // tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
      const uris = field.value.split(',').map((u) => u.replace(/^[ \t]+|[ \t]+$/g, ''));
      const uriErrors = uris.map(ruaUriError).filter((e): e is string => e !== undefined);
      for (const message of uriErrors) errors.push({ message });
      rua = uris;
    } else if (checkExtension(field, errors)) {
      if (field.name.toLowerCase() === 'rua') {
        errors.push({ message: `field names are case-sensitive: ${show(field.name)} is not "rua"` });
      }
      extensions.push({ name: field.name, value: field.value });
    }
  }
  if (rua === undefined) errors.push({ message: 'the required rua= field is missing (e.g. rua=mailto:tlsrpt@DOMAIN)' });
  if (errors.length > 0 || rua === undefined) return fail(errors);
  return { ok: true, value: { rua, extensions }, warnings };
}
