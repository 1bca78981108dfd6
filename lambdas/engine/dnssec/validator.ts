/**
 * A DNSSEC validating stub (RFC 4033 §5, RFC 4035 §5): asks the configured resolver with
 * DO and CD set and builds the chain of trust itself, from the trust anchors down, so the
 * verdict depends neither on the resolver validating nor on its AD bit.
 *
 * The walk goes label by label below the closest anchor, asking for DS at each name: a
 * signed DS is a secure delegation (the child's DNSKEY RRset must match it and be signed
 * by that key), a DS provably absent at a delegation (NSEC/NSEC3 with NS and no DS, or an
 * NSEC3 opt-out span) makes everything below insecure, and a provably absent DS at a name
 * that is no delegation changes nothing. Then the answer itself is checked with the keys
 * of the deepest zone found. Verdicts (RFC 4035 §4.3):
 * - secure: every link verified;
 * - insecure: provably unsigned (no anchor above the name, or an unsigned delegation);
 * - bogus: something should have been signed and is not, or its signature fails, or the
 *   resolver validated it anyway and refused it (SERVFAIL with a DNSSEC EDE, RFC 8914);
 * - indeterminate: no answer (timeout, other SERVFAIL, malformed), so nothing can be said.
 */
import { closestAnchorZone, type TrustAnchor } from './anchors.js';
import { DS_DIGESTS, SUPPORTED_ALGORITHMS } from './crypto.js';
import {
  nsec3NameState,
  nsec3ProvesNodata,
  nsec3ProvesNoCloserMatch,
  nsec3ProvesNxdomain,
  nsecNameState,
  nsecProvesNodata,
  nsecProvesNoCloserMatch,
  nsecProvesNxdomain,
  MAX_NSEC3_ITERATIONS,
  type DenialVerdict,
  type NameState,
} from './proofs.js';
import {
  matchesDs,
  TOO_MUCH_WORK,
  verifyRrset,
  WorkBudget,
  zoneKeysOf,
  type RrsetCheck,
  type ZoneKey,
} from './sigcrypt.js';
import { QueryError, type QueryFn } from './transport.js';
import {
  cnameOf,
  dnameOf,
  dnskeyOf,
  dsOf,
  isSubdomain,
  labelCount,
  nameLabels,
  normaliseName,
  nsec3Of,
  RCODE,
  suffixName,
  TYPE,
  typeName,
  type ExtendedError,
  type Message,
  type Name,
  type Rr,
} from './wire.js';

export type SecurityStatus = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

export interface ValidatedAnswer {
  readonly status: SecurityStatus;
  /** The name asked for. */
  readonly name: Name;
  readonly type: number;
  /** The owner of `records`: `name`, or the end of the CNAME chain. */
  readonly owner: Name;
  /** The RRset of `type` at `owner`; empty for a negative answer or a failure. */
  readonly records: readonly Rr[];
  /** For a negative answer. */
  readonly negative?: 'NXDOMAIN' | 'NODATA';
  /** False when the resolver gave no usable answer (timeout, SERVFAIL, …): nothing is known. */
  readonly answered: boolean;
  /** CNAME targets followed, in order. */
  readonly cnames: readonly Name[];
  /** Why the answer is not secure (or which anchor made it secure). */
  readonly why: string;
}

export interface ValidatorOptions {
  readonly query: QueryFn;
  readonly anchors: readonly TrustAnchor[];
  /** Seconds since the epoch, for signature validity periods. */
  readonly now: () => number;
  /** Milliseconds left for the whole validation; each query gets at most this. */
  readonly remainingMs: () => number;
  /** @default 3000 */
  readonly queryTimeoutMs?: number;
  /** Queries allowed for one validator (a guard against chains that never end). @default 200 */
  readonly maxQueries?: number;
}

/** RFC 7672 §2.2.3 and resolvers' practice: longer CNAME chains are treated as failures. */
export const MAX_CNAME_CHAIN = 8;

