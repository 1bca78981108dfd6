/**
 * A hostile authoritative zone against the validator, signed at test time: KeyTrap
 * (CVE-2023-50387), NSEC3 hashing (CVE-2023-50868), wide answers, long CNAME chains,
 * revoked keys and a renamed wildcard NSEC (issues #21 and #25). Each asserts the verdict
 * and the work done, never the time it took (that is `npm run bench dnssec-hostile`).
 */
import { describe, expect, it } from 'vitest';
import { parseTrustAnchors } from '../../../lambdas/engine/dnssec/anchors.js';
import { MAX_NSEC3_ITERATIONS } from '../../../lambdas/engine/dnssec/proofs.js';
import {
  MAX_VERIFICATIONS_PER_RRSET,
  MAX_VERIFICATIONS_PER_VALIDATION,
  TOO_MUCH_WORK,
} from '../../../lambdas/engine/dnssec/sigcrypt.js';
import { MAX_CNAME_CHAIN, Validator } from '../../../lambdas/engine/dnssec/validator.js';
import { nameToWire, TYPE } from '../../../lambdas/engine/dnssec/wire.js';
import { keysOnTag, message, rr, SignedZone } from '../../../testkit/dnssec-zone.js';

function validatorFor(zone: SignedZone, remainingMs: () => number = () => 10_000): Validator {
  return new Validator({
    query: zone.query,
    anchors: parseTrustAnchors(zone.anchor),
    now: () => Math.floor(Date.now() / 1000),
    remainingMs,
  });
}

const A = (name: string, octet = 1) => rr(name, TYPE.A, Buffer.from([192, 0, 2, octet]));

describe('KeyTrap: many keys on one tag, many RRSIGs (CVE-2023-50387)', () => {
  it('stops after a few verifications per RRset, bogus with "too much work"', async () => {
    const z = new SignedZone('example');
    // 60 keys brute-forced onto the zone key's tag, 60 RRSIGs on that tag: 3,660 verifications unbounded.
    z.setDnskeys(keysOnTag(z.tag, 60));
    const set = [A('mail.example')];
    z.answers.set(`${TYPE.A}|mail.example`, message({ answer: [...set, ...z.bogusRrsigs(set, 60)] }));
    const v = validatorFor(z);
    const answer = await v.lookup('mail.example', TYPE.A);
    expect(answer.status).toBe('bogus');
    expect(answer.records).toEqual([]);
    expect(answer.why).toContain(TOO_MUCH_WORK);
    // DNSKEY (1), the DS denial at mail.example (1), the A RRset (at most the per-RRset cap).
    expect(v.work.verifications).toBeLessThanOrEqual(2 + MAX_VERIFICATIONS_PER_RRSET);
  });

  it('counts keys on a colliding tag: one RRSIG against many keys is capped too', async () => {
    const z = new SignedZone('example');
    z.setDnskeys(keysOnTag(z.tag, 40));
    const set = [A('mail.example')];
    z.answers.set(`${TYPE.A}|mail.example`, message({ answer: [...set, ...z.bogusRrsigs(set, 1)] }));
    const v = validatorFor(z);
    const answer = await v.lookup('mail.example', TYPE.A);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain(TOO_MUCH_WORK);
    expect(v.work.verifications).toBeLessThanOrEqual(2 + MAX_VERIFICATIONS_PER_RRSET);
  });

  it('the same zone with a genuine signature among a few bogus ones still validates', async () => {
    const z = new SignedZone('example');
    z.setDnskeys(keysOnTag(z.tag, 3));
    const set = [A('mail.example')];
    z.answers.set(`${TYPE.A}|mail.example`, message({ answer: [...set, ...z.signedSet(set).slice(1)] }));
    expect((await validatorFor(z).lookup('mail.example', TYPE.A)).status).toBe('secure');
  });

  it('caps the verifications of one validation across RRsets, then fails every further RRset', async () => {
    const z = new SignedZone('example');
    const names = Array.from({ length: 60 }, (_, i) => `h${i}.example`);
    for (const name of names) {
      const set = [A(name)];
      z.answers.set(`${TYPE.A}|${name}`, message({ answer: [...set, ...z.bogusRrsigs(set, 7)] }));
    }
    const v = validatorFor(z);
    const answers = [];
    for (const name of names) answers.push(await v.lookup(name, TYPE.A));
    expect(answers.every((a) => a.status === 'bogus')).toBe(true);
    expect(answers.at(-1)?.why).toContain(`more than ${MAX_VERIFICATIONS_PER_VALIDATION} signature verifications`);
    expect(v.work.verifications).toBe(MAX_VERIFICATIONS_PER_VALIDATION);
  });

  it('looks at the deadline between verifications: past it, the walk ends bogus', async () => {
    const z = new SignedZone('example');
    z.setDnskeys(keysOnTag(z.tag, 6));
    const set = [A('mail.example')];
    z.answers.set(`${TYPE.A}|mail.example`, message({ answer: [...set, ...z.bogusRrsigs(set, 6)] }));
    // The clock the validator reads: time left until its tenth reading, none after.
    let readings = 0;
    const v = validatorFor(z, () => (++readings < 10 ? 10_000 : 0));
    const answer = await v.lookup('mail.example', TYPE.A);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain('deadline passed during signature verification');
    expect(v.work.verifications).toBeLessThan(MAX_VERIFICATIONS_PER_RRSET);
  });
});

