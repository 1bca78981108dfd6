/**
 * DNS names and resource records as DNSSEC needs them: the exact RDATA octets.
 *
 * The project's wire library (dns-packet) encodes the queries, but a validator cannot use
 * its decoded answers: signatures cover the RDATA octets in canonical form (RFC 4034 §6),
 * and dns-packet turns RDATA into objects, maps unknown types in NSEC bitmaps to type 0
 * and decodes binary labels as UTF-8, so re-encoding would not give back what was signed.
 * This reader keeps every record's RDATA as it came, with compressed names expanded.
 *
 * Names are kept in presentation form, lower case, without the trailing dot (the root is
 * ""), with `\.`, `\\` and `\DDD` escapes for octets that are not LDH-safe.
 */
import { MailprobeError } from '../errors.js';

export class WireError extends MailprobeError {
  override readonly name = 'WireError';
}

/** A name in presentation form: lower case, no trailing dot, root = "". */
export type Name = string;

export interface Rr {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** RDATA with compressed names expanded (original case kept: canonicalRdata lowercases). */
  readonly rdata: Buffer;
}

export interface Message {
  readonly id: number;
  /** The first question, as echoed by the server. */
  readonly question?: { readonly name: Name; readonly type: number };
  readonly rcode: number;
  readonly flags: { readonly tc: boolean; readonly ad: boolean; readonly aa: boolean };
  readonly answer: readonly Rr[];
  readonly authority: readonly Rr[];
  /** Extended DNS Errors (RFC 8914) from the OPT record: why a resolver failed. */
  readonly ede?: readonly ExtendedError[];
}

export interface ExtendedError {
  /** INFO-CODE, e.g. 7 (Signature Expired). */
  readonly code: number;
  /** EXTRA-TEXT, printable and capped. */
  readonly text: string;
}

/** The EDE option code in an OPT record (RFC 8914 §2). */
export const EDE_OPTION = 15;
/** EXTRA-TEXT is the resolver's; a message quotes at most this much of it. */
const MAX_EDE_TEXT = 120;
const MAX_EDE_OPTIONS = 4;

/** The EDE options of an OPT record's RDATA; malformed options end the list. */
function extendedErrors(rdata: Buffer): ExtendedError[] {
  const out: ExtendedError[] = [];
  let pos = 0;
  while (pos + 4 <= rdata.length && out.length < MAX_EDE_OPTIONS) {
    const code = rdata.readUInt16BE(pos);
    const length = rdata.readUInt16BE(pos + 2);
    const start = pos + 4;
    if (start + length > rdata.length) break;
    if (code === EDE_OPTION && length >= 2) {
      const text = rdata
        .subarray(start + 2, start + Math.min(length, 2 + MAX_EDE_TEXT * 4))
        .toString('utf8')
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, MAX_EDE_TEXT);
      out.push({ code: rdata.readUInt16BE(start), text });
    }
    pos = start + length;
  }
  return out;
}

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  TLSA: 52,
} as const;

const TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** Labels of a presentation-form name, each as its octets (root: none). */
export function nameLabels(name: Name): Buffer[] {
  if (name === '' || name === '.') return [];
  const labels: Buffer[] = [];
  let current: number[] = [];
  for (let i = 0; i < name.length; i += 1) {
    const ch = name.charCodeAt(i);
    if (ch === 0x5c /* \ */) {
      const next = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(next)) {
        current.push(Number(next));
        i += 3;
      } else {
        current.push(name.charCodeAt(i + 1));
        i += 1;
      }
    } else if (ch === 0x2e /* . */) {
      labels.push(Buffer.from(current));
      current = [];
    } else {
      current.push(ch);
    }
  }
  if (current.length > 0 || labels.length > 0) labels.push(Buffer.from(current));
  return labels;
}

function labelText(label: Buffer): string {
  let out = '';
  for (const octet of label) {
    const c = octet >= 0x41 && octet <= 0x5a ? octet + 0x20 : octet;
    if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, '0')}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/** Normalises user input or a decoded name: lower case, no trailing dot. */
export function normaliseName(name: string): Name {
  return nameLabels(name.replace(/\.$/, '')).map(labelText).join('.');
}

export function labelCount(name: Name): number {
  return nameLabels(name).length;
}