type ZoneState =
  | { readonly status: 'secure'; readonly zone: Name; readonly keys: readonly ZoneKey[]; readonly via: string }
  | { readonly status: 'insecure' | 'bogus' | 'indeterminate'; readonly zone: Name; readonly why: string };

type Fetched = { readonly msg: Message } | { readonly failure: string };

export class Validator {
  private readonly cache = new Map<string, Promise<Fetched>>();
  private readonly zones = new Map<Name, Promise<ZoneState>>();
  private queries = 0;
  private readonly budget: WorkBudget;

  constructor(private readonly options: ValidatorOptions) {
    this.budget = new WorkBudget(options.remainingMs);
  }

  /** The work done so far (signature verifications, NSEC3 SHA-1 blocks): for tests and the bench. */
  get work(): { readonly verifications: number; readonly nsec3HashBlocks: number } {
    return { verifications: this.budget.verifications, nsec3HashBlocks: this.budget.hashBlocks };
  }

  /** The validated answer for (name, type), following CNAMEs. Never throws. */
  async lookup(rawName: string, type: number): Promise<ValidatedAnswer> {
    try {
      return await this.lookupChain(rawName, type);
    } catch (err) {
      // A defect here (a parser that missed a malformed record) leaves the state unknown; it never escapes.
      const why = `${typeName(type)} ${rawName}: internal error: ${err instanceof Error ? err.message : String(err)}`;
      return {
        status: 'indeterminate',
        name: rawName,
        type,
        owner: rawName,
        records: [],
        answered: false,
        cnames: [],
        why,
      };
    }
  }

  private async lookupChain(rawName: string, type: number): Promise<ValidatedAnswer> {
    const name = normaliseName(rawName);
    const cnames: Name[] = [];
    let current = name;
    let worst: SecurityStatus = 'secure';
    let via = '';
    for (;;) {
      const step = await this.lookupOne(current, type);
      worst = worse(worst, step.status);
      if (step.why !== '') via = step.why;
      const done = (extra: Partial<ValidatedAnswer> = {}): ValidatedAnswer => ({
        status: worst,
        name,
        type,
        owner: current,
        records: step.records,
        answered: step.answered !== false,
        cnames,
        why: via,
        ...(step.negative !== undefined ? { negative: step.negative } : {}),
        ...extra,
      });
      if (step.cname === undefined || step.status === 'bogus') return done();
      if (cnames.length >= MAX_CNAME_CHAIN || cnames.includes(step.cname) || step.cname === name) {
        // A loop or an endless chain is a failed lookup (Unbound: SERVFAIL), never "no such
        // records": a DANE sender defers mail rather than sending without TLSA.
        return done({
          status: 'indeterminate',
          records: [],
          answered: false,
          why: `CNAME chain from ${name} longer than ${MAX_CNAME_CHAIN} or looping`,
        });
      }
      cnames.push(step.cname);
      current = step.cname;
    }
  }

