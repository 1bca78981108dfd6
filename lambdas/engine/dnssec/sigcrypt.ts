/**
 * Keys and signatures, apart from the walk (as unbound keeps val_sigcrypt.c apart from
 * validator.c): which DNSKEYs may sign, which DS or anchor vouches for a key, whether one
 * RRSIG over one RRset verifies — all under a work budget.
 *
 * The budget exists because of KeyTrap (CVE-2023-50387) and NSEC3 hashing (CVE-2023-50868):
 * a hostile zone can put hundreds of keys on one key tag and hundreds of RRSIGs on one RRset,
 * or NSEC3 records at high iterations with long salts, and turn one lookup into minutes of
 * CPU. Signature checks are synchronous, so while they run no timer fires and every other
 * check of the shard waits. After KeyTrap, BIND and Unbound cap the verifications per RRset
 * and per fetch; this does the same, counts every key tried (keys on a colliding tag each
 * cost one), and looks at the deadline between verifications.
 */
import type { KeyObject } from 'node:crypto';
import { dsDigest, keyTag, publicKeyOf, verifySignature } from './crypto.js';
import { dnskeyOf, labelCount, rrsigOf, signedData, TYPE, type Name, type Rr, type RrsigRdata } from './wire.js';

/** Signature verifications tried for one RRset, counting every key on a matching tag. */
export const MAX_VERIFICATIONS_PER_RRSET = 8;
/** Signature verifications for one validator (one check): a walk needs a few dozen. */
export const MAX_VERIFICATIONS_PER_VALIDATION = 256;
/**
 * SHA-1 blocks spent on NSEC3 owner hashes for one validator. One name at the RFC 9276 §3.2
 * ceiling (100 iterations, empty salt) costs 101; a 255-byte salt costs five blocks a round.
 */
export const MAX_NSEC3_HASH_BLOCKS_PER_VALIDATION = 40_000;

/** Phrase every budget failure carries, so a reader (and a test) can tell it from a bad signature. */
export const TOO_MUCH_WORK = 'too much work';

/** The work one validation may do; once spent, every further signature check fails. */
export class WorkBudget {
  private verificationsDone = 0;
  private hashBlocksDone = 0;
  private exhaustedWhy: string | undefined;

  constructor(
    /** Milliseconds left before the check's deadline. */
    private readonly remainingMs: () => number,
    private readonly maxVerifications = MAX_VERIFICATIONS_PER_VALIDATION,
    private readonly maxHashBlocks = MAX_NSEC3_HASH_BLOCKS_PER_VALIDATION,
  ) {}

  get verifications(): number {
    return this.verificationsDone;
  }

  get hashBlocks(): number {
    return this.hashBlocksDone;
  }

  /** Why the budget is spent, or undefined while work remains. */
  get exhausted(): string | undefined {
    return this.exhaustedWhy;
  }

  /** One signature verification; false (and spent for good) past the cap or the deadline. */
  spendVerification(): boolean {
    if (this.exhaustedWhy !== undefined) return false;
    if (this.verificationsDone >= this.maxVerifications) {
      this.exhaustedWhy = `${TOO_MUCH_WORK}: more than ${this.maxVerifications} signature verifications for one validation (KeyTrap, CVE-2023-50387)`;
      return false;
    }
    if (this.remainingMs() <= 0) {
      this.exhaustedWhy = `${TOO_MUCH_WORK}: the check's deadline passed during signature verification`;
      return false;
    }
    this.verificationsDone += 1;
    return true;
  }

  /**
   * NSEC3 hashing about to happen: `names` owner hashes of `iterations` extra rounds with
   * `saltLength` octets of salt (RFC 5155 §5). Charged before the work, so a costly shape is
   * refused without being computed (CVE-2023-50868).
   */
  spendNsec3(names: number, iterations: number, saltLength: number): boolean {
    if (this.exhaustedWhy !== undefined) return false;
    // SHA-1 pads to 64-byte blocks: digest (20) + salt + padding (9) per round.
    const blocks = names * (iterations + 1) * Math.ceil((20 + saltLength + 9) / 64);
    if (this.hashBlocksDone + blocks > this.maxHashBlocks) {
      this.exhaustedWhy = `${TOO_MUCH_WORK}: NSEC3 hashing would exceed ${this.maxHashBlocks} SHA-1 blocks for one validation (CVE-2023-50868)`;
      return false;
    }
    if (this.remainingMs() <= 0) {
      this.exhaustedWhy = `${TOO_MUCH_WORK}: the check's deadline passed during NSEC3 hashing`;
      return false;
    }
    this.hashBlocksDone += blocks;
    return true;
  }
}

export interface ZoneKey {
  readonly tag: number;
  readonly algorithm: number;
  readonly key: KeyObject;
}

/** RFC 4034 §2.1.1: bit 7 marks a zone key; only zone keys sign zone data. */
const ZONE_KEY_FLAG = 0x0100;
/** RFC 5011 §2.1: bit 8, REVOKE. A revoked key must not validate anything, not even its own RRset. */
export const REVOKE_FLAG = 0x0080;

/**
 * The usable keys of a DNSKEY RRset, and those `trusted` vouches for. Malformed keys, keys
 * of other protocols, non-zone keys, revoked keys and keys of algorithms the probe cannot
 * verify are left out.
 */
