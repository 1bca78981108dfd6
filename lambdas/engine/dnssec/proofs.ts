/**
 * Authenticated denial of existence, as pure functions over NSEC (RFC 4035 §5.4) and
 * NSEC3 (RFC 5155 §8) records whose signatures were already verified. Each answers one
 * question: does this set of records prove that the name, or the type, does not exist?
 */
import { base32hex, nsec3Hash } from './crypto.js';
import {
  compareNames,
  isSubdomain,
  labelCount,
  nsec3Of,
  nsecOf,
  parentName,
  suffixName,
  TYPE,
  type Name,
  type Nsec3Rdata,
  type NsecRdata,
  type Rr,
} from './wire.js';

/**
 * RFC 9276 §3.2: validators may treat NSEC3 with more iterations as insecure; we do above
 * this. RFC 9276 asks for 0; Hickory's soft limit is 100. 150 with a 255-byte salt cost over
 * a second per check (CVE-2023-50868); what remains below is charged to the work budget.
 */
export const MAX_NSEC3_ITERATIONS = 100;

export type DenialVerdict =
  /** The proof holds. */
  | { readonly kind: 'proven' }
  /** An NSEC3 opt-out span covers the name: unsigned delegations may hide there (RFC 5155 §6). */
  | { readonly kind: 'opt-out' }
  /** NSEC3 iterations above MAX_NSEC3_ITERATIONS (RFC 9276): treated as insecure. */
  | { readonly kind: 'too-costly' }
  | { readonly kind: 'failed'; readonly why: string };

export type NameState =
  /** The name exists with this type bitmap (an NSEC/NSEC3 at the name itself). */
  | { readonly kind: 'exists'; readonly types: ReadonlySet<number> }
  /** The name exists as an empty non-terminal. */
  | { readonly kind: 'empty-non-terminal' }
  | { readonly kind: 'unknown' };

// --- NSEC -----------------------------------------------------------------------------------

interface Nsec {
  readonly owner: Name;
  readonly data: NsecRdata;
}

/** The NSEC records among `records`; a malformed one proves nothing and is left out. */
function nsecs(records: readonly Rr[]): Nsec[] {
  const out: Nsec[] = [];
  for (const r of records) {
    if (r.type !== TYPE.NSEC) continue;
    try {
      out.push({ owner: r.name, data: nsecOf(r.rdata) });
    } catch {
      // Malformed RDATA: no proof of anything.
    }
  }
  return out;
}

/** owner < name < next in canonical order; the last NSEC of a zone wraps to the apex. */
export function nsecCovers(owner: Name, next: Name, name: Name): boolean {
  if (compareNames(owner, name) >= 0) return false;
  return compareNames(name, next) < 0 || compareNames(next, owner) <= 0;
}

function commonAncestor(a: Name, b: Name): Name {
  const max = Math.min(labelCount(a), labelCount(b));
  let count = 0;
  while (count < max && suffixName(a, count + 1) === suffixName(b, count + 1)) count += 1;
  return suffixName(a, count);
}

/**
 * The closest encloser of `name` that an NSEC covering it proves: the longest ancestor the
 * name shares with the NSEC's owner or next name (RFC 4035 §5.4). Everything between it
 * and `name` is covered too; when it is `name` itself, `name` is an empty non-terminal.
 */
function nsecEncloser(n: Nsec, name: Name): Name {
  const a = commonAncestor(name, n.owner);
  const b = commonAncestor(name, n.data.next);
  return labelCount(a) >= labelCount(b) ? a : b;
}

function wildcardAt(encloser: Name): Name {
  return encloser === '' ? '*' : `*.${encloser}`;
}

/**
 * Checks a type bitmap at `name` (or at the wildcard that would answer for it) for NODATA
 * of `type`, as RFC 4035 §5.4 / RFC 5155 §8.5-8.7 and resolvers do.
 */
