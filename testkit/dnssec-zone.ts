/**
 * A DNSSEC-signed zone held in memory, signed at run time with node:crypto (Ed25519), and
 * the shapes a hostile authoritative server serves from it: many keys brute-forced onto one
 * key tag, many RRSIGs on one RRset, NSEC3 at high iterations with long salts and wide
 * answers, renamed wildcard NSECs. `query` answers the validator as a resolver would
 * (DO and CD set): from `answers`, else with a signed NSEC at the name denying a DS, else
 * an empty NOERROR.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { base32hex, keyTag, nsec3Hash } from '../lambdas/engine/dnssec/crypto.js';
import type { QueryFn } from '../lambdas/engine/dnssec/transport.js';
import {
  labelCount,
  nameToWire,
  RCODE,
  readName,
  rrsigOf,
  signedData,
  TYPE,
  type Message,
  type Rr,
} from '../lambdas/engine/dnssec/wire.js';

export function dnskeyRdata(flags: number, algorithm: number, key: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(flags, 0);
  head[2] = 3;
  head[3] = algorithm;
  return Buffer.concat([head, key]);
}

/** An NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2). */
export function bitmap(types: readonly number[]): Buffer {
  const windows = new Map<number, number[]>();
  for (const t of types) {
    const w = windows.get(t >> 8) ?? new Array<number>(32).fill(0);
    w[(t & 0xff) >> 3] = (w[(t & 0xff) >> 3] ?? 0) | (0x80 >> (t & 7));
    windows.set(t >> 8, w);
  }
  return Buffer.from(
    [...windows].flatMap(([w, bytes]) => {
      const last = bytes.reduce((acc, b, i) => (b !== 0 ? i : acc), 0);
      return [w, last + 1, ...bytes.slice(0, last + 1)];
    }),
  );
}

export function message(m: Partial<Message>): Message {
  return { id: 0, rcode: RCODE.NOERROR, flags: { tc: false, ad: false, aa: true }, answer: [], authority: [], ...m };
}

export function rr(name: string, type: number, rdata: Buffer): Rr {
  return { name, type, class: 1, ttl: 300, rdata };
}

/**
 * `count` Ed25519 zone keys (flags 256) whose key tag is `tag`: random public keys with the
 * last two octets solved for the tag, as KeyTrap's zones brute-force them. Most are not
 * valid curve points; OpenSSL imports them anyway and each costs a verification that fails.
 */
export function keysOnTag(tag: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  while (out.length < count) {
    const rdata = dnskeyRdata(256, 15, randomBytes(32));
    // RFC 4034 Appendix B: even octets add to the high byte, odd to the low one, then fold.
    let base = 0;
    for (let i = 0; i < rdata.length - 2; i += 1) base += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
    search: for (let hi = 0; hi < 256; hi += 1) {
      for (let lo = 0; lo < 256; lo += 1) {
        const ac = base + (hi << 8) + lo;
        if (((ac + ((ac >> 16) & 0xffff)) & 0xffff) === tag) {
          rdata[rdata.length - 2] = hi;
          rdata[rdata.length - 1] = lo;
          break search;
        }
      }
    }
    if (keyTag(rdata) === tag) out.push(rdata);
  }
  return out;
}

export interface SignedZoneOptions {
  /** DNSKEY flags of the zone's one key (KSK and ZSK at once). @default 257 */
  readonly flags?: number;
}

export class SignedZone {
  readonly answers = new Map<string, Message>();
  readonly keyRdata: Buffer;
  readonly tag: number;
  readonly anchor: string;
  private readonly privateKey: KeyObject;
  private readonly now = Math.floor(Date.now() / 1000);