describe('an answer with thousands of records', () => {
  it('a genuinely signed 3,000-record RRset validates with one verification', async () => {
    const z = new SignedZone('example');
    const set = Array.from({ length: 3000 }, (_, i) =>
      rr('big.example', TYPE.A, Buffer.from([10, i >> 8, i & 0xff, 1])),
    );
    z.answers.set(`${TYPE.A}|big.example`, message({ answer: z.signedSet(set) }));
    const v = validatorFor(z);
    const answer = await v.lookup('big.example', TYPE.A);
    expect(answer.status).toBe('secure');
    expect(answer.records).toHaveLength(3000);
    expect(v.work.verifications).toBe(3);
  });

  it('3,000 records under 3,000 bogus RRSIGs cost the per-RRset cap', async () => {
    const z = new SignedZone('example');
    const set = Array.from({ length: 3000 }, (_, i) =>
      rr('big.example', TYPE.A, Buffer.from([10, i >> 8, i & 0xff, 1])),
    );
    z.answers.set(`${TYPE.A}|big.example`, message({ answer: [...set, ...z.bogusRrsigs(set, 3000)] }));
    const v = validatorFor(z);
    const answer = await v.lookup('big.example', TYPE.A);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain(TOO_MUCH_WORK);
    expect(v.work.verifications).toBeLessThanOrEqual(2 + MAX_VERIFICATIONS_PER_RRSET);
  });

  it('a wide NSEC3 answer (400 signed records) is refused within the validation budget', async () => {
    const z = new SignedZone('example');
    const name = 'mail.example';
    z.answers.set(
      `${TYPE.AAAA}|${name}`,
      message({ authority: z.nsec3Answer(name, [TYPE.A, TYPE.RRSIG], 0, Buffer.alloc(0), 400) }),
    );
    const v = validatorFor(z);
    const answer = await v.lookup(name, TYPE.AAAA);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain(TOO_MUCH_WORK);
    expect(v.work.verifications).toBe(MAX_VERIFICATIONS_PER_VALIDATION);
  });
});

describe('NSEC3 hashing (CVE-2023-50868, RFC 9276 §3.2)', () => {
  const salt = Buffer.alloc(255, 0xab);

  it(`above ${MAX_NSEC3_ITERATIONS} iterations a denial is insecure, and nothing is hashed`, async () => {
    const z = new SignedZone('example');
    const name = 'mail.example';
    z.answers.set(
      `${TYPE.AAAA}|${name}`,
      message({ authority: z.nsec3Answer(name, [TYPE.A, TYPE.RRSIG], 150, salt, 3) }),
    );
    const v = validatorFor(z);
    const answer = await v.lookup(name, TYPE.AAAA);
    expect(answer.status).toBe('insecure');
    expect(answer.why).toContain('iterations too high');
    expect(v.work.nsec3HashBlocks).toBe(0);
  });

  it('a deep name at the limit with a 255-byte salt is refused before it is hashed', async () => {
    const z = new SignedZone('example');
    const name = `${Array.from({ length: 60 }, (_, i) => `l${i}`).join('.')}.example`;
    const deny = message({ authority: z.nsec3Answer(name, [TYPE.A, TYPE.RRSIG], MAX_NSEC3_ITERATIONS, salt, 3) });
    z.answers.set(`${TYPE.AAAA}|${name}`, deny);
    const v = validatorFor(z);
    const answer = await v.lookup(name, TYPE.AAAA);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain(TOO_MUCH_WORK);
    expect(v.work.nsec3HashBlocks).toBe(0);
  });

  it('a shallow name at 0 iterations (RFC 9276) is proven, at a small charge', async () => {
    const z = new SignedZone('example');
    const name = 'mail.example';
    z.answers.set(
      `${TYPE.AAAA}|${name}`,
      message({ authority: z.nsec3Answer(name, [TYPE.A, TYPE.RRSIG], 0, Buffer.alloc(0), 1) }),
    );
    const v = validatorFor(z);
    const answer = await v.lookup(name, TYPE.AAAA);
    expect(answer.status).toBe('secure');
    expect(answer.negative).toBe('NODATA');
    expect(v.work.nsec3HashBlocks).toBeGreaterThan(0);
    expect(v.work.nsec3HashBlocks).toBeLessThan(100);
  });
});