function typesDenyData(types: ReadonlySet<number>, type: number, what: string, wildcard: boolean): DenialVerdict {
  if (types.has(type)) return { kind: 'failed', why: `${what} lists the type asked for` };
  if (types.has(TYPE.CNAME)) return { kind: 'failed', why: `${what} lists a CNAME` };
  if (wildcard) {
    // A wildcard is never a zone apex nor a delegation (RFC 4592 §4.2): such a record is no proof.
    if (types.has(TYPE.SOA)) return { kind: 'failed', why: `${what} lists an SOA` };
    if (type !== TYPE.DS && types.has(TYPE.NS)) return { kind: 'failed', why: `${what} is a delegation` };
  }
  return { kind: 'proven' };
}

/** What the NSEC records say about `name` itself. */
export function nsecNameState(records: readonly Rr[], name: Name): NameState {
  for (const n of nsecs(records)) {
    if (n.owner === name) return { kind: 'exists', types: n.data.types };
    // An NSEC whose next name is below `name`: `name` is an empty non-terminal (RFC 4035 §3.1.3.2).
    if (nsecCovers(n.owner, n.data.next, name) && isSubdomain(n.data.next, name) && n.data.next !== name) {
      return { kind: 'empty-non-terminal' };
    }
  }
  return { kind: 'unknown' };
}

/** NXDOMAIN: an NSEC covers the name and one covers the wildcard at the closest encloser. */
export function nsecProvesNxdomain(records: readonly Rr[], name: Name): DenialVerdict {
  const list = nsecs(records);
  const cover = list.find((n) => nsecCovers(n.owner, n.data.next, name));
  if (cover === undefined) return { kind: 'failed', why: `no NSEC covers ${name}` };
  const wildcard = wildcardAt(nsecEncloser(cover, name));
  if (!list.some((n) => nsecCovers(n.owner, n.data.next, wildcard))) {
    return { kind: 'failed', why: `no NSEC denies the wildcard ${wildcard}` };
  }
  return { kind: 'proven' };
}

/**
 * NODATA: an NSEC at the name without the type (nor CNAME), or the name is an empty
 * non-terminal, or the answer came from a wildcard (RFC 4035 §3.1.3.4, §5.4): an NSEC
 * covers the name, proving it does not exist and what its closest encloser is, and the NSEC
 * at `*.<closest encloser>` lacks the type (and CNAME).
 */
export function nsecProvesNodata(records: readonly Rr[], name: Name, type: number): DenialVerdict {
  const state = nsecNameState(records, name);
  if (state.kind === 'empty-non-terminal') return { kind: 'proven' };
  if (state.kind === 'exists') return typesDenyData(state.types, type, `the NSEC at ${name}`, false);
  const list = nsecs(records);
  let why = `no NSEC matches ${name} nor proves it does not exist`;
  for (const cover of list.filter((n) => nsecCovers(n.owner, n.data.next, name))) {
    const wildcard = wildcardAt(nsecEncloser(cover, name));
    const at = list.find((n) => n.owner === wildcard);
    if (at === undefined) {
      why = `no NSEC matches ${name} or the wildcard ${wildcard}`;
      continue;
    }
    const v = typesDenyData(at.data.types, type, `the NSEC at ${wildcard}`, true);
    if (v.kind === 'proven') return v;
    why = v.kind === 'failed' ? v.why : why;
  }
  return { kind: 'failed', why };
}

/**
 * A wildcard expansion (RRSIG labels below the owner's) is valid only if no closer match
 * exists (RFC 4035 §5.3.4): an NSEC must cover the name with `*.<closest encloser>` as the
 * source of synthesis, the closest encloser being the RRSIG's `labels` rightmost labels.
 * Covering the name alone is not enough: an NSEC `b.example → c.example` covers
 * `a.b.example`, yet `b.example` exists, so `*.example` does not answer for `a.b.example`.
 */
export function nsecProvesNoCloserMatch(records: readonly Rr[], name: Name, rrsigLabels: number): DenialVerdict {
  if (labelCount(name) <= rrsigLabels) return { kind: 'failed', why: 'not a wildcard expansion' };
  const encloser = suffixName(name, rrsigLabels);
  const proof = nsecs(records).some(
    (n) => nsecCovers(n.owner, n.data.next, name) && nsecEncloser(n, name) === encloser,
  );
  return proof
    ? { kind: 'proven' }
    : {
        kind: 'failed',
        why: `no NSEC proves that nothing closer than the wildcard ${wildcardAt(encloser)} matches ${name}`,
      };
}

