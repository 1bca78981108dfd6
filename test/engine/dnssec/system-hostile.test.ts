/**
 * The hostile shapes of hostile.test.ts served on the wire by a crafted authoritative server
 * (testkit/dnssec-zone.ts serveZone, zones signed at test time with node:crypto), with
 * Unbound pointed at it as a stub zone for the reference verdict: the probe's validator,
 * asking Unbound with CD set, must agree with Unbound's own validation on each.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseTrustAnchors } from '../../../lambdas/engine/dnssec/anchors.js';
import { TOO_MUCH_WORK } from '../../../lambdas/engine/dnssec/sigcrypt.js';
import { createQuery, dnsServerAddresses } from '../../../lambdas/engine/dnssec/transport.js';
import { Validator } from '../../../lambdas/engine/dnssec/validator.js';
import { nameToWire, TYPE } from '../../../lambdas/engine/dnssec/wire.js';
import { keysOnTag, message, rr, serveZone, SignedZone } from '../../../testkit/dnssec-zone.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';
import { startUnbound } from '../../../testkit/system/unbound.js';

const requirements = systemRequirements('unbound');
const ORIGIN = 'hostile.test';
const TLSA_NAME = `_25._tcp.mx.${ORIGIN}`;

describe.skipIf(requirements.skip)(requirements.title('hostile DNSSEC answers: the probe and Unbound agree'), () => {
  requirements.enforce();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of cleanup.splice(0).reverse()) await stop();
  });

  /** Unbound's verdict and the probe's (through Unbound, CD set) for one name and type. */
  async function both(z: SignedZone, name: string, type: 'A' | 'TLSA') {
    const auth = await serveZone(z);
    cleanup.push(auth.close);
    const unbound = await startUnbound({ stubZones: [ORIGIN], authPort: auth.port, trustAnchors: [z.anchor] });
    cleanup.push(unbound.stop);
    const validatorVia = (server: string) =>
      new Validator({
        query: createQuery(dnsServerAddresses(server)),
        anchors: parseTrustAnchors(z.anchor),
        now: () => Math.floor(Date.now() / 1000),
        remainingMs: () => 10_000,
      });
    const probe = await validatorVia(unbound.server).lookup(name, TYPE[type]);
    // The crafted server asked directly: a hostile resolver that passes on exactly these records.
    const direct = await validatorVia(`127.0.0.1:${auth.port}`).lookup(name, TYPE[type]);
    return { unbound: await unbound.verdict(name, type), probe, direct };
  }

  it('a genuinely signed answer is secure for both (the harness itself works)', async () => {
    const z = new SignedZone(ORIGIN);
    const name = `mail.${ORIGIN}`;
    z.answers.set(
      `${TYPE.A}|${name}`,
      message({ answer: z.signedSet([rr(name, TYPE.A, Buffer.from([192, 0, 2, 1]))]) }),
    );
    const { unbound, probe } = await both(z, name, 'A');
    expect(unbound).toBe('secure');
    expect(probe.status).toBe('secure');
  });

  it("the wildcard's NSEC renamed to the TLSA name: Unbound SERVFAIL, the probe bogus (issue #25 item 1)", async () => {
    const z = new SignedZone(ORIGIN);
    const wildcard = rr(
      `*.${ORIGIN}`,
      TYPE.NSEC,
      Buffer.concat([nameToWire(`a.${ORIGIN}`), Buffer.from([0, 1, 0x40])]),
    );
    const sig = z.rrsig([wildcard], 2);
    z.answers.set(
      `${TYPE.TLSA}|${TLSA_NAME}`,
      message({
        authority: [
          { ...wildcard, name: TLSA_NAME },
          { ...sig, name: TLSA_NAME },
        ],
      }),
    );
    const { unbound, probe, direct } = await both(z, TLSA_NAME, 'TLSA');
    // Unbound files the NSEC back under *.hostile.test (its RRSIG's labels say where it came
    // from), where *.hostile.test -> a.hostile.test covers nothing near the TLSA name: no proof.
    // The probe, asked directly, refuses the renamed NSEC itself (hostile.test.ts); through
    // Unbound it gets the wildcard's own NSEC back and finds no proof either.
    expect(unbound).toBe('bogus');
    expect(probe.status).toBe('bogus');
    expect(direct.status).toBe('bogus');
    expect(direct.why).toContain('wildcard expansion');
  });

  it('a signed CNAME loop at the TLSA name: Unbound SERVFAIL, the probe a failed lookup (issue #25 item 2)', async () => {
    const z = new SignedZone(ORIGIN);
    const loop = `loop.${ORIGIN}`;
    z.answers.set(
      `${TYPE.TLSA}|${TLSA_NAME}`,
      message({ answer: z.signedSet([rr(TLSA_NAME, TYPE.CNAME, nameToWire(loop))]) }),
    );
    z.answers.set(
      `${TYPE.TLSA}|${loop}`,
      message({ answer: z.signedSet([rr(loop, TYPE.CNAME, nameToWire(TLSA_NAME))]) }),
    );
    const { unbound, probe } = await both(z, TLSA_NAME, 'TLSA');
    expect(unbound).toBe('bogus');
    expect(probe.answered).toBe(false);
    expect(probe.records).toEqual([]);
  });

  it('KeyTrap keys on one tag and bogus RRSIGs: Unbound SERVFAIL, the probe bogus with "too much work"', async () => {
    const z = new SignedZone(ORIGIN);
    z.setDnskeys(keysOnTag(z.tag, 30));
    const name = `mail.${ORIGIN}`;
    const set = [rr(name, TYPE.A, Buffer.from([192, 0, 2, 1]))];
    z.answers.set(`${TYPE.A}|${name}`, message({ answer: [...set, ...z.bogusRrsigs(set, 30)] }));
    const { unbound, probe, direct } = await both(z, name, 'A');
    expect(unbound).toBe('bogus');
    expect(probe.status).toBe('bogus');
    expect(probe.why).toContain(TOO_MUCH_WORK);
    expect(direct.why).toContain(TOO_MUCH_WORK);
  });
});
