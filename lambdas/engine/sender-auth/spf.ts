/**
 * SPF record syntax (RFC 7208 §4.6, §5, §6), pure: no DNS here. The tree walk that counts
 * lookups is in spf-tree.ts.
 */

export type Qualifier = '+' | '-' | '~' | '?';

export type SpfTerm =
  | { readonly kind: 'mechanism'; readonly qualifier: Qualifier; readonly name: MechanismName; readonly value?: string }
  | { readonly kind: 'modifier'; readonly name: string; readonly value: string };

export type MechanismName = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';

export interface ParsedSpf {
  readonly terms: readonly SpfTerm[];
  /** Syntax errors: any one of them is a permerror (RFC 7208 §4.6). */
  readonly errors: readonly string[];
}

const MECHANISMS: ReadonlySet<string> = new Set(['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists']);
/** §4.6.4: the terms that cause DNS queries and count towards the limit of 10. */
export const DNS_TERMS: ReadonlySet<string> = new Set(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);

/** §4.5: a record is an SPF record when it is exactly `v=spf1` or starts with `v=spf1 `. */
export function isSpfRecord(txt: string): boolean {
  const lower = txt.toLowerCase();
  return lower === 'v=spf1' || lower.startsWith('v=spf1 ');
}

/**
 * A domain-spec as written in a record (§7.1): either it contains macros, which the probe
 * does not expand (they depend on the sender), or it must be a host name: printable ASCII
 * labels of 1–63 octets, a name of at most 253, and a top label that is not all digits
 * (§4.6.1 toplabel). A NUL or other control character is rejected here, before it can reach
 * a DNS query.
 */
export function domainSpecError(spec: string): string | undefined {
  if (spec.includes('%')) return undefined;
  if (/[^\x21-\x7e]/.test(spec)) return 'contains a control, space or non-ASCII character';
  const name = spec.replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return 'is not a host name';
  const labels = name.split('.');
  if (labels.some((l) => l.length === 0 || l.length > 63)) return 'has an empty or over-long label';
  const top = labels[labels.length - 1] ?? '';
  if (labels.length < 2 || /^[0-9]+$/.test(top) || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(top)) {
    return 'has no valid top-level label';
  }
  return undefined;
}

const IP4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(\/([0-9]|[12]\d|3[0-2]))?$/;

export function parseSpf(record: string): ParsedSpf {
  const terms: SpfTerm[] = [];
  const errors: string[] = [];
  const words = record.split(' ').filter((w) => w.length > 0);
  const seenModifiers = new Set<string>();
  for (const word of words.slice(1)) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(word);
    if (modifier !== null) {
      const name = (modifier[1] ?? '').toLowerCase();
      const value = modifier[2] ?? '';
      // §6: redirect and exp may each appear at most once.
      if ((name === 'redirect' || name === 'exp') && seenModifiers.has(name)) errors.push(`\`${name}=\` appears twice`);
      seenModifiers.add(name);
      if (name === 'redirect' || name === 'exp') {
        const bad = domainSpecError(value);
        if (bad !== undefined) errors.push(`\`${word}\`: the domain ${bad}`);
      }
      terms.push({ kind: 'modifier', name, value });
      continue;
    }
    const m = /^([+\-~?]?)([a-z0-9]+)(?:[:/](.*))?$/i.exec(word);
    const name = (m?.[2] ?? '').toLowerCase();
    if (m === null || !MECHANISMS.has(name)) {
      errors.push(`unknown term \`${word.slice(0, 64)}\``);
      continue;
    }
    const qualifier = ((m[1] ?? '') || '+') as Qualifier;
    // Keep the separator for a/mx's dual-cidr (`a/24`), strip it for `name:value`.
    const rest = word.slice((m[1] ?? '').length + name.length);
    const value = rest.startsWith(':') ? rest.slice(1) : rest.length > 0 ? rest : undefined;
    const error = mechanismError(name as MechanismName, value);
    if (error !== undefined) errors.push(`\`${word.slice(0, 64)}\`: ${error}`);
    terms.push({
      kind: 'mechanism',
      qualifier,
      name: name as MechanismName,
      ...(value !== undefined ? { value } : {}),
    });
  }
  return { terms, errors };
}

function mechanismError(name: MechanismName, value: string | undefined): string | undefined {
  switch (name) {
    case 'all':
      return value === undefined ? undefined : '`all` takes no argument';
    case 'include':
    case 'exists':
      if (value === undefined || value.length === 0) return `\`${name}\` needs a domain`;
      return prefixed('the domain', domainSpecError(value));
    case 'a':
    case 'mx':
    case 'ptr': {
      if (value === undefined || value.startsWith('/')) return undefined;
      const domain = value.replace(/\/.*$/, '');
      return prefixed('the domain', domainSpecError(domain));
    }
    case 'ip4':
      return value !== undefined && IP4.test(value) ? undefined : 'not an IPv4 address or network';
    case 'ip6':
      return value !== undefined && /^[0-9a-f:.]+(\/(\d{1,3}))?$/i.test(value) && value.includes(':')
        ? undefined
        : 'not an IPv6 address or network';
  }
}

const prefixed = (what: string, error: string | undefined) => (error === undefined ? undefined : `${what} ${error}`);

/** The domain a/mx/ptr/include/exists/redirect queries, or undefined for the current domain. */
export function targetDomain(term: SpfTerm, current: string): string {
  const value = term.value;
  if (value === undefined || value.startsWith('/')) return current;
  return term.kind === 'mechanism' && (term.name === 'a' || term.name === 'mx') ? value.replace(/\/.*$/, '') : value;
}
