/**
 * The DANE verdict for a domain whose zone turns hostile at the TLSA name (issues #21, #25):
 * signed at test time in memory (testkit/dnssec-zone.ts), no connection to the MX made. A
 * loop or a forged denial must never read as "DANE not deployed"; a KeyTrap zone ends as
 * bogus with "too much work", within the check.
 */
import { describe, expect, it } from 'vitest';
import { daneVerdict } from '../../../lambdas/engine/dane/check.js';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import { parseTrustAnchors } from '../../../lambdas/engine/dnssec/anchors.js';
import { TOO_MUCH_WORK } from '../../../lambdas/engine/dnssec/sigcrypt.js';
import { nameToWire, TYPE } from '../../../lambdas/engine/dnssec/wire.js';
import { createContext } from '../../../lambdas/engine/context.js';
import { keysOnTag, message, rr, SignedZone } from '../../../testkit/dnssec-zone.js';

const TLSA_NAME = '_25._tcp.mx.example';

/** example. with MX mx.example, its A record signed and its AAAA securely denied. */
function mailZone(): SignedZone {
  const z = new SignedZone('example');
  const mx = rr('example', TYPE.MX, Buffer.concat([Buffer.from([0, 10]), nameToWire('mx.example')]));
  z.answers.set(`${TYPE.MX}|example`, message({ answer: z.signedSet([mx]) }));
  z.answers.set(
    `${TYPE.A}|mx.example`,
    message({ answer: z.signedSet([rr('mx.example', TYPE.A, Buffer.from([192, 0, 2, 25]))]) }),
  );
  z.answers.set(
    `${TYPE.AAAA}|mx.example`,
    message({ authority: z.nsecAt('mx.example', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]) }),
  );
  return z;
}

async function verdictOf(z: SignedZone) {
  const ctx = createContext({ dnssec: { anchors: parseTrustAnchors(z.anchor) } });
  return daneVerdict('example', ctx, new Deadline(10_000), { query: z.query, connect: false });
}

describe('DANE against a hostile zone', () => {
  it('a signed CNAME loop at the TLSA name is DANE_DNS_ERROR, not DANE_NOT_DEPLOYED (issue #25 item 2)', async () => {
    const z = mailZone();
    z.answers.set(
      `${TYPE.TLSA}|${TLSA_NAME}`,
      message({ answer: z.signedSet([rr(TLSA_NAME, TYPE.CNAME, nameToWire('loop.example'))]) }),
    );
    z.answers.set(
      `${TYPE.TLSA}|loop.example`,
      message({ answer: z.signedSet([rr('loop.example', TYPE.CNAME, nameToWire(TLSA_NAME))]) }),
    );
    const verdict = await verdictOf(z);
    expect(verdict.findings.map((f) => f.code)).toEqual(['DANE_DNS_ERROR']);
    expect(verdict.verdict).toBe('unknown');
  });

  it("*.example's NSEC renamed to the TLSA name is DANE_DNSSEC_BOGUS, not a secure denial (issue #25 item 1)", async () => {
    const z = mailZone();
    const wildcardNsec = rr(
      '*.example',
      TYPE.NSEC,
      Buffer.concat([nameToWire('a.example'), Buffer.from([0, 1, 0x40])]),
    );
    const sig = z.rrsig([wildcardNsec], 1);
    z.answers.set(
      `${TYPE.TLSA}|${TLSA_NAME}`,
      message({
        authority: [
          { ...wildcardNsec, name: TLSA_NAME },
          { ...sig, name: TLSA_NAME },
        ],
      }),
    );
    const verdict = await verdictOf(z);
    expect(verdict.findings.map((f) => f.code)).toEqual(['DANE_DNSSEC_BOGUS']);
    expect(verdict.findings[0]?.message).toContain('wildcard expansion');
  });

  it('KeyTrap keys and RRSIGs on the TLSA RRset end as DANE_DNSSEC_BOGUS with "too much work"', async () => {
    const z = mailZone();
    z.setDnskeys(keysOnTag(z.tag, 100));
    const tlsa = [rr(TLSA_NAME, TYPE.TLSA, Buffer.concat([Buffer.from([3, 1, 1]), Buffer.alloc(32, 1)]))];
    z.answers.set(`${TYPE.TLSA}|${TLSA_NAME}`, message({ answer: [...tlsa, ...z.bogusRrsigs(tlsa, 100)] }));
    const verdict = await verdictOf(z);
    expect(verdict.findings.map((f) => f.code)).toEqual(['DANE_DNSSEC_BOGUS']);
    expect(verdict.findings[0]?.message).toContain(TOO_MUCH_WORK);
  });
});