/** True when `name` is `ancestor` or below it. */
export function isSubdomain(name: Name, ancestor: Name): boolean {
  if (ancestor === '') return true;
  return name === ancestor || name.endsWith(`.${ancestor}`);
}

export function parentName(name: Name): Name {
  const labels = nameLabels(name);
  return labels.slice(1).map(labelText).join('.');
}

/** The rightmost `count` labels of `name`. */
export function suffixName(name: Name, count: number): Name {
  const labels = nameLabels(name);
  return labels
    .slice(labels.length - count)
    .map(labelText)
    .join('.');
}

/** The name in uncompressed wire form, lower case (canonical, RFC 4034 §6.2). */
export function nameToWire(name: Name): Buffer {
  const parts: Buffer[] = [];
  for (const label of nameLabels(name)) {
    if (label.length > 63) throw new WireError(`label too long in ${name}`);
    parts.push(Buffer.from([label.length]), Buffer.from(label.map((c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c))));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Canonical DNS name order (RFC 4034 §6.1): label by label from the right, octets lower-cased. */
export function compareNames(a: Name, b: Name): number {
  const la = nameLabels(a).reverse();
  const lb = nameLabels(b).reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i += 1) {
    const c = Buffer.compare(lowerOctets(la[i] as Buffer), lowerOctets(lb[i] as Buffer));
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

function lowerOctets(label: Buffer): Buffer {
  return Buffer.from(label.map((c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)));
}

// --- reading messages ---------------------------------------------------------------

/** Reads a possibly compressed name at `offset`; returns it and the offset after it. */
export function readName(buf: Buffer, offset: number): { name: Name; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the end of the message');
    const len = buf[pos] as number;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('truncated compression pointer');
      if (next < 0) next = pos + 2;
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      // Loops and forward pointers are malformed (RFC 1035 §4.1.4: pointers to prior data).
      if (++jumps > 64 || target >= pos) throw new WireError('bad compression pointer');
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new WireError('unknown label type');
    if (pos + 1 + len > buf.length) throw new WireError('label runs past the end of the message');
    length += len + 1;
    if (length > 255) throw new WireError('name longer than 255 octets');
    labels.push(labelText(buf.subarray(pos + 1, pos + 1 + len)));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/**
 * Types whose RDATA holds names that may be compressed (RFC 3597 §4: only the well-known
 * ones) and must be lower-cased for signing (RFC 4034 §6.2, as amended by RFC 6840 §5.1:
 * NSEC names keep their case). Value: byte offsets of the fixed fields before each name.
 */
const NAME_RDATA: Readonly<Record<number, readonly number[]>> = {
  [TYPE.NS]: [0],
  [TYPE.CNAME]: [0],
  [TYPE.PTR]: [0],
  [TYPE.DNAME]: [0],
  [TYPE.MX]: [2],
  [TYPE.SRV]: [6],
  [TYPE.SOA]: [0, 0],
};

/** Expands compressed names in RDATA and lowercases them where RFC 4034 §6.2 says so. */
function expandRdata(msg: Buffer, type: number, start: number, length: number): Buffer {
  const layout = NAME_RDATA[type];
  const end = start + length;
  if (layout === undefined) {
    if (type === TYPE.RRSIG) {
      // Signer name at offset 18, never compressed; lower-cased (RFC 6840 §5.1).
      const { name, next } = readName(msg, start + 18);
      return Buffer.concat([msg.subarray(start, start + 18), nameToWire(name), msg.subarray(next, end)]);
    }
    return Buffer.from(msg.subarray(start, end));
  }
  const parts: Buffer[] = [];
  let pos = start;
  for (const fixed of layout) {
    parts.push(msg.subarray(pos, pos + fixed));
    pos += fixed;
    const { name, next } = readName(msg, pos);
    parts.push(nameToWire(name));
    pos = next;
  }
  if (pos > end) throw new WireError(`${typeName(type)} RDATA shorter than its names`);
  parts.push(msg.subarray(pos, end));
  return Buffer.concat(parts);
}

/** Parses a response; every section length and offset is checked against the buffer. */
export function parseMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new WireError('message shorter than its header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let pos = 12;
  let question: Message['question'];
  for (let i = 0; i < (counts[0] as number); i += 1) {
    const q = readName(buf, pos);
    if (q.next + 4 > buf.length) throw new WireError('truncated question');
    if (question === undefined) question = { name: q.name, type: buf.readUInt16BE(q.next) };
    pos = q.next + 4;
  }
  const sections: Rr[][] = [[], [], []];
  let extendedRcode = 0;
  let ede: ExtendedError[] = [];
  for (let s = 0; s < 3; s += 1) {
    for (let i = 0; i < (counts[s + 1] as number); i += 1) {
      const { name, next } = readName(buf, pos);
      if (next + 10 > buf.length) throw new WireError('truncated resource record');
      const type = buf.readUInt16BE(next);
      const klass = buf.readUInt16BE(next + 2);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlength = buf.readUInt16BE(next + 8);
      const rdStart = next + 10;
      if (rdStart + rdlength > buf.length) throw new WireError('RDATA runs past the end of the message');
      if (type === TYPE.OPT) {
        extendedRcode = (ttl >>> 24) << 4;
        ede = extendedErrors(buf.subarray(rdStart, rdStart + rdlength));
      } else sections[s]?.push({ name, type, class: klass, ttl, rdata: expandRdata(buf, type, rdStart, rdlength) });
      pos = rdStart + rdlength;
    }
  }
  return {
    id,
    ...(question !== undefined ? { question } : {}),
    rcode: (flags & 0x0f) | extendedRcode,
    flags: { tc: (flags & 0x0200) !== 0, ad: (flags & 0x0020) !== 0, aa: (flags & 0x0400) !== 0 },
    answer: sections[0] ?? [],
    authority: sections[1] ?? [],
    ...(ede.length > 0 ? { ede } : {}),
  };
}

// --- RDATA of the types DNSSEC and DANE read ----------------------------------------

export interface DnskeyRdata {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  readonly publicKey: Buffer;
}

export function dnskeyOf(rdata: Buffer): DnskeyRdata {
  if (rdata.length < 4) throw new WireError('DNSKEY RDATA too short');
  return {
    flags: rdata.readUInt16BE(0),
    protocol: rdata[2] as number,
    algorithm: rdata[3] as number,
    publicKey: rdata.subarray(4),
  };
}

export interface DsRdata {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Buffer;
}

export function dsOf(rdata: Buffer): DsRdata {
  if (rdata.length < 4) throw new WireError('DS RDATA too short');
  return {
    keyTag: rdata.readUInt16BE(0),
    algorithm: rdata[2] as number,
    digestType: rdata[3] as number,
    digest: rdata.subarray(4),
  };
}

export interface RrsigRdata {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  readonly signer: Name;
  readonly signature: Buffer;
  /** RDATA without the signature: the start of the signed data (RFC 4034 §3.1.8.1). */
  readonly head: Buffer;
}

export function rrsigOf(rdata: Buffer): RrsigRdata {
  if (rdata.length < 19) throw new WireError('RRSIG RDATA too short');
  const { name, next } = readName(rdata, 18);
  return {
    typeCovered: rdata.readUInt16BE(0),
    algorithm: rdata[2] as number,
    labels: rdata[3] as number,
    originalTtl: rdata.readUInt32BE(4),
    expiration: rdata.readUInt32BE(8),
    inception: rdata.readUInt32BE(12),
    keyTag: rdata.readUInt16BE(16),
    signer: name,
    signature: rdata.subarray(next),
    head: rdata.subarray(0, next),
  };
}

/** Types present in an NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2). */
export function typeBitmap(buf: Buffer): Set<number> {
  const types = new Set<number>();
  let pos = 0;
  while (pos + 2 <= buf.length) {
    const window = buf[pos] as number;
    const len = buf[pos + 1] as number;
    if (len < 1 || len > 32 || pos + 2 + len > buf.length) throw new WireError('bad type bitmap');
    for (let i = 0; i < len; i += 1) {
      const octet = buf[pos + 2 + i] as number;
      for (let bit = 0; bit < 8; bit += 1) if (octet & (0x80 >> bit)) types.add(window * 256 + i * 8 + bit);
    }
    pos += 2 + len;
  }
  return types;
}

export interface NsecRdata {
  readonly next: Name;
  readonly types: ReadonlySet<number>;
}

export function nsecOf(rdata: Buffer): NsecRdata {
  const { name, next } = readName(rdata, 0);
  return { next: name, types: typeBitmap(rdata.subarray(next)) };
}

export interface Nsec3Rdata {
  readonly hashAlgorithm: number;
  readonly flags: number;
  readonly iterations: number;
  readonly salt: Buffer;
  /** The next hashed owner name, raw (not base32). */
  readonly nextHashed: Buffer;
  readonly types: ReadonlySet<number>;
}

/**
 * NSEC3 RDATA (RFC 5155 §3.2): algorithm, flags, iterations, salt length and salt, hash
 * length (1 to 255) and the next hashed owner name, then the type bitmap. Throws WireError
 * when a length field points past the end or the hash is empty: such a record must prove
 * nothing (an empty next hash would "cover" every name).
 */
export function nsec3Of(rdata: Buffer): Nsec3Rdata {
  if (rdata.length < 6) throw new WireError('NSEC3 RDATA too short');
  const saltLength = rdata[4] as number;
  const hashAt = 5 + saltLength;
  if (hashAt >= rdata.length) throw new WireError('NSEC3 salt runs past the end of the RDATA');
  const hashLength = rdata[hashAt] as number;
  if (hashLength === 0) throw new WireError('NSEC3 next hashed owner name is empty');
  if (hashAt + 1 + hashLength > rdata.length) throw new WireError('NSEC3 next hashed owner name runs past the end');
  return {
    hashAlgorithm: rdata[0] as number,
    flags: rdata[1] as number,
    iterations: rdata.readUInt16BE(2),
    salt: rdata.subarray(5, hashAt),
    nextHashed: rdata.subarray(hashAt + 1, hashAt + 1 + hashLength),
    types: typeBitmap(rdata.subarray(hashAt + 1 + hashLength)),
  };
}

export function mxOf(rdata: Buffer): { priority: number; exchange: Name } {
  if (rdata.length < 3) throw new WireError('MX RDATA too short');
  return { priority: rdata.readUInt16BE(0), exchange: readName(rdata, 2).name };
}

export function cnameOf(rdata: Buffer): Name {
  return readName(rdata, 0).name;
}

/** The target of a DNAME (RFC 6672): one name, like a CNAME's. */
export const dnameOf = cnameOf;

export function addressOf(type: number, rdata: Buffer): string {
  if (type === TYPE.A && rdata.length === 4) return [...rdata].join('.');
  if (type === TYPE.AAAA && rdata.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(rdata.readUInt16BE(i).toString(16));
    // Node's net module accepts the uncompressed form; compress the longest zero run for display.
    return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  }
  throw new WireError(`bad ${typeName(type)} RDATA length ${rdata.length}`);
}

export interface TlsaRdata {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

export function tlsaOf(rdata: Buffer): TlsaRdata {
  if (rdata.length < 3) throw new WireError('TLSA RDATA too short');
  return {
    usage: rdata[0] as number,
    selector: rdata[1] as number,
    matchingType: rdata[2] as number,
    data: rdata.subarray(3),
  };
}

// --- canonical form (RFC 4034 §6) -------------------------------------------------------

/**
 * The octets an RRSIG covers (RFC 4034 §3.1.8.1, §6.2, §6.3): the RRSIG RDATA without its
 * signature, then every RR of the set in canonical form with the original TTL, sorted by
 * RDATA and without duplicates. A wildcard expansion (RRSIG labels below the owner's
 * label count) is signed under the wildcard owner `*.<closest encloser>`.
 */
export function signedData(rrsig: RrsigRdata, rrset: readonly Rr[]): Buffer {
  const first = rrset[0];
  if (first === undefined) throw new WireError('empty RRset');
  const owners = labelCount(first.name);
  const owner =
    rrsig.labels < owners ? `*${rrsig.labels > 0 ? `.${suffixName(first.name, rrsig.labels)}` : ''}` : first.name;
  const ownerWire = nameToWire(owner);
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(first.type, 0);
  fixed.writeUInt16BE(first.class, 2);
  fixed.writeUInt32BE(rrsig.originalTtl, 4);
  const sorted = [...rrset].map((rr) => rr.rdata).sort(Buffer.compare);
  const unique = sorted.filter((rdata, i) => i === 0 || !rdata.equals(sorted[i - 1] as Buffer));
  const parts: Buffer[] = [rrsig.head];
  for (const rdata of unique) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(rdata.length, 0);
    parts.push(ownerWire, fixed, len, rdata);
  }
  return Buffer.concat(parts);
}