export function zoneKeysOf(
  zone: Name,
  rrset: readonly Rr[],
  trusted: (owner: Name, rdata: Buffer) => boolean,
): { all: ZoneKey[]; entry: ZoneKey[]; revoked: number } {
  const all: ZoneKey[] = [];
  const entry: ZoneKey[] = [];
  let revoked = 0;
  for (const rr of rrset) {
    let k;
    try {
      k = dnskeyOf(rr.rdata);
    } catch {
      continue;
    }
    if (k.protocol !== 3 || (k.flags & ZONE_KEY_FLAG) === 0) continue;
    if ((k.flags & REVOKE_FLAG) !== 0) {
      revoked += 1;
      continue;
    }
    const key = publicKeyOf(k);
    if (key === undefined) continue;
    const zk = { tag: keyTag(rr.rdata), algorithm: k.algorithm, key };
    all.push(zk);
    if (trusted(zone, rr.rdata)) entry.push(zk);
  }
  return { all, entry, revoked };
}

/** Whether a DNSKEY's RDATA is the key a DS (or a DS-form anchor) names (RFC 4034 §5.1.4). */
export function matchesDs(
  owner: Name,
  dnskeyRdata: Buffer,
  ds: { readonly keyTag: number; readonly algorithm: number; readonly digestType: number; readonly digest: Buffer },
): boolean {
  let key;
  try {
    key = dnskeyOf(dnskeyRdata);
  } catch {
    return false;
  }
  if (key.algorithm !== ds.algorithm || keyTag(dnskeyRdata) !== ds.keyTag) return false;
  const digest = dsDigest(owner, dnskeyRdata, ds.digestType);
  return digest !== undefined && digest.equals(ds.digest);
}

export type RrsetCheck = { ok: true; rrsig: RrsigRdata } | { ok: false; why: string };

/**
 * One RRSIG by one of `keys`, valid now, over the RRset (RFC 4035 §5.3). Cheap checks
 * (signer, labels, validity period, key tag) come before any verification; each key tried
 * costs one verification from `budget`, and at most MAX_VERIFICATIONS_PER_RRSET are tried.
 */
export function verifyRrset(
  rrset: readonly Rr[],
  section: readonly Rr[],
  zone: { readonly zone: Name; readonly keys: readonly ZoneKey[] },
  now: number,
  budget: WorkBudget,
): RrsetCheck {
  const first = rrset[0] as Rr;
  if (budget.exhausted !== undefined) return { ok: false, why: budget.exhausted };
  const sigs: RrsigRdata[] = [];
  for (const r of section) {
    if (r.type !== TYPE.RRSIG || r.name !== first.name) continue;
    try {
      const sig = rrsigOf(r.rdata);
      if (sig.typeCovered === first.type) sigs.push(sig);
    } catch {
      // A malformed RRSIG is no signature.
    }
  }
  if (sigs.length === 0) return { ok: false, why: 'no RRSIG (unsigned data in a signed zone)' };
  const problems: string[] = [];
  let tried = 0;
  for (const sig of sigs) {
    if (sig.signer !== zone.zone) {
      problems.push(`signed by ${sig.signer || '.'}, expected ${zone.zone || '.'}`);
      continue;
    }
    if (sig.labels > labelCount(first.name)) {
      problems.push('RRSIG label count above the owner name');
      continue;
    }
    if (now > sig.expiration) {
      problems.push(`RRSIG expired ${new Date(sig.expiration * 1000).toISOString()}`);
      continue;
    }
    if (now < sig.inception) {
      problems.push(`RRSIG not valid before ${new Date(sig.inception * 1000).toISOString()}`);
      continue;
    }
    const keys = zone.keys.filter((k) => k.tag === sig.keyTag && k.algorithm === sig.algorithm);
    if (keys.length === 0) {
      problems.push(`no trusted key with tag ${sig.keyTag} (algorithm ${sig.algorithm})`);
      continue;
    }
    if (tried >= MAX_VERIFICATIONS_PER_RRSET) return tooMuchForOneRrset(sigs.length);
    // Built (thousands of records sorted) only for an RRSIG that will be tried, and the tries
    // are capped: an RRset with thousands of records and RRSIGs costs at most the cap.
    const data = signedData(sig, rrset);
    for (const k of keys) {
      if (tried >= MAX_VERIFICATIONS_PER_RRSET) return tooMuchForOneRrset(sigs.length);
      if (!budget.spendVerification()) return { ok: false, why: budget.exhausted ?? TOO_MUCH_WORK };
      tried += 1;
      if (verifySignature(sig.algorithm, k.key, data, sig.signature)) return { ok: true, rrsig: sig };
    }
    problems.push(`signature by key ${sig.keyTag} does not verify`);
  }
  return { ok: false, why: [...new Set(problems)].join('; ') };
}

function tooMuchForOneRrset(rrsigs: number): RrsetCheck {
  return {
    ok: false,
    why: `${TOO_MUCH_WORK}: more than ${MAX_VERIFICATIONS_PER_RRSET} signature verifications for one RRset (${rrsigs} RRSIGs, keys on colliding tags; KeyTrap, CVE-2023-50387)`,
  };
}