// --- NSEC3 ----------------------------------------------------------------------------------

interface Nsec3 {
  /** The base32hex hash label of the owner. */
  readonly hash: string;
  readonly zone: Name;
  readonly data: Nsec3Rdata;
  readonly next: string;
}

/** SHA-1, the one NSEC3 hash algorithm defined (RFC 5155 §11): 20 octets, 32 base32hex digits. */
const NSEC3_SHA1 = 1;
const NSEC3_SHA1_LENGTH = 20;

/**
 * The usable NSEC3 records among `records`. A malformed one (RDATA that does not parse, a
 * next hash of the wrong length, an owner label that is no hash) proves nothing and is left
 * out, as are unknown hash algorithms and flags (RFC 5155 §8.1).
 */
function nsec3s(records: readonly Rr[]): Nsec3[] {
  const out: Nsec3[] = [];
  for (const r of records) {
    if (r.type !== TYPE.NSEC3) continue;
    let data: Nsec3Rdata;
    try {
      data = nsec3Of(r.rdata);
    } catch {
      continue;
    }
    if (data.hashAlgorithm !== NSEC3_SHA1 || (data.flags & 0xfe) !== 0) continue;
    if (data.nextHashed.length !== NSEC3_SHA1_LENGTH) continue;
    const hash = r.name.split('.')[0] ?? '';
    if (!/^[0-9a-v]{32}$/.test(hash)) continue;
    out.push({ hash, zone: parentName(r.name), data, next: base32hex(data.nextHashed) });
  }
  return out;
}

/** Base32hex in lower case sorts like the hash octets, so strings compare as hashes. */
function hashCovers(owner: string, next: string, hash: string): boolean {
  if (owner >= hash) return false;
  return hash < next || next <= owner;
}

class Nsec3Set {
  private readonly hashes = new Map<Name, string>();
  constructor(
    private readonly list: readonly Nsec3[],
    private readonly zone: Name,
  ) {}

  static of(records: readonly Rr[]): Nsec3Set | DenialVerdict {
    const list = nsec3s(records);
    const first = list[0];
    if (first === undefined) return { kind: 'failed', why: 'no NSEC3 records' };
    if (list.some((n) => n.zone !== first.zone)) return { kind: 'failed', why: 'NSEC3 records from several zones' };
    if (list.some((n) => n.data.iterations > MAX_NSEC3_ITERATIONS)) return { kind: 'too-costly' };
    return new Nsec3Set(list, first.zone);
  }

  private hashOf(name: Name): string {
    let h = this.hashes.get(name);
    if (h === undefined) {
      const p = this.list[0]?.data as Nsec3Rdata;
      h = base32hex(nsec3Hash(name, p.salt, p.iterations));
      this.hashes.set(name, h);
    }
    return h;
  }

  matching(name: Name): Nsec3 | undefined {
    const h = this.hashOf(name);
    return this.list.find((n) => n.hash === h);
  }

  covering(name: Name): Nsec3 | undefined {
    const h = this.hashOf(name);
    return this.list.find((n) => hashCovers(n.hash, n.next, h));
  }

  /** RFC 5155 §8.3: the closest encloser (matched) and the next closer name (covered). */
  closestEncloser(name: Name): { encloser: Name; nextCloser: Nsec3 } | { why: string } {
    if (!isSubdomain(name, this.zone)) return { why: `${name} is outside the NSEC3 zone ${this.zone}` };
    let candidate = name;
    let child: Name | undefined;
    for (;;) {
      if (this.matching(candidate) !== undefined) {
        if (child === undefined) return { why: `${name} itself exists (an NSEC3 matches it)` };
        const cover = this.covering(child);
        if (cover === undefined) return { why: `no NSEC3 covers the next closer name ${child}` };
        return { encloser: candidate, nextCloser: cover };
      }
      if (candidate === this.zone || candidate === '') return { why: `no NSEC3 matches an encloser of ${name}` };
      child = candidate;
      candidate = parentName(candidate);
    }
  }