  private async lookupOne(
    name: Name,
    type: number,
  ): Promise<{
    status: SecurityStatus;
    records: Rr[];
    negative?: 'NXDOMAIN' | 'NODATA';
    cname?: Name;
    answered?: false;
    why: string;
  }> {
    const [zone, fetched] = await Promise.all([this.zoneOf(name), this.fetch(name, type)]);
    const label = `${typeName(type)} ${name || '.'}`;
    if ('failure' in fetched)
      return { status: 'indeterminate', records: [], answered: false, why: `${label}: ${fetched.failure}` };
    const msg = fetched.msg;
    if (msg.rcode !== RCODE.NOERROR && msg.rcode !== RCODE.NXDOMAIN) {
      const because = (msg.ede ?? []).map(describeEde).join('; ');
      const answered = `${label}: the resolver answered ${rcodeName(msg.rcode)}${because === '' ? '' : ` (${because})`}`;
      // A resolver that validates despite CD says why it refused: bogus data, not an outage
      // (unless the name is provably unsigned as the probe's anchors see it).
      if (zone.status !== 'insecure' && msg.ede?.some((e) => EDE_BOGUS.has(e.code)) === true) {
        return { status: 'bogus', records: [], why: `${answered}: it validated the answer and found it bogus` };
      }
      return { status: 'indeterminate', records: [], answered: false, why: answered };
    }
    const rrset = msg.answer.filter((r) => r.name === name && r.type === type);
    const cnameRr =
      type !== TYPE.CNAME && rrset.length === 0
        ? msg.answer.find((r) => r.name === name && r.type === TYPE.CNAME)
        : undefined;
    const cname = cnameRr !== undefined ? cnameOf(cnameRr.rdata) : undefined;
    const negative: 'NXDOMAIN' | 'NODATA' | undefined =
      rrset.length === 0 && cname === undefined ? (msg.rcode === RCODE.NXDOMAIN ? 'NXDOMAIN' : 'NODATA') : undefined;
    const base = {
      records: rrset,
      ...(cname !== undefined ? { cname } : {}),
      ...(negative !== undefined ? { negative } : {}),
    };

    // Outside a secure zone the answer is passed on as it came: its status says what it is worth.
    if (zone.status !== 'secure') return { status: zone.status, ...base, why: zone.why };
    // A CNAME synthesized from a DNAME carries no signature of its own: the signed DNAME vouches
    // for it when the substitution gives exactly its target (RFC 6672 §5.3.1, RFC 4035 §5.3).
    const dname = cname !== undefined && rrset.length === 0 ? dnameSynthesizing(msg.answer, name, cname) : undefined;
    if (dname !== undefined) {
      const checked = this.verify(dname, msg.answer, zone);
      const owner = dname[0]!.name;
      if (!checked.ok) return { status: 'bogus', records: [], why: `DNAME ${owner}: ${checked.why}` };
      if (checked.rrsig.labels < labelCount(owner)) {
        return { status: 'bogus', records: [], why: `DNAME ${owner}: signed as a wildcard expansion` };
      }
      return { status: 'secure', ...base, why: zone.via };
    }
    if (rrset.length > 0 || cnameRr !== undefined) {
      const set = rrset.length > 0 ? rrset : msg.answer.filter((r) => r.name === name && r.type === TYPE.CNAME);
      const covered = set[0]?.type as number;
      const checked = this.verify(set, msg.answer, zone);
      if (!checked.ok) return { status: 'bogus', records: [], why: `${typeName(covered)} ${name}: ${checked.why}` };
      if (checked.rrsig.labels < labelCount(name)) {
        // Wildcard expansion: no closer match may exist, i.e. the next closer name below the
        // wildcard's closest encloser provably does not (RFC 4035 §5.3.4, RFC 5155 §8.8).
        const proof = await this.verifiedDenial(msg, zone, name);
        if (!proof.ok)
          return { status: 'bogus', records: [], why: `${label}: wildcard answer without proof: ${proof.why}` };
        const v = proof.nsec3
          ? nsec3ProvesNoCloserMatch(proof.records, name, checked.rrsig.labels)
          : nsecProvesNoCloserMatch(proof.records, name, checked.rrsig.labels);
        const judged = judge(v, label);
        if (judged.status !== 'secure') return { ...judged, records: judged.status === 'insecure' ? rrset : [] };
      }
      return { status: 'secure', ...base, why: zone.via };
    }
    const proof = await this.verifiedDenial(msg, zone, name);
    if (!proof.ok) return { status: 'bogus', records: [], why: `${label}: unsigned negative answer: ${proof.why}` };
    const verdict =
      negative === 'NXDOMAIN'
        ? proof.nsec3
          ? nsec3ProvesNxdomain(proof.records, name)
          : nsecProvesNxdomain(proof.records, name)
        : proof.nsec3
          ? nsec3ProvesNodata(proof.records, name, type)
          : nsecProvesNodata(proof.records, name, type);
    const judged = judge(verdict, `${label} ${negative ?? ''}`);
    return {
      ...judged,
      records: [],
      ...(negative !== undefined ? { negative } : {}),
      why: judged.status === 'secure' ? zone.via : judged.why,
    };
  }