  constructor(
    readonly origin: string,
    options: SignedZoneOptions = {},
  ) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const flags = options.flags ?? 257;
    this.keyRdata = dnskeyRdata(flags, 15, raw);
    this.tag = keyTag(this.keyRdata);
    this.anchor = `${origin}. IN DNSKEY ${flags} 3 15 ${raw.toString('base64')}`;
    this.setDnskeys([]);
  }

  /** The DNSKEY RRset: the zone's key first, then `extra`, signed by the zone's key. */
  setDnskeys(extra: readonly Buffer[], extraSigs: readonly Rr[] = []): void {
    const set = [this.keyRdata, ...extra].map((k) => rr(this.origin, TYPE.DNSKEY, k));
    this.answers.set(`${TYPE.DNSKEY}|${this.origin}`, message({ answer: [...set, ...extraSigs, this.rrsig(set)] }));
  }

  /** An RRSIG over `rrset` by the zone's key; `labels` below the owner's count makes it a wildcard expansion. */
  rrsig(rrset: readonly Rr[], labels = labelCount(rrset[0]!.name), tag = this.tag, signature?: Buffer): Rr {
    const head = Buffer.alloc(18);
    head.writeUInt16BE(rrset[0]!.type, 0);
    head[2] = 15;
    head[3] = labels;
    head.writeUInt32BE(300, 4);
    head.writeUInt32BE(this.now + 86400, 8);
    head.writeUInt32BE(this.now - 86400, 12);
    head.writeUInt16BE(tag, 16);
    const unsigned = Buffer.concat([head, nameToWire(this.origin)]);
    const sig = signature ?? sign(null, signedData(rrsigOf(unsigned), rrset), this.privateKey);
    return rr(rrset[0]!.name, TYPE.RRSIG, Buffer.concat([unsigned, sig]));
  }

  signedSet(rrset: readonly Rr[], labels?: number): Rr[] {
    return [...rrset, this.rrsig(rrset, labels)];
  }

  /** `count` RRSIGs over `rrset` on key tag `tag` whose signatures are random: each one verification that fails. */
  bogusRrsigs(rrset: readonly Rr[], count: number, tag = this.tag): Rr[] {
    return Array.from({ length: count }, () => this.rrsig(rrset, undefined, tag, randomBytes(64)));
  }

  /** A signed NSEC at `name` with these types, pointing just below it (RFC 4034 §6.1 order). */
  nsecAt(name: string, types: readonly number[]): Rr[] {
    return this.signedSet([rr(name, TYPE.NSEC, Buffer.concat([nameToWire(`\\000.${name}`), bitmap(types)]))]);
  }

  /**
   * `count` signed NSEC3 records with these parameters, the first matching `name` with the
   * given types (a NODATA proof's core), the rest spread over the hash space: a wide answer.
   */
  nsec3Answer(name: string, types: readonly number[], iterations: number, salt: Buffer, count: number): Rr[] {
    const hashes = [nsec3Hash(name, salt, iterations)];
    for (let i = 1; i < count; i += 1) hashes.push(randomBytes(20));
    const out: Rr[] = [];
    for (const h of hashes) {
      const next = Buffer.from(h);
      next[19] = (next[19]! + 1) & 0xff;
      const head = Buffer.alloc(5);
      head[0] = 1;
      head.writeUInt16BE(iterations, 2);
      head[4] = salt.length;
      const rdata = Buffer.concat([head, salt, Buffer.from([20]), next, bitmap(types)]);
      out.push(...this.signedSet([rr(`${base32hex(h)}.${this.origin}`, TYPE.NSEC3, rdata)]));
    }
    return out;
  }

  /** What a resolver would answer; DS queries for unlisted names get a signed NODATA. */
  readonly query: QueryFn = (name, type) => {
    const listed = this.answers.get(`${type}|${name}`);
    if (listed !== undefined) return Promise.resolve(listed);
    if (type === TYPE.DS && name !== this.origin) {
      return Promise.resolve(message({ authority: this.nsecAt(name, [TYPE.A, TYPE.RRSIG, TYPE.NSEC]) }));
    }
    return Promise.resolve(message({}));
  };
}

/** A message on the wire: AA set, RD copied, no name compression, an OPT with DO (RFC 6891). */
export function encodeAnswer(
  queryId: number,
  rd: boolean,
  qname: string,
  qtype: number,
  m: Message,
  maxBytes: number,
): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(queryId, 0);
  head.writeUInt16BE(0x8400 | (rd ? 0x0100 : 0) | (m.rcode & 0x0f), 2);
  head.writeUInt16BE(1, 4);
  const question = Buffer.concat([nameToWire(qname), Buffer.from([qtype >> 8, qtype & 0xff, 0, 1])]);
  const record = (r: Rr): Buffer => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(r.type, 0);
    fixed.writeUInt16BE(r.class, 2);
    fixed.writeUInt32BE(r.ttl, 4);
    fixed.writeUInt16BE(r.rdata.length, 8);
    return Buffer.concat([nameToWire(r.name), fixed, r.rdata]);
  };
  const opt = Buffer.from([0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0]);
  head.writeUInt16BE(m.answer.length, 6);
  head.writeUInt16BE(m.authority.length, 8);
  head.writeUInt16BE(1, 10);
  const whole = Buffer.concat([head, question, ...m.answer.map(record), ...m.authority.map(record), opt]);
  if (whole.length <= maxBytes) return whole;
  // Too big for UDP: TC and nothing else, so the client asks again over TCP.
  head.writeUInt16BE(0x8600 | (rd ? 0x0100 : 0), 2);
  head.writeUInt16BE(0, 6);
  head.writeUInt16BE(0, 8);
  return Buffer.concat([head, question, opt]);
}

/**
 * The zone as a hostile authoritative server on 127.0.0.1 (UDP and TCP, one port), serving
 * exactly the crafted answers: for Unbound to judge as a stub zone, the reference verdict.
 */
export async function serveZone(zone: SignedZone): Promise<{ port: number; close: () => Promise<void> }> {
  const answer = async (query: Buffer, maxBytes: number): Promise<Buffer | undefined> => {
    try {
      const { name, next } = readName(query, 12);
      const qtype = query.readUInt16BE(next);
      const m = await zone.query(name, qtype, 1000);
      return encodeAnswer(query.readUInt16BE(0), (query[2]! & 0x01) !== 0, name, qtype, m, maxBytes);
    } catch {
      return undefined;
    }
  };
  const tcp = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const query = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + query.length);
        void answer(query, 65_535).then((out) => {
          if (out === undefined) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length, 0);
          socket.write(Buffer.concat([len, out]));
        });
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as AddressInfo).port;
  const udp = createSocket('udp4');
  udp.on('message', (query, from) => {
    void answer(query, 1232).then((out) => {
      if (out !== undefined) udp.send(out, from.port, from.address);
    });
  });
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  return {
    port,
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
