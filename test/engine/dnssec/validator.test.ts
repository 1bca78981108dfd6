/**
 * The pure parts of the DNSSEC validator: names and their canonical order, the wire reader,
 * key tags and DS digests, trust-anchor files, NSEC/NSEC3 denial. The signatures themselves
 * are exercised against zones signed by ldns in system-dane.test.ts.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { edeOption, servfailWith } from '../../../testkit/dns-messages.js';
import {
  closestAnchorZone,
  IANA_ROOT_ANCHORS,
  parseTrustAnchors,
  TrustAnchorError,
} from '../../../lambdas/engine/dnssec/anchors.js';
import { base32hex, dsDigest, keyTag, nsec3Hash } from '../../../lambdas/engine/dnssec/crypto.js';
import {
  nsec3NameState,
  nsec3ProvesNodata,
  nsec3ProvesNoCloserMatch,
  nsec3ProvesNxdomain,
  nsecCovers,
  nsecProvesNodata,
  nsecProvesNoCloserMatch,
  nsecProvesNxdomain,
} from '../../../lambdas/engine/dnssec/proofs.js';
import type { QueryFn } from '../../../lambdas/engine/dnssec/transport.js';
import { Validator } from '../../../lambdas/engine/dnssec/validator.js';
import {
  compareNames,
  labelCount,
  nameToWire,
  normaliseName,
  nsec3Of,
  parseMessage,
  RCODE,
  readName,
  rrsigOf,
  signedData,
  TYPE,
  WireError,
  type Message,
  type Rr,
} from '../../../lambdas/engine/dnssec/wire.js';

/** RFC 4034 §5.4's example key and its DS. */
const RFC4034_DNSKEY = `dskey.example.com. 86400 IN DNSKEY 256 3 5 ( AQOeiiR0GOMYkDshWoSKz9Xz
                                             fwJr1AYtsmx3TGkJaNXVbfi/
                                             2pHm822aJ5iI9BMzNXxeYCmZ
                                             DRD99WYwYqUSdjMmmAphXdvx
                                             egXd/M5+X7OrzKBaMbCVdFLU
                                             Uh6DhweJBjEVv5f2wwjM9Xzc
                                             nOf+EPbtG9DMBmADjFDc2w/r
                                             ljwvFw==
                                             ) ;  key id = 60485`;

function dnskeyRdata(flags: number, algorithm: number, key: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(flags, 0);
  head[2] = 3;
  head[3] = algorithm;
  return Buffer.concat([head, key]);
}