  /** The deepest zone that holds `name`, with its validated keys, walking down from the anchor. */
  private async zoneOf(name: Name): Promise<ZoneState> {
    const anchorZone = closestAnchorZone(name, this.options.anchors);
    if (anchorZone === undefined) return { status: 'insecure', zone: '', why: `no trust anchor covers ${name || '.'}` };
    let state = await this.anchorKeys(anchorZone);
    const below = nameLabels(name).length - nameLabels(anchorZone).length;
    for (let depth = 1; depth <= below && state.status === 'secure'; depth += 1) {
      const child = suffixName(name, nameLabels(anchorZone).length + depth);
      const step = await this.delegation(child, state);
      if (step === 'stop') break;
      if (step !== 'same-zone') state = step;
    }
    return state;
  }

  /** What the DS RRset at `child` says: a new zone state, the same zone, or stop descending. */
  private delegation(child: Name, parent: ZoneState & { status: 'secure' }): Promise<ZoneState | 'same-zone' | 'stop'> {
    const key = `cut|${child}`;
    let pending = this.zones.get(key) as Promise<ZoneState | 'same-zone' | 'stop'> | undefined;
    if (pending === undefined) {
      pending = this.findDelegation(child, parent);
      this.zones.set(key, pending as Promise<ZoneState>);
    }
    return pending;
  }

  private async findDelegation(
    child: Name,
    parent: ZoneState & { status: 'secure' },
  ): Promise<ZoneState | 'same-zone' | 'stop'> {
    const label = `DS ${child}`;
    const fetched = await this.fetch(child, TYPE.DS);
    if ('failure' in fetched)
      return { status: 'indeterminate', zone: parent.zone, why: `${label}: ${fetched.failure}` };
    const msg = fetched.msg;
    if (msg.rcode !== RCODE.NOERROR && msg.rcode !== RCODE.NXDOMAIN) {
      return {
        status: 'indeterminate',
        zone: parent.zone,
        why: `${label}: the resolver answered ${rcodeName(msg.rcode)}`,
      };
    }
    const ds = msg.answer.filter((r) => r.name === child && r.type === TYPE.DS);
    if (ds.length > 0) {
      const checked = this.verify(ds, msg.answer, parent);
      if (!checked.ok) return { status: 'bogus', zone: child, why: `${label}: ${checked.why}` };
      return this.childKeys(child, ds);
    }
    // A CNAME owner cannot be a delegation, and nothing exists below it.
    if (msg.answer.some((r) => r.name === child && r.type === TYPE.CNAME)) return 'stop';
    const proof = await this.verifiedDenial(msg, parent, child);
    if (!proof.ok) return { status: 'bogus', zone: parent.zone, why: `${label}: unsigned denial: ${proof.why}` };
    if (msg.rcode === RCODE.NXDOMAIN) {
      const v = proof.nsec3 ? nsec3ProvesNxdomain(proof.records, child) : nsecProvesNxdomain(proof.records, child);
      if (v.kind === 'proven') return 'stop';
      if (v.kind === 'opt-out' || v.kind === 'too-costly') {
        return {
          status: 'insecure',
          zone: parent.zone,
          why: `${label}: ${v.kind === 'opt-out' ? 'NSEC3 opt-out span' : 'NSEC3 iterations too high (RFC 9276)'}`,
        };
      }
      return { status: 'bogus', zone: parent.zone, why: `${label}: ${v.why}` };
    }
    const v = proof.nsec3
      ? nsec3ProvesNodata(proof.records, child, TYPE.DS)
      : nsecProvesNodata(proof.records, child, TYPE.DS);
    if (v.kind === 'opt-out')
      return { status: 'insecure', zone: child, why: `${label}: unsigned delegation in an NSEC3 opt-out span` };
    if (v.kind === 'too-costly')
      return { status: 'insecure', zone: parent.zone, why: `${label}: NSEC3 iterations too high (RFC 9276)` };
    if (v.kind === 'failed') return { status: 'bogus', zone: parent.zone, why: `${label}: ${v.why}` };
    // Only an NSEC/NSEC3 at the name itself can show a delegation. A NODATA proven without
    // one came from a wildcard (RFC 4035 §3.1.3.4, RFC 5155 §8.7): the name exists only by
    // synthesis, is no zone cut, and the walk stays in this zone.
    const state: NameState = proof.nsec3 ? nsec3NameState(proof.records, child) : nsecNameState(proof.records, child);
    if (state.kind === 'exists' && state.types.has(TYPE.NS) && !state.types.has(TYPE.SOA)) {
      return {
        status: 'insecure',
        zone: child,
        why: `${child} is an unsigned delegation (no DS, proven by ${proof.nsec3 ? 'NSEC3' : 'NSEC'})`,
      };
    }
    return 'same-zone';
  }