describe('CNAME chains', () => {
  function chain(z: SignedZone, length: number): string {
    for (let i = 0; i < length; i += 1) {
      const from = `c${i}.example`;
      z.answers.set(
        `${TYPE.A}|${from}`,
        message({ answer: z.signedSet([rr(from, TYPE.CNAME, nameToWire(`c${i + 1}.example`))]) }),
      );
    }
    z.answers.set(`${TYPE.A}|c${length}.example`, message({ answer: z.signedSet([A(`c${length}.example`)]) }));
    return 'c0.example';
  }

  it(`follows a signed chain of ${MAX_CNAME_CHAIN} CNAMEs, and fails one longer as a lookup failure`, async () => {
    const z = new SignedZone('example');
    const atCap = await validatorFor(z).lookup(chain(z, MAX_CNAME_CHAIN), TYPE.A);
    expect(atCap.status).toBe('secure');
    expect(atCap.cnames).toHaveLength(MAX_CNAME_CHAIN);
    const z2 = new SignedZone('example');
    const over = await validatorFor(z2).lookup(chain(z2, MAX_CNAME_CHAIN + 1), TYPE.A);
    expect(over.status).toBe('indeterminate');
    expect(over.answered).toBe(false);
  });

  it(`a chain of ${MAX_CNAME_CHAIN} DNAME substitutions is followed, one more is a failed lookup`, async () => {
    const dnameChain = (z: SignedZone, length: number): string => {
      for (let i = 0; i < length; i += 1) {
        const from = `x.d${i}.example`;
        const to = `x.d${i + 1}.example`;
        // A signed DNAME at d<i>.example and the unsigned CNAME it synthesizes (RFC 6672 §5.3.1).
        const dname = z.signedSet([rr(`d${i}.example`, TYPE.DNAME, nameToWire(`d${i + 1}.example`))]);
        z.answers.set(`${TYPE.A}|${from}`, message({ answer: [...dname, rr(from, TYPE.CNAME, nameToWire(to))] }));
      }
      const last = `x.d${length}.example`;
      z.answers.set(`${TYPE.A}|${last}`, message({ answer: z.signedSet([A(last)]) }));
      return 'x.d0.example';
    };
    const z = new SignedZone('example');
    const atCap = await validatorFor(z).lookup(dnameChain(z, MAX_CNAME_CHAIN), TYPE.A);
    expect(atCap.status).toBe('secure');
    expect(atCap.cnames).toHaveLength(MAX_CNAME_CHAIN);
    const z2 = new SignedZone('example');
    const over = await validatorFor(z2).lookup(dnameChain(z2, MAX_CNAME_CHAIN + 1), TYPE.A);
    expect(over.status).toBe('indeterminate');
    expect(over.answered).toBe(false);
  });

  it('a signed CNAME loop at a TLSA name is a failed lookup, never "no TLSA records" (issue #25 item 2)', async () => {
    const z = new SignedZone('example');
    const tlsa = '_25._tcp.mx.example';
    z.answers.set(
      `${TYPE.TLSA}|${tlsa}`,
      message({ answer: z.signedSet([rr(tlsa, TYPE.CNAME, nameToWire('loop.example'))]) }),
    );
    z.answers.set(
      `${TYPE.TLSA}|loop.example`,
      message({ answer: z.signedSet([rr('loop.example', TYPE.CNAME, nameToWire(tlsa))]) }),
    );
    const answer = await validatorFor(z).lookup(tlsa, TYPE.TLSA);
    expect(answer.records).toEqual([]);
    // dane/check.ts turns an unanswered lookup into DANE_DNS_ERROR; an answered empty one is DANE_NOT_DEPLOYED.
    expect(answer.answered).toBe(false);
    expect(answer.status).toBe('indeterminate');
    expect(answer.why).toContain('looping');
  });
});

describe('keys and proofs an attacker reuses', () => {
  it('a revoked key (RFC 5011 REVOKE bit) does not validate, even as the trust anchor', async () => {
    const z = new SignedZone('example', { flags: 257 | 0x0080 });
    z.answers.set(`${TYPE.A}|mail.example`, message({ answer: z.signedSet([A('mail.example')]) }));
    const answer = await validatorFor(z).lookup('mail.example', TYPE.A);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain('revoked');
  });

  it("a wildcard's NSEC renamed to the TLSA name does not deny it (issue #25 item 1)", async () => {
    const z = new SignedZone('example');
    const tlsa = '_25._tcp.mx.example';
    // *.example's genuine NSEC, signed with labels 1, served under the TLSA name: the RRSIG still verifies.
    const wildcardNsec = rr(
      '*.example',
      TYPE.NSEC,
      Buffer.concat([nameToWire('a.example'), Buffer.from([0, 1, 0x40])]),
    );
    const sig = z.rrsig([wildcardNsec], 1);
    const renamed = [
      { ...wildcardNsec, name: tlsa },
      { ...sig, name: tlsa },
    ];
    z.answers.set(`${TYPE.TLSA}|${tlsa}`, message({ authority: renamed }));
    const answer = await validatorFor(z).lookup(tlsa, TYPE.TLSA);
    expect(answer.status).toBe('bogus');
    expect(answer.why).toContain('wildcard expansion');
    // The same NSEC at its own name still proves what it says.
    z.answers.set(`${TYPE.TLSA}|*.example`, message({ authority: [wildcardNsec, sig] }));
    const own = await validatorFor(z).lookup('*.example', TYPE.TLSA);
    expect(own.status).toBe('secure');
    expect(own.negative).toBe('NODATA');
  });
});