/** An NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2). */
function bitmap(types: readonly number[]): Buffer {
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

function nsec(owner: string, next: string, types: readonly number[]): Rr {
  return {
    name: owner,
    type: TYPE.NSEC,
    class: 1,
    ttl: 300,
    rdata: Buffer.concat([nameToWire(next), bitmap(types)]),
  };
}

/** NSEC3 RDATA: SHA-1, no salt, no extra iterations (RFC 9276), as the test zones use. */
function nsec3Rdata(next: Buffer, types: readonly number[], flags = 0): Buffer {
  return Buffer.concat([Buffer.from([1, flags, 0, 0, 0, next.length]), next, bitmap(types)]);
}

/**
 * The whole NSEC3 chain of a zone whose names (apex, empty non-terminals with no types,
 * wildcards) and their types are given: owners `<hash>.<zone>` in hash order, each pointing
 * at the next, the last at the first.
 */
function nsec3Chain(zone: string, names: Readonly<Record<string, readonly number[]>>, flags = 0): Rr[] {
  const hashed = Object.entries(names)
    .map(([name, types]) => ({ hash: nsec3Hash(name, Buffer.alloc(0), 0), types }))
    .sort((a, b) => Buffer.compare(a.hash, b.hash));
  return hashed.map((h, i) => ({
    name: `${base32hex(h.hash)}.${zone}`,
    type: TYPE.NSEC3,
    class: 1,
    ttl: 300,
    rdata: nsec3Rdata(hashed[(i + 1) % hashed.length]!.hash, h.types, flags),
  }));
}

describe('names', () => {
  it('orders names canonically (RFC 4034 §6.1 example)', () => {
    const ordered = [
      'example',
      'a.example',
      'yljkjljk.a.example',
      'Z.a.example',
      'zABC.a.EXAMPLE',
      'z.example',
      '\\001.z.example',
      '*.z.example',
      '\\200.z.example',
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareNames)).toEqual(ordered);
  });

  it('normalises case, trailing dots and escapes', () => {
    expect(normaliseName('MX.Example.COM.')).toBe('mx.example.com');
    expect(normaliseName('a\\.b.example')).toBe('a\\.b.example');
    expect(nameToWire('A.b')).toEqual(Buffer.from([1, 0x61, 1, 0x62, 0]));
    expect(nameToWire('')).toEqual(Buffer.from([0]));
  });

  it('follows compression pointers and refuses loops and forward pointers', () => {
    // "example" at 0, then "mx" + pointer to 0 at 9.
    const msg = Buffer.from([7, ...Buffer.from('example'), 0, 2, ...Buffer.from('mx'), 0xc0, 0]);
    expect(readName(msg, 9)).toEqual({ name: 'mx.example', next: 14 });
    expect(() => readName(Buffer.from([0xc0, 0]), 0)).toThrow(WireError);
    expect(() => readName(Buffer.from([0xc0, 2, 0]), 0)).toThrow(WireError);
    expect(() => readName(Buffer.from([5, 0x61]), 0)).toThrow(WireError);
  });

  it('reads Extended DNS Errors (RFC 8914) from the OPT record: printable, capped, malformed options ignored', () => {
    const ede = edeOption;
    const message = (options: { code: number; data: Buffer }[]) =>
      servfailWith('_25._tcp.mx.example.test', 'TLSA', options);
    const parsed = parseMessage(
      message([
        { code: 10, data: Buffer.alloc(8) }, // a cookie first
        ede(7, 'signature expired\r\n\u001b[31m'),
        ede(22, 'x'.repeat(500)),
      ]),
    );
    expect(parsed.rcode).toBe(2);
    expect(parsed.ede).toEqual([
      { code: 7, text: 'signature expired???[31m' },
      { code: 22, text: 'x'.repeat(120) },
    ]);
    // An option whose length runs past the OPT RDATA ends the list; no EDE, no field.
    const bad = message([ede(6, 'bogus')]);
    bad.writeUInt16BE(200, bad.length - 7 - 2);
    expect(() => parseMessage(bad)).not.toThrow();
    expect(parseMessage(bad).ede).toBeUndefined();
    expect(parseMessage(message([])).ede).toBeUndefined();
  });

  it('rejects a message whose RDATA runs past its end', () => {
    const header = Buffer.from([0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]);
    const rr = Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0]);
    expect(() => parseMessage(Buffer.concat([header, rr]))).toThrow(/past the end/);
    const ok = parseMessage(Buffer.concat([header, rr, Buffer.from([0, 1])]));
    expect(ok.answer[0]).toMatchObject({ name: '', type: TYPE.A, ttl: 60 });
  });
});

describe('canonical RRset form (RFC 4034 §3.1.8.1, §6.3)', () => {
  const rrsigHead = Buffer.from([0, 1, 13, 2, 0, 0, 1, 44, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7, 0]);
  const rrsig = {
    typeCovered: 1,
    algorithm: 13,
    labels: 2,
    originalTtl: 300,
    expiration: 2,
    inception: 1,
    keyTag: 7,
    signer: '',
    signature: Buffer.alloc(0),
    head: rrsigHead,
  };
  const a = (rdata: number[], ttl = 60, name = 'a.example'): Rr => ({
    name,
    type: 1,
    class: 1,
    ttl,
    rdata: Buffer.from(rdata),
  });

  it('sorts by RDATA, drops duplicates and uses the original TTL', () => {
    const data = signedData(rrsig, [a([10, 0, 0, 2]), a([10, 0, 0, 1]), a([10, 0, 0, 2], 5)]);
    const owner = nameToWire('a.example');
    const rr = (last: number): Buffer =>
      Buffer.concat([owner, Buffer.from([0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, last])]);
    expect(data).toEqual(Buffer.concat([rrsigHead, rr(1), rr(2)]));
  });

  it('signs a wildcard expansion under the wildcard owner', () => {
    const data = signedData({ ...rrsig, labels: 1 }, [a([10, 0, 0, 1], 60, 'host.example')]);
    expect(data.subarray(rrsigHead.length, rrsigHead.length + 11)).toEqual(nameToWire('*.example'));
  });
});