  nameState(name: Name): NameState {
    const m = this.matching(name);
    return m === undefined
      ? { kind: 'unknown' }
      : m.data.types.size === 0
        ? { kind: 'empty-non-terminal' }
        : { kind: 'exists', types: m.data.types };
  }

  get zoneName(): Name {
    return this.zone;
  }
}

export function nsec3NameState(records: readonly Rr[], name: Name): NameState {
  const set = Nsec3Set.of(records);
  return set instanceof Nsec3Set ? set.nameState(name) : { kind: 'unknown' };
}

export function nsec3ProvesNxdomain(records: readonly Rr[], name: Name): DenialVerdict {
  const set = Nsec3Set.of(records);
  if (!(set instanceof Nsec3Set)) return set;
  const ce = set.closestEncloser(name);
  if ('why' in ce) return { kind: 'failed', why: ce.why };
  const wildcard = `*.${ce.encloser}`.replace(/\.$/, '');
  if (set.covering(wildcard) === undefined) return { kind: 'failed', why: `no NSEC3 covers the wildcard ${wildcard}` };
  // RFC 5155 §9.2: an opt-out span over the next closer name proves nothing about delegations.
  return ce.nextCloser.data.flags & 1 ? { kind: 'opt-out' } : { kind: 'proven' };
}

/**
 * NODATA (RFC 5155 §8.5-8.7): an NSEC3 matching the name without the type (nor CNAME); or,
 * for an answer from a wildcard, the closest-encloser proof (an NSEC3 matching the closest
 * encloser, one covering the next closer name) and an NSEC3 matching `*.<closest encloser>`
 * without the type (nor CNAME); or, for DS only, the next closer name in an opt-out span.
 */
export function nsec3ProvesNodata(records: readonly Rr[], name: Name, type: number): DenialVerdict {
  const set = Nsec3Set.of(records);
  if (!(set instanceof Nsec3Set)) return set;
  const m = set.matching(name);
  if (m !== undefined) return typesDenyData(m.data.types, type, `the NSEC3 for ${name}`, false);
  const ce = set.closestEncloser(name);
  if ('why' in ce) return { kind: 'failed', why: `no NSEC3 matches ${name}, and ${ce.why}` };
  const optOut = (ce.nextCloser.data.flags & 1) !== 0;
  const wildcard = wildcardAt(ce.encloser);
  const w = set.matching(wildcard);
  if (w !== undefined) {
    const v = typesDenyData(w.data.types, type, `the NSEC3 for ${wildcard}`, true);
    // RFC 5155 §9.2: with the next closer name in an opt-out span, an unsigned delegation may hide there.
    return v.kind === 'proven' && optOut ? { kind: 'opt-out' } : v;
  }
  // RFC 5155 §8.6: DS NODATA with no matching NSEC3 is fine under an opt-out span.
  if (type === TYPE.DS && optOut) return { kind: 'opt-out' };
  return { kind: 'failed', why: `no NSEC3 matches ${name} or the wildcard ${wildcard}` };
}

/** Wildcard answer (RFC 5155 §8.8): the next closer name of the expansion is covered. */
export function nsec3ProvesNoCloserMatch(records: readonly Rr[], name: Name, rrsigLabels: number): DenialVerdict {
  const set = Nsec3Set.of(records);
  if (!(set instanceof Nsec3Set)) return set;
  const encloser = suffixName(name, rrsigLabels);
  if (labelCount(name) <= rrsigLabels) return { kind: 'failed', why: 'not a wildcard expansion' };
  const nextCloser = suffixName(name, rrsigLabels + 1);
  const cover = set.covering(nextCloser);
  if (cover === undefined) return { kind: 'failed', why: `no NSEC3 covers ${nextCloser} below ${encloser || '.'}` };
  return cover.data.flags & 1 ? { kind: 'opt-out' } : { kind: 'proven' };
}