  /** The anchor zone's DNSKEY RRset, authenticated by the anchor (RFC 4035 §5.1, RFC 7958). */
  private anchorKeys(zone: Name): Promise<ZoneState> {
    const key = `anchor|${zone}`;
    let pending = this.zones.get(key);
    if (pending === undefined) {
      const anchors = this.options.anchors.filter((a) => a.zone === zone);
      pending = this.keysFor(
        zone,
        `trust anchor for ${zone || '.'}`,
        (owner, rdata) =>
          anchors.some((a) => {
            if (a.kind === 'DNSKEY') {
              const k = dnskeyOf(rdata);
              return k.flags === a.flags && k.algorithm === a.algorithm && k.publicKey.equals(a.publicKey);
            }
            return matchesDs(owner, rdata, a);
          }),
        true,
      );
      this.zones.set(key, pending);
    }
    return pending;
  }

  /** A child's DNSKEY RRset, authenticated by its verified DS RRset (RFC 4035 §5.2). */
  private childKeys(zone: Name, dsRecords: readonly Rr[]): Promise<ZoneState> {
    let ds = dsRecords.map((r) => dsOf(r.rdata));
    ds = ds.filter((d) => SUPPORTED_ALGORITHMS.has(d.algorithm) && DS_DIGESTS.has(d.digestType));
    if (ds.length === 0) {
      return Promise.resolve({
        status: 'insecure',
        zone,
        why: `${zone}: its DS records use only algorithms or digests the probe does not validate (RFC 4035 §5.2)`,
      });
    }
    // RFC 4509 §3: with a SHA-256 DS present, SHA-1 ones are ignored (downgrade protection).
    if (ds.some((d) => d.digestType !== 1)) ds = ds.filter((d) => d.digestType !== 1);
    return this.keysFor(zone, `DS of ${zone}`, (owner, rdata) => ds.some((d) => matchesDs(owner, rdata, d)));
  }

  /**
   * @param anchor  the zone of a trust anchor: a resolver that gives no DNSKEY RRset for it at
   *   all does not serve DNSSEC, which makes everything under it indeterminate, not bogus
   */
  private async keysFor(
    zone: Name,
    via: string,
    trusted: (owner: Name, rdata: Buffer) => boolean,
    anchor = false,
  ): Promise<ZoneState> {
    const label = `DNSKEY ${zone || '.'}`;
    const fetched = await this.fetch(zone, TYPE.DNSKEY);
    if ('failure' in fetched) return { status: 'indeterminate', zone, why: `${label}: ${fetched.failure}` };
    if (fetched.msg.rcode !== RCODE.NOERROR) {
      return {
        status: fetched.msg.rcode === RCODE.NXDOMAIN && !anchor ? 'bogus' : 'indeterminate',
        zone,
        why: `${label}: the resolver answered ${rcodeName(fetched.msg.rcode)}`,
      };
    }
    const rrset = fetched.msg.answer.filter((r) => r.name === zone && r.type === TYPE.DNSKEY);
    if (rrset.length === 0) {
      return anchor
        ? {
            status: 'indeterminate',
            zone,
            why: `${label}: the resolver returns no DNSKEY records for the trust anchor zone (does it serve DNSSEC?)`,
          }
        : { status: 'bogus', zone, why: `${label}: no DNSKEY records` };
    }
    const { all, entry, revoked } = zoneKeysOf(zone, rrset, trusted);
    if (entry.length === 0) {
      const also = revoked > 0 ? ` (${revoked} revoked key${revoked === 1 ? '' : 's'} ignored, RFC 5011 §2.1)` : '';
      return { status: 'bogus', zone, why: `${label}: no key matches the ${via}${also}` };
    }
    const checked = this.verify(rrset, fetched.msg.answer, { zone, keys: entry });
    if (!checked.ok) return { status: 'bogus', zone, why: `${label}: ${checked.why} (keys matching the ${via})` };
    return { status: 'secure', zone, keys: all, via: `secure from the ${via}` };
  }

