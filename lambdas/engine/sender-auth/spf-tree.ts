/**
 * The whole SPF include tree of a domain, walked the way a receiver evaluating a message
 * from an address that matches nothing would walk it: every DNS-querying term is counted
 * (RFC 7208 §4.6.4, at most 10) and every query that returns no records is a void lookup
 * (§4.6.4, at most 2). A receiver stops at the 11th term with permerror; the walk goes on
 * (up to MAX_TERMS) so the message can say how far over the limit the record is and which
 * include path put it there.
 *
 * Every lookup goes through the engine's Resolver with the check's abort signal, so the
 * check's deadline bounds the walk; MAX_TERMS, MAX_DEPTH and MAX_RECORD_BYTES bound what a
 * hostile zone (an include chain 50 deep, a loop, a 10 kB record) can make it do.
 */
import { finding, type Finding } from '../findings.js';
import { DnsError, type Resolver } from '../net/resolver.js';
import { DNS_TERMS, isSpfRecord, parseSpf, targetDomain, type SpfTerm } from './spf.js';

export const SPF_LOOKUP_LIMIT = 10;
export const SPF_VOID_LIMIT = 2;
/** Terms walked before giving up on counting: far past the limit, bounded against loops and bombs. */
export const MAX_TERMS = 40;
/** Include/redirect nesting walked; deeper chains are over the limit anyway. */
export const MAX_DEPTH = 12;
/** An SPF record longer than this is not parsed (no real record is; 10 kB ones are attacks or mistakes). */
export const MAX_RECORD_BYTES = 4096;

export interface SpfTree {
  /** The domain's own SPF record, when exactly one was found. */
  readonly record?: string;
  /** DNS-querying terms over the whole tree (§4.6.4); `atLeast` when the walk stopped early. */
  readonly lookups: number;
  readonly voidLookups: number;
  readonly truncated: boolean;
  /** Every SPF record resolved in the tree, by domain (the facts for SPF_CHANGED). */
  readonly records: Readonly<Record<string, string>>;
  /** The include path to the term that made the count exceed 10, when it did. */
  readonly limitPath?: readonly string[];
  /** True when the record allows more than its listed senders (`+all`/`?all`) or has no `all`/redirect. */
  readonly allowsAnySender: boolean;
  /** True when the record's result for unlisted senders is fail or softfail (`-all`/`~all`). */
  readonly endsInAll?: string;
  readonly findings: readonly Finding[];
}

export interface SpfWalkOptions {
  readonly resolver: Resolver;
  readonly signal?: AbortSignal;
}

type Outcome = { readonly kind: 'records'; readonly records: string[][] } | { readonly kind: 'void' };

/** A lookup: records, or void (NXDOMAIN/NODATA); temporary failures throw. */
async function query<T>(
  run: () => Promise<T[]>,
): Promise<{ readonly kind: 'ok'; readonly value: T[] } | { readonly kind: 'void' }> {
  try {
    const value = await run();
    return value.length === 0 ? { kind: 'void' } : { kind: 'ok', value };
  } catch (err) {
    if (err instanceof DnsError && err.isNegativeAnswer) return { kind: 'void' };
    throw err;
  }
}