describe('keys and digests', () => {
  it('computes RFC 4034 §5.4 example key tag and SHA-1 DS digest', () => {
    const [anchor] = parseTrustAnchors(RFC4034_DNSKEY);
    expect(anchor?.kind).toBe('DNSKEY');
    if (anchor?.kind !== 'DNSKEY') return;
    const rdata = dnskeyRdata(anchor.flags, anchor.algorithm, anchor.publicKey);
    expect(keyTag(rdata)).toBe(60485);
    expect(dsDigest('dskey.example.com', rdata, 1)?.toString('hex').toUpperCase()).toBe(
      '2BB183AF5F22588179A53B0A98631FAD1A292118',
    );
    expect(dsDigest('dskey.example.com', rdata, 99)).toBeUndefined();
  });

  it('hashes NSEC3 owner names (RFC 5155 Appendix A: example, salt aabbccdd, 12 iterations)', () => {
    expect(base32hex(nsec3Hash('example', Buffer.from('aabbccdd', 'hex'), 12))).toBe(
      '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom',
    );
    expect(base32hex(nsec3Hash('a.example', Buffer.from('aabbccdd', 'hex'), 12))).toBe(
      '35mthgpgcu1qg68fab165klnsnk3dpvl',
    );
  });
});

describe('trust anchors', () => {
  it('ships the IANA root KSKs 20326 and 38696', () => {
    expect(
      IANA_ROOT_ANCHORS.map((a) => (a.kind === 'DS' ? [a.zone, a.keyTag, a.algorithm, a.digestType] : [])),
    ).toEqual([
      ['', 20326, 8, 2],
      ['', 38696, 8, 2],
    ]);
  });

  it('parses DS records with TTL and class in any order, comments and blank lines', () => {
    const anchors = parseTrustAnchors(
      '; test anchors\n\nExample.COM. 3600 IN DS 12345 13 2 AABB ccdd\nsub.example.net. IN 60 DS 1 8 2 00ff\n',
    );
    expect(anchors).toEqual([
      {
        kind: 'DS',
        zone: 'example.com',
        keyTag: 12345,
        algorithm: 13,
        digestType: 2,
        digest: Buffer.from('aabbccdd', 'hex'),
      },
      {
        kind: 'DS',
        zone: 'sub.example.net',
        keyTag: 1,
        algorithm: 8,
        digestType: 2,
        digest: Buffer.from('00ff', 'hex'),
      },
    ]);
  });

  it.each([
    ['example.com IN DS 1 8 2 00ff', /fully qualified/],
    ['example.com. IN DS 1 8 2 0g', /hexadecimal/],
    ['example.com. IN A 192.0.2.1', /expected a DS or DNSKEY record, got "A"/],
    ['example.com. IN DS 70000 8 2 00', /bad key tag/],
    ['example.com. IN DNSKEY 257 2 13 AAAA', /protocol must be 3/],
    ['; nothing\n', /no DS or DNSKEY record/],
  ])('refuses %j', (text, error) => {
    expect(() => parseTrustAnchors(text)).toThrow(TrustAnchorError);
    expect(() => parseTrustAnchors(text)).toThrow(error);
  });

  it('picks the closest enclosing anchor; names under none have no anchor', () => {
    const anchors = parseTrustAnchors('example.com. DS 1 8 2 00\nsub.example.com. DS 2 8 2 00\n. DS 3 8 2 00\n');
    expect(closestAnchorZone('a.sub.example.com', anchors)).toBe('sub.example.com');
    expect(closestAnchorZone('other.example.com', anchors)).toBe('example.com');
    expect(closestAnchorZone('example.org', anchors)).toBe('');
    expect(closestAnchorZone('notexample.com', anchors.slice(0, 2))).toBeUndefined();
  });
});