  /**
   * The NSEC or NSEC3 records of the authority section whose signatures verify with the
   * zone's keys, to prove something about `name`. NSEC3 is used when present (a zone has one
   * or the other).
   */
  private async verifiedDenial(
    msg: Message,
    zone: { zone: Name; keys: readonly ZoneKey[] },
    name: Name,
  ): Promise<{ ok: true; nsec3: boolean; records: Rr[] } | { ok: false; why: string }> {
    const nsec3 = msg.authority.some((r) => r.type === TYPE.NSEC3);
    const type = nsec3 ? TYPE.NSEC3 : TYPE.NSEC;
    const byOwner = new Map<Name, Rr[]>();
    for (const r of msg.authority) {
      if (r.type !== type || !isSubdomain(r.name, zone.zone)) continue;
      const set = byOwner.get(r.name);
      if (set === undefined) byOwner.set(r.name, [r]);
      else set.push(r);
    }
    if (byOwner.size === 0) return { ok: false, why: 'no NSEC or NSEC3 records in the answer' };
    const records: Rr[] = [];
    for (const [owner, set] of byOwner) {
      const checked = this.verify(set, msg.authority, zone);
      if (!checked.ok) return { ok: false, why: `${typeName(type)} ${owner}: ${checked.why}` };
      // An RRSIG with fewer labels than its owner signed a wildcard's records, expanded to this
      // owner: a resolver can rename *.zone's NSEC to any name. Such an NSEC says nothing about
      // the name it now bears (RFC 4035 §5.4, RFC 7129 §5.3): Unbound fails the proof too.
      const ownLabels = labelCount(owner) - (owner.startsWith('*.') ? 1 : 0);
      if (checked.rrsig.labels < ownLabels) {
        return {
          ok: false,
          why: `${typeName(type)} ${owner} is a wildcard expansion (RRSIG labels ${checked.rrsig.labels} < ${ownLabels}) and proves nothing`,
        };
      }
      records.push(...set);
    }
    if (nsec3) {
      // Charged before any hashing: every proof hashes the name, its enclosers down to the
      // zone, the next closer name and the wildcard, with the first record's parameters; the
      // delegation walk may ask two questions of one set.
      let params;
      try {
        params = nsec3Of(records[0]!.rdata);
      } catch {
        return { ok: true, nsec3, records };
      }
      const names = 2 * (labelCount(name) - labelCount(zone.zone) + 3);
      if (
        params.iterations <= MAX_NSEC3_ITERATIONS &&
        !this.budget.spendNsec3(names, params.iterations, params.salt.length)
      ) {
        return { ok: false, why: this.budget.exhausted ?? TOO_MUCH_WORK };
      }
    }
    return { ok: true, nsec3, records };
  }

  private verify(
    rrset: readonly Rr[],
    section: readonly Rr[],
    zone: { zone: Name; keys: readonly ZoneKey[] },
  ): RrsetCheck {
    return verifyRrset(rrset, section, zone, this.options.now(), this.budget);
  }

  private fetch(name: Name, type: number): Promise<Fetched> {
    const key = `${type}|${name}`;
    let pending = this.cache.get(key);
    if (pending === undefined) {
      pending = this.ask(name, type);
      this.cache.set(key, pending);
    }
    return pending;
  }