export async function walkSpf(domain: string, options: SpfWalkOptions): Promise<SpfTree> {
  const findings: Finding[] = [];
  const records: Record<string, string> = {};
  /** Each record of the tree parsed once; the judgements after the walk read these. */
  const parsedAt = new Map<string, ReturnType<typeof parseSpf>>();
  let lookups = 0;
  let voidLookups = 0;
  let truncated = false;
  let limitPath: string[] | undefined;
  const lookup = { signal: options.signal };

  const txt = async (name: string): Promise<Outcome> => {
    const r = await query(() => options.resolver.txt(name, lookup));
    return r.kind === 'void' ? r : { kind: 'records', records: r.value };
  };

  const countVoid = () => {
    voidLookups++;
  };

  const pathText = (path: readonly string[]) => path.join(' → ');

  /** Walks one record; returns its SPF text or undefined when it has none/more than one. */
  const visit = async (name: string, path: string[], depth: number): Promise<string | undefined> => {
    const found = await txt(name);
    if (found.kind === 'void') countVoid();
    const spf =
      found.kind === 'records' ? found.records.map((parts) => parts.join('')).filter((t) => isSpfRecord(t)) : [];
    const root = depth === 0;
    if (spf.length === 0) {
      if (root) findings.push(finding('SPF_MISSING', `${name} publishes no v=spf1 record`));
      // §5.2: an include whose target has no SPF record is a permerror, not a non-match.
      else
        findings.push(
          finding('SPF_INVALID', `${pathText(path)}: ${name} has no SPF record (include that does not resolve)`),
        );
      return undefined;
    }
    if (spf.length > 1) {
      const message = `${pathText(path)}: ${spf.length} v=spf1 records at ${name} (RFC 7208 §4.5: permerror)`;
      findings.push(root ? finding('SPF_MULTIPLE', message) : finding('SPF_INVALID', message));
      return undefined;
    }
    const record = spf[0] ?? '';
    if (record.length > MAX_RECORD_BYTES) {
      findings.push(
        finding(
          'SPF_INVALID',
          `${pathText(path)}: the SPF record at ${name} is ${record.length} bytes; not evaluated (cap ${MAX_RECORD_BYTES})`,
        ),
      );
      return undefined;
    }
    records[name] = record;
    const parsed = parseSpf(record);
    parsedAt.set(name, parsed);
    for (const error of parsed.errors.slice(0, 5)) findings.push(finding('SPF_INVALID', `${pathText(path)}: ${error}`));
    if (parsed.errors.length > 0) return record;
    const hasAll = parsed.terms.some((t) => t.kind === 'mechanism' && t.name === 'all');
    for (const term of parsed.terms) {
      if (term.kind === 'modifier' && !(term.name === 'redirect' && !hasAll)) continue;
      if (!DNS_TERMS.has(term.name)) continue;
      if (lookups >= MAX_TERMS || options.signal?.aborted === true) {
        truncated = true;
        return record;
      }
      lookups++;
      if (lookups === SPF_LOOKUP_LIMIT + 1) limitPath = [...path, termText(term)];
      await visitTerm(term, name, path, depth);
    }
    return record;
  };

  const visitTerm = async (term: SpfTerm, current: string, path: string[], depth: number): Promise<void> => {
    const target = targetDomain(term, current).toLowerCase().replace(/\.$/, '');
    // Macros depend on the message (§7); the term is counted but its target cannot be known here.
    if (target.includes('%')) return;
    if (term.name === 'include' || term.name === 'redirect') {
      if (path.includes(target)) {
        findings.push(finding('SPF_INVALID', `include loop: ${pathText([...path, target])}`));
        truncated = true;
        return;
      }
      if (depth + 1 > MAX_DEPTH) {
        truncated = true;
        return;
      }
      await visit(target, [...path, target], depth + 1);
      return;
    }
    if (term.name === 'ptr') return; // deprecated (§5.5): reported by the check, not queried here
    const r =
      term.name === 'mx'
        ? await query(() => options.resolver.mx(target, lookup))
        : await query(() => options.resolver.addresses(target, lookup));
    if (r.kind === 'void') countVoid();
    else if (term.name === 'mx' && r.value.length > SPF_LOOKUP_LIMIT) {
      // §4.6.4: more than 10 MX names for one mx term is a permerror.
      findings.push(
        finding('SPF_TOO_MANY_LOOKUPS', `${pathText(path)}: mx:${target} has ${r.value.length} MX records (limit 10)`),
      );
    }
  };

  const root = domain.toLowerCase().replace(/\.$/, '');
  const record = await visit(root, [root], 0);

  let allowsAnySender = false;
  let endsInAll: string | undefined;
  const parsed = record === undefined ? undefined : parsedAt.get(root);
  if (parsed !== undefined) {
    const all = parsed.terms.find((t) => t.kind === 'mechanism' && t.name === 'all');
    const redirect = parsed.terms.some((t) => t.kind === 'modifier' && t.name === 'redirect');
    if (all !== undefined && all.kind === 'mechanism') {
      endsInAll = `${all.qualifier}all`;
      if (all.qualifier === '+' || all.qualifier === '?') {
        allowsAnySender = true;
        findings.push(finding('SPF_PERMISSIVE', `${root}: \`${all.qualifier}all\` lets any host send as the domain`));
      }
    } else if (!redirect && parsed.errors.length === 0) {
      allowsAnySender = true;
      findings.push(
        finding('SPF_PERMISSIVE', `${root}: no \`all\` and no redirect; unlisted senders get neutral (RFC 7208 §4.7)`),
      );
    }
  }
  for (const [name, tree] of parsedAt) {
    if (tree.terms.some((t) => t.kind === 'mechanism' && t.name === 'ptr')) {
      findings.push(finding('SPF_PERMISSIVE', `${name}: uses the deprecated \`ptr\` mechanism (RFC 7208 §5.5)`));
    }
  }
  if (lookups > SPF_LOOKUP_LIMIT) {
    findings.push(
      finding(
        'SPF_TOO_MANY_LOOKUPS',
        `${truncated ? 'at least ' : ''}${lookups} DNS-querying terms (limit ${SPF_LOOKUP_LIMIT}, RFC 7208 §4.6.4); the 11th: ${pathText(limitPath ?? [])}`,
      ),
    );
  }
  if (voidLookups > SPF_VOID_LIMIT) {
    findings.push(
      finding('SPF_TOO_MANY_LOOKUPS', `${voidLookups} void lookups (limit ${SPF_VOID_LIMIT}, RFC 7208 §4.6.4)`),
    );
  }
  return {
    ...(record !== undefined ? { record } : {}),
    lookups,
    voidLookups,
    truncated,
    records,
    ...(limitPath !== undefined ? { limitPath } : {}),
    allowsAnySender,
    ...(endsInAll !== undefined ? { endsInAll } : {}),
    findings,
  };
}

function termText(term: SpfTerm): string {
  if (term.kind === 'modifier') return `${term.name}=${term.value}`;
  return `${term.name}${term.value === undefined ? '' : term.value.startsWith('/') ? term.value : `:${term.value}`}`;
}