describe('NSEC denial (RFC 4035 §5.4)', () => {
  it('covers names between owner and next, wrapping at the end of the zone', () => {
    expect(nsecCovers('a.example', 'c.example', 'b.example')).toBe(true);
    expect(nsecCovers('a.example', 'c.example', 'a.example')).toBe(false);
    expect(nsecCovers('a.example', 'c.example', 'd.example')).toBe(false);
    expect(nsecCovers('z.example', 'example', 'zz.example')).toBe(true);
  });

  it('proves NXDOMAIN only with the wildcard denied too', () => {
    const cover = nsec('a.example', 'c.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNxdomain([cover], 'b.example')).toEqual({
      kind: 'failed',
      why: 'no NSEC denies the wildcard *.example',
    });
    const apex = nsec('example', 'a.example', [TYPE.SOA, TYPE.NS, TYPE.RRSIG, TYPE.NSEC, TYPE.DNSKEY]);
    expect(nsecProvesNxdomain([cover, apex], 'b.example')).toEqual({ kind: 'proven' });
  });

  it('proves NODATA at the name, or for an empty non-terminal, never with the type or a CNAME', () => {
    const at = nsec('mx.example', 'z.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNodata([at], 'mx.example', TYPE.TLSA)).toEqual({ kind: 'proven' });
    expect(nsecProvesNodata([at], 'mx.example', TYPE.A).kind).toBe('failed');
    const cname = nsec('mx.example', 'z.example', [TYPE.CNAME, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNodata([cname], 'mx.example', TYPE.TLSA).kind).toBe('failed');
    // _tcp.mx.example exists only because _25._tcp.mx.example does.
    const ent = nsec('mx.example', '_25._tcp.mx.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNodata([ent], '_tcp.mx.example', TYPE.DS)).toEqual({ kind: 'proven' });
  });
});

describe('wildcard answers with NSEC (RFC 4035 §3.1.3.4, §5.3.4, §5.4)', () => {
  // example: apex, *.example (A), sib.example (A), z.example (A), in canonical order;
  // mail.example exists only by the wildcard.
  const apex = nsec('example', '*.example', [TYPE.SOA, TYPE.NS, TYPE.RRSIG, TYPE.NSEC, TYPE.DNSKEY]);
  const wild = nsec('*.example', 'sib.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
  const sib = nsec('sib.example', 'z.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
  const z = nsec('z.example', 'example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);

  it('proves NODATA from a wildcard: an NSEC covers the name, the NSEC at *.<closest encloser> lacks the type', () => {
    // *.example -> sib.example covers mail.example and is itself the wildcard's NSEC.
    expect(nsecProvesNodata([wild], 'mail.example', TYPE.AAAA)).toEqual({ kind: 'proven' });
    expect(nsecProvesNodata([wild], 'mail.example', TYPE.DS)).toEqual({ kind: 'proven' });
    // Several labels below the wildcard: z.example -> example (the end of the zone) covers x.zz.example.
    expect(nsecProvesNodata([z, wild], 'x.zz.example', TYPE.TLSA)).toEqual({ kind: 'proven' });
  });

  it('refuses a wildcard NODATA whose wildcard has the type or a CNAME, or is not at the closest encloser', () => {
    expect(nsecProvesNodata([wild], 'mail.example', TYPE.A)).toMatchObject({
      kind: 'failed',
      why: 'the NSEC at *.example lists the type asked for',
    });
    const cname = nsec('*.example', 'sib.example', [TYPE.CNAME, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNodata([cname], 'mail.example', TYPE.AAAA).kind).toBe('failed');
    // sib.example -> z.example covers x.sib.example, whose closest encloser is sib.example: *.example does not apply.
    expect(nsecProvesNodata([sib, wild], 'x.sib.example', TYPE.AAAA)).toMatchObject({
      kind: 'failed',
      why: 'no NSEC matches x.sib.example or the wildcard *.sib.example',
    });
    // A covering NSEC without the wildcard's.
    expect(nsecProvesNodata([apex, sib], 'tt.example', TYPE.AAAA).kind).toBe('failed');
    // The wildcard's NSEC without one covering the name.
    const far = nsec('*.example', 'a.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNodata([far], 'mail.example', TYPE.AAAA).kind).toBe('failed');
  });

  it('accepts a wildcard expansion only with the next closer name denied', () => {
    // *.example (RRSIG labels 1) answering mail.example: *.example -> sib.example covers it.
    expect(nsecProvesNoCloserMatch([wild], 'mail.example', 1)).toEqual({ kind: 'proven' });
    expect(nsecProvesNoCloserMatch([wild], 'a.mail.example', 1)).toEqual({ kind: 'proven' });
    expect(nsecProvesNoCloserMatch([wild], 'mail.example', 2).kind).toBe('failed');
  });

  it('refuses a *.example RRset replayed for a.sib.example while sib.example exists', () => {
    // sib.example -> z.example covers a.sib.example but not sib.example: the closest encloser is sib.example.
    expect(nsecCovers('sib.example', 'z.example', 'a.sib.example')).toBe(true);
    expect(nsecProvesNoCloserMatch([sib], 'a.sib.example', 1)).toEqual({
      kind: 'failed',
      why: 'no NSEC proves that nothing closer than the wildcard *.example matches a.sib.example',
    });
    // sib.example an empty non-terminal (c.sib.example exists): *.example -> c.sib.example covers sib.example
    // and a.sib.example, but its next name shows sib.example exists.
    const ent = nsec('*.example', 'c.sib.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
    expect(nsecProvesNoCloserMatch([ent], 'a.sib.example', 1).kind).toBe('failed');
  });
});

describe('wildcard answers with NSEC3 (RFC 5155 §8.7, §8.8)', () => {
  const zone = nsec3Chain('example', {
    example: [TYPE.SOA, TYPE.NS, TYPE.RRSIG, TYPE.DNSKEY, 51 /* NSEC3PARAM */],
    '*.example': [TYPE.A, TYPE.RRSIG],
    'b.example': [TYPE.A, TYPE.RRSIG],
    '_tcp.b.example': [],
    '*._tcp.b.example': [TYPE.TLSA, TYPE.RRSIG],
  });

  it('proves NODATA from a wildcard: closest encloser, next closer covered, the wildcard without the type', () => {
    expect(nsec3ProvesNodata(zone, 'mail.example', TYPE.AAAA)).toEqual({ kind: 'proven' });
    expect(nsec3ProvesNodata(zone, 'mail.example', TYPE.DS)).toEqual({ kind: 'proven' });
    expect(nsec3ProvesNodata(zone, '_25._tcp.mail.example', TYPE.TLSA)).toEqual({ kind: 'proven' });
    expect(nsec3ProvesNodata(zone, '_25._tcp.b.example', TYPE.DS)).toEqual({ kind: 'proven' });
    expect(nsec3NameState(zone, 'mail.example')).toEqual({ kind: 'unknown' });
  });

  it('refuses a wildcard NODATA for the wildcard type, a CNAME wildcard, or without the wildcard', () => {
    expect(nsec3ProvesNodata(zone, 'mail.example', TYPE.A)).toMatchObject({
      kind: 'failed',
      why: 'the NSEC3 for *.example lists the type asked for',
    });
    const cname = nsec3Chain('example', { example: [TYPE.SOA], '*.example': [TYPE.CNAME, TYPE.RRSIG] });
    expect(nsec3ProvesNodata(cname, 'mail.example', TYPE.AAAA).kind).toBe('failed');
    // x.b.example: closest encloser b.example, and *.b.example does not exist.
    expect(nsec3ProvesNodata(zone, 'x.b.example', TYPE.AAAA)).toMatchObject({
      kind: 'failed',
      why: 'no NSEC3 matches x.b.example or the wildcard *.b.example',
    });
    // An opt-out span over the next closer name: an unsigned delegation may be there.
    const optOut = nsec3Chain('example', { example: [TYPE.SOA], '*.example': [TYPE.A, TYPE.RRSIG] }, 1);
    expect(nsec3ProvesNodata(optOut, 'mail.example', TYPE.AAAA)).toEqual({ kind: 'opt-out' });
  });

  it('refuses a *.example RRset replayed for a.b.example while b.example exists', () => {
    expect(nsec3ProvesNoCloserMatch(zone, 'mail.example', 1)).toEqual({ kind: 'proven' });
    expect(nsec3ProvesNoCloserMatch(zone, 'a.b.example', 1).kind).toBe('failed');
    expect(nsec3ProvesNoCloserMatch(zone, 'a.b.example', 2).kind).toBe('failed');
  });
});

describe('malformed NSEC3 RDATA (RFC 5155 §3.2)', () => {
  const hash = Buffer.alloc(20, 0x11);
  const good = nsec3Rdata(hash, [TYPE.A]);

  it('parses a well-formed record and throws WireError when a length runs past the end', () => {
    expect(nsec3Of(good)).toMatchObject({ hashAlgorithm: 1, iterations: 0, nextHashed: hash });
    // Salt length 200 in a 30-octet record: the hash length would be read past the end.
    const saltPastEnd = Buffer.from(good);
    saltPastEnd[4] = 200;
    expect(() => nsec3Of(saltPastEnd)).toThrow(WireError);
    const saltToEnd = Buffer.from([1, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc]);
    expect(() => nsec3Of(saltToEnd)).toThrow(WireError);
    expect(() => nsec3Of(Buffer.from([1, 0, 0, 0, 0, 0]))).toThrow(WireError);
    expect(() => nsec3Of(Buffer.from([1, 0, 0, 0, 0, 21, ...hash]))).toThrow(WireError);
    expect(() => nsec3Of(Buffer.from([1, 0, 0, 0, 0]))).toThrow(WireError);
  });

  it('a malformed record proves nothing: it neither covers every name nor makes the proof throw', () => {
    // The apex's NSEC3, its next hash one above its own: it covers no other name.
    const apexHash = nsec3Hash('example', Buffer.alloc(0), 0);
    const after = Buffer.from(apexHash);
    after[19] = (after[19]! + 1) & 0xff;
    const apex: Rr[] = [
      {
        name: `${base32hex(apexHash)}.example`,
        type: TYPE.NSEC3,
        class: 1,
        ttl: 300,
        rdata: nsec3Rdata(after, [TYPE.SOA]),
      },
    ];
    expect(nsec3ProvesNxdomain(apex, 'mail.example').kind).toBe('failed');
    // Owner below every hash, salt length past the end: parsed leniently its next hash was empty,
    // and an empty next hash "covers" every name above the owner.
    const rdata = Buffer.from([1, 0, 0, 0, 40, ...bitmap([TYPE.A])]);
    const covering: Rr = { name: `${'0'.repeat(32)}.example`, type: TYPE.NSEC3, class: 1, ttl: 300, rdata };
    expect(nsec3ProvesNxdomain([...apex, covering], 'mail.example').kind).toBe('failed');
    expect(nsec3ProvesNodata([...apex, covering], 'mail.example', TYPE.A).kind).toBe('failed');
    const tooShort: Rr = { ...covering, rdata: Buffer.from([1, 0, 0, 0, 0, 20, 1, 2]) };
    expect(() => nsec3ProvesNodata([...apex, tooShort], 'mail.example', TYPE.A)).not.toThrow();
    expect(nsec3ProvesNodata([tooShort], 'mail.example', TYPE.A)).toEqual({ kind: 'failed', why: 'no NSEC3 records' });
    expect(nsec3NameState([tooShort], 'mail.example')).toEqual({ kind: 'unknown' });
  });
});

/**
 * A signed zone held in memory (Ed25519, one key as KSK and ZSK) and a query function that
 * answers from a table: for what an attacker can do with genuinely signed records.
 */
function fakeSignedZone(origin: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const keyRdata = dnskeyRdata(257, 15, raw);
  const tag = keyTag(keyRdata);
  const now = Math.floor(Date.now() / 1000);
  const rr = (name: string, type: number, rdata: Buffer): Rr => ({ name, type, class: 1, ttl: 300, rdata });
  const rrsig = (rrset: readonly Rr[], labels = labelCount(rrset[0]!.name), key: KeyObject = privateKey): Rr => {
    const head = Buffer.alloc(18);
    head.writeUInt16BE(rrset[0]!.type, 0);
    head[2] = 15;
    head[3] = labels;
    head.writeUInt32BE(300, 4);
    head.writeUInt32BE(now + 86400, 8);
    head.writeUInt32BE(now - 86400, 12);
    head.writeUInt16BE(tag, 16);
    const unsigned = Buffer.concat([head, nameToWire(origin)]);
    const signature = sign(null, signedData(rrsigOf(unsigned), rrset), key);
    return rr(rrset[0]!.name, TYPE.RRSIG, Buffer.concat([unsigned, signature]));
  };
  const signedSet = (rrset: readonly Rr[], labels?: number): Rr[] => [...rrset, rrsig(rrset, labels)];
  const dnskey = rr(origin, TYPE.DNSKEY, keyRdata);
  return {
    anchor: `${origin}. IN DNSKEY 257 3 15 ${raw.toString('base64')}`,
    rr,
    signedSet,
    answers: new Map<string, Message>([[`${TYPE.DNSKEY}|${origin}`, message({ answer: signedSet([dnskey]) })]]),
  };
}

function message(m: Partial<Message>): Message {
  return { id: 0, rcode: RCODE.NOERROR, flags: { tc: false, ad: false, aa: true }, answer: [], authority: [], ...m };
}

function validatorFor(zone: ReturnType<typeof fakeSignedZone>, fallback: Message): Validator {
  const query: QueryFn = (name, type) => Promise.resolve(zone.answers.get(`${type}|${name}`) ?? fallback);
  return new Validator({
    query,
    anchors: parseTrustAnchors(zone.anchor),
    now: () => Math.floor(Date.now() / 1000),
    remainingMs: () => 10_000,
  });
}

describe('the validator with genuinely signed records used against it', () => {
  it('refuses a *.example A RRset replayed for a.sib.example, sib.example existing (bogus, not secure)', async () => {
    const z = fakeSignedZone('example');
    const wildNsec = z.signedSet([nsec('*.example', 'sib.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC])]);
    const sibNsec = z.signedSet([nsec('sib.example', 'z.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC])]);
    // The A RRset of *.example, expanded as a.sib.example: its RRSIG (labels 1) still verifies.
    const forged = z.signedSet([z.rr('a.sib.example', TYPE.A, Buffer.from([192, 0, 2, 1]))], 1);
    z.answers.set(`${TYPE.DS}|sib.example`, message({ authority: sibNsec }));
    // sib.example -> z.example denies a.sib.example and *.sib.example: a genuine NXDOMAIN proof.
    z.answers.set(`${TYPE.DS}|a.sib.example`, message({ rcode: RCODE.NXDOMAIN, authority: sibNsec }));
    z.answers.set(`${TYPE.A}|a.sib.example`, message({ answer: forged, authority: sibNsec }));
    const v = validatorFor(z, message({}));
    const replayed = await v.lookup('a.sib.example', TYPE.A);
    expect(replayed.status).toBe('bogus');
    expect(replayed.records).toEqual([]);
    // The genuine expansion, with the NSEC that denies mail.example, is secure.
    z.answers.set(`${TYPE.DS}|mail.example`, message({ authority: wildNsec }));
    z.answers.set(
      `${TYPE.A}|mail.example`,
      message({
        answer: z.signedSet([z.rr('mail.example', TYPE.A, Buffer.from([192, 0, 2, 1]))], 1),
        authority: wildNsec,
      }),
    );
    expect((await validatorFor(z, message({})).lookup('mail.example', TYPE.A)).status).toBe('secure');
  });

  it('a signed but malformed NSEC3 is no proof: bogus, and the lookup does not throw', async () => {
    const z = fakeSignedZone('example');
    const owner = `${base32hex(nsec3Hash('mx.example', Buffer.alloc(0), 0))}.example`;
    // The next hashed owner name runs past the end of the RDATA; salt length past the end.
    for (const rdata of [Buffer.from([1, 0, 0, 0, 0, 20, 1, 2, 3]), Buffer.from([1, 0, 0, 0, 60, 1, 2])]) {
      const bad = z.signedSet([z.rr(owner, TYPE.NSEC3, rdata)]);
      const v = validatorFor(z, message({ authority: bad }));
      const answer = await v.lookup('mx.example', TYPE.AAAA);
      expect(answer.status).toBe('bogus');
    }
  });
});