  private async ask(name: Name, type: number): Promise<Fetched> {
    const max = this.options.maxQueries ?? 200;
    // One retry: a lost UDP datagram is not an outage.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (++this.queries > max) return { failure: `more than ${max} DNS queries for one validation` };
      const budget = Math.min(this.options.queryTimeoutMs ?? 3000, this.options.remainingMs());
      if (budget <= 0) return { failure: 'TIMEOUT (check deadline)' };
      try {
        return { msg: await this.options.query(name, type, budget) };
      } catch (err) {
        if (err instanceof QueryError && err.kind === 'TIMEOUT' && attempt === 0) continue;
        return { failure: err instanceof QueryError ? `${err.kind}: ${err.message}` : String(err) };
      }
    }
    return { failure: 'TIMEOUT' };
  }
}

function judge(v: DenialVerdict, label: string): { status: SecurityStatus; why: string } {
  switch (v.kind) {
    case 'proven':
      return { status: 'secure', why: '' };
    case 'opt-out':
      return { status: 'insecure', why: `${label}: NSEC3 opt-out span` };
    case 'too-costly':
      return { status: 'insecure', why: `${label}: NSEC3 iterations too high (RFC 9276)` };
    case 'failed':
      return { status: 'bogus', why: `${label}: ${v.why}` };
  }
}

const RANK: Record<SecurityStatus, number> = { secure: 0, insecure: 1, indeterminate: 2, bogus: 3 };

export function worse(a: SecurityStatus, b: SecurityStatus): SecurityStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

function rcodeName(rcode: number): string {
  return (
    ({ 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' } as Record<number, string>)[rcode] ??
    `RCODE ${rcode}`
  );
}

/**
 * The DNAME RRset in `answer` whose substitution turns `name` into `target`: an owner strictly
 * above `name`, the labels below it kept, the owner replaced by the DNAME's target.
 */
function dnameSynthesizing(answer: readonly Rr[], name: Name, target: Name): Rr[] | undefined {
  for (const r of answer) {
    if (r.type !== TYPE.DNAME || r.name === name || !isSubdomain(name, r.name)) continue;
    let substituted: Name;
    try {
      const to = dnameOf(r.rdata);
      const prefix = r.name === '' ? name : name.slice(0, name.length - r.name.length - 1);
      substituted = to === '' ? prefix : `${prefix}.${to}`;
    } catch {
      continue;
    }
    if (substituted === target) return answer.filter((x) => x.type === TYPE.DNAME && x.name === r.name);
  }
  return undefined;
}

/**
 * RFC 8914 codes that mean the data failed DNSSEC validation at the resolver: 6 DNSSEC Bogus,
 * 7 Signature Expired, 8 Signature Not Yet Valid, 9 DNSKEY Missing, 10 RRSIGs Missing,
 * 11 No Zone Key Bit Set, 12 NSEC Missing. Others (5 DNSSEC Indeterminate, 22 No Reachable
 * Authority, 23 Network Error, …) leave the state unknown.
 */
const EDE_BOGUS: ReadonlySet<number> = new Set([6, 7, 8, 9, 10, 11, 12]);
const EDE_NAMES: Readonly<Record<number, string>> = {
  0: 'Other Error',
  1: 'Unsupported DNSKEY Algorithm',
  2: 'Unsupported DS Digest Type',
  3: 'Stale Answer',
  5: 'DNSSEC Indeterminate',
  6: 'DNSSEC Bogus',
  7: 'Signature Expired',
  8: 'Signature Not Yet Valid',
  9: 'DNSKEY Missing',
  10: 'RRSIGs Missing',
  11: 'No Zone Key Bit Set',
  12: 'NSEC Missing',
  13: 'Cached Error',
  18: 'Prohibited',
  20: 'Not Authoritative',
  22: 'No Reachable Authority',
  23: 'Network Error',
};

function describeEde(e: ExtendedError): string {
  const name = EDE_NAMES[e.code] ?? 'unassigned';
  return `EDE ${e.code} ${name}${e.text === '' ? '' : `: ${e.text}`}`;
}
