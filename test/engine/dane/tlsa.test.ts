/**
 * TLSA usability and chain matching (RFC 6698, RFC 7671, RFC 7672 §3) as table tests over
 * certificates generated at test time, and the DANE verdict when DNS fails: a lookup with
 * no answer is DANE_DNS_ERROR, never "no DANE".
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { daneForHost } from '../../../lambdas/engine/dane/attach.js';
import { daneVerdict } from '../../../lambdas/engine/dane/check.js';
import {
  associationData,
  describeTlsa,
  matchChain,
  recordFor,
  type TlsaRecordInfo,
} from '../../../lambdas/engine/dane/tlsa.js';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import { parseTrustAnchors } from '../../../lambdas/engine/dnssec/anchors.js';
import { QueryError, type QueryFn } from '../../../lambdas/engine/dnssec/transport.js';
import { Validator } from '../../../lambdas/engine/dnssec/validator.js';
import { parseMessage, TYPE, typeName } from '../../../lambdas/engine/dnssec/wire.js';
import { createContext } from '../../../lambdas/engine/context.js';
import { edeOption, servfailWith } from '../../../testkit/dns-messages.js';
import { createTestPki, daysFromNow, issueCertificate, type Issued, type TestPki } from '../../../testkit/pki.js';

const MX = 'mx.example.test';
const record = (usage: number, selector: number, matchingType: number, data: Buffer | string): TlsaRecordInfo =>
  describeTlsa({ usage, selector, matchingType, data: typeof data === 'string' ? Buffer.from(data, 'hex') : data });
const spki = (c: X509Certificate): Buffer => c.publicKey.export({ type: 'spki', format: 'der' });
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

describe('TLSA usability (RFC 7672 §3.1.3, RFC 7671 §4)', () => {
  it.each([
    [3, 1, 1, 32, undefined],
    [2, 0, 2, 64, undefined],
    [3, 0, 0, 300, undefined],
    [0, 1, 1, 32, /PKIX-TA\) is unusable for SMTP/],
    [1, 1, 1, 32, /PKIX-EE\) is unusable for SMTP/],
    [4, 1, 1, 32, /unknown usage 4/],
    [3, 2, 1, 32, /unknown selector 2/],
    [3, 1, 3, 32, /unknown matching type 3/],
    [3, 1, 1, 31, /needs 32 bytes/],
    [3, 1, 2, 32, /needs 64 bytes/],
    [3, 1, 0, 0, /empty/],
  ])('%i %i %i with %i bytes', (usage, selector, matchingType, length, why) => {
    const info = record(usage, selector, matchingType, Buffer.alloc(length, 1));
    expect(info.usable).toBe(why === undefined);
    if (why !== undefined) expect(info.unusable).toMatch(why);
    expect(info.text.startsWith(`${usage} ${selector} ${matchingType} `)).toBe(true);
  });
});

describe('matching a presented chain', () => {
  let pki: TestPki;
  let leaf: Issued;
  let expiredWrongName: Issued;
  let otherCa: Issued;
  let chain: X509Certificate[];
  const now = Date.now();
  const opts = { names: [MX], nowMs: now };

  beforeAll(async () => {
    pki = await createTestPki();
    leaf = await issueCertificate(pki.intermediate, { dnsNames: [MX] });
    expiredWrongName = await issueCertificate(pki.intermediate, {
      dnsNames: ['elsewhere.example'],
      notBefore: daysFromNow(-30),
      notAfter: daysFromNow(-1),
    });
    otherCa = (await createTestPki({ rootName: 'other' })).intermediate;
    chain = [leaf.x509, pki.intermediate.x509];
  });

  it('computes association data for each selector and matching type', () => {
    expect(associationData(leaf.x509, 0, 0)).toEqual(leaf.x509.raw);
    expect(associationData(leaf.x509, 1, 0)).toEqual(spki(leaf.x509));
    expect(associationData(leaf.x509, 1, 1)).toEqual(sha256(spki(leaf.x509)));
    expect(associationData(leaf.x509, 0, 2)).toEqual(createHash('sha512').update(leaf.x509.raw).digest());
    expect(recordFor(leaf.x509, 3, 1, 1)).toBe(`3 1 1 ${sha256(spki(leaf.x509)).toString('hex')}`);
  });

  it('DANE-EE matches the leaf and ignores its names and dates (RFC 7672 §3.1.1)', () => {
    const r = record(3, 1, 1, sha256(spki(expiredWrongName.x509)));
    expect(matchChain([r], [expiredWrongName.x509], opts)).toEqual({ ok: true, match: { record: 0, depth: 0 } });
  });

  it('DANE-EE does not match an issuer', () => {
    const r = record(3, 1, 1, sha256(spki(pki.intermediate.x509)));
    const v = matchChain([r], chain, opts);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reasons[0]).toMatch(/does not match the server's certificate/);
  });

  it('DANE-TA matches the issuing CA the server sent, at depth 1', () => {
    const r = record(2, 0, 1, sha256(pki.intermediate.x509.raw));
    expect(matchChain([r], chain, opts)).toEqual({ ok: true, match: { record: 0, depth: 1 } });
    // The CNAME-expanded TLSA base domain is a reference identifier too (RFC 7672 §3.2.2).
    expect(matchChain([r], chain, { names: ['mx.cname-target.test', MX], nowMs: now }).ok).toBe(true);
  });

  it.each([
    ['a leaf for another name', 'name', /is not for mx\.example\.test/],
    ['an expired leaf', 'expired', /expired on/],
    ['a CA that the server did not send', 'unsent', /matches no CA certificate the server sent/],
    ['a CA that did not sign the leaf', 'foreign', /not signed by certificate 1/],
  ])('DANE-TA refuses %s', async (_what, variant, reason) => {
    let presented = chain;
    let r = record(2, 1, 1, sha256(spki(pki.intermediate.x509)));
    if (variant === 'name')
      presented = [(await issueCertificate(pki.intermediate, { dnsNames: ['x.example'] })).x509, pki.intermediate.x509];
    if (variant === 'expired') presented = [expiredWrongName.x509, pki.intermediate.x509];
    if (variant === 'unsent') presented = [leaf.x509];
    if (variant === 'foreign') {
      presented = [leaf.x509, otherCa.x509];
      r = record(2, 1, 1, sha256(spki(otherCa.x509)));
    }
    const v = matchChain([r], presented, { names: [MX], nowMs: now });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reasons[0]).toMatch(reason);
  });

  it('2 0 0 and 2 1 0 stand for a trust anchor the server left out (RFC 7671 §5.2.2)', async () => {
    // The server sends leaf + intermediate; the records carry the root, whole.
    const rootKey = record(2, 1, 0, spki(pki.root.x509));
    const rootCert = record(2, 0, 0, pki.root.x509.raw);
    expect(matchChain([rootKey], chain, opts)).toEqual({ ok: true, match: { record: 0, depth: 2 } });
    expect(matchChain([rootCert], chain, opts)).toEqual({ ok: true, match: { record: 0, depth: 2 } });
    // A digest cannot stand for an absent anchor, and another key signed nothing here.
    expect(matchChain([record(2, 1, 1, sha256(spki(pki.root.x509)))], chain, opts).ok).toBe(false);
    const other = record(2, 1, 0, spki(otherCa.x509));
    expect(matchChain([other], chain, opts)).toEqual({ ok: false, reasons: [expect.stringMatching(/matches no CA/)] });
    // The path below the absent anchor is still judged: the name, and garbage data.
    const wrongName = [
      (await issueCertificate(pki.intermediate, { dnsNames: ['x.example'] })).x509,
      pki.intermediate.x509,
    ];
    const named = matchChain([rootKey], wrongName, opts);
    expect(named.ok === false && named.reasons[0]).toMatch(
      /server left it out\), but the certificate is not for mx\.example\.test/,
    );
    const garbage = matchChain([record(2, 1, 0, Buffer.from('not a key'))], chain, opts);
    expect(garbage.ok === false && garbage.reasons[0]).toMatch(/its data is no public key/);
  });

  it('skips unusable records and prefers DANE-EE; a later usable record still matches', () => {
    const pkix = record(1, 1, 1, sha256(spki(leaf.x509)));
    const stale = record(3, 1, 1, Buffer.alloc(32, 7));
    const ta = record(2, 1, 1, sha256(spki(pki.intermediate.x509)));
    const ee = record(3, 0, 2, createHash('sha512').update(leaf.x509.raw).digest());
    expect(matchChain([pkix, stale, ta, ee], chain, opts)).toEqual({ ok: true, match: { record: 3, depth: 0 } });
    expect(matchChain([pkix], chain, opts)).toEqual({ ok: false, reasons: [] });
  });
});

describe('DANE verdict when DNS fails', () => {
  const anchors = parseTrustAnchors('example.test. IN DS 1 13 2 00\n');
  const ctx = createContext({ dnssec: { anchors } });

  it('a timeout is DANE_DNS_ERROR, never DANE_NOT_DEPLOYED', async () => {
    let asked = 0;
    const verdict = await daneVerdict('example.test', ctx, new Deadline(5_000), {
      query: () => {
        asked += 1;
        return Promise.reject(new QueryError('TIMEOUT', 'DNS query timed out'));
      },
    });
    expect(verdict.findings.map((f) => f.code)).toEqual(['DANE_DNS_ERROR']);
    expect(verdict.verdict).toBe('unknown');
    expect(verdict.mxDnssec.status).toBe('indeterminate');
    // One retry per query: a lost datagram is not an outage.
    expect(asked).toBeGreaterThanOrEqual(2);
  });

  it('SERVFAIL with a DNSSEC Extended DNS Error is DANE_DNSSEC_BOGUS; any other SERVFAIL stays DANE_DNS_ERROR', async () => {
    // A resolver that validates although the probe set CD, and says why it refused (RFC 8914).
    const servfail =
      (code: number, text: string): QueryFn =>
      (name, type) =>
        Promise.resolve(parseMessage(servfailWith(name, typeName(type), [edeOption(code, text)])));
    const bogus = await daneVerdict('example.test', ctx, new Deadline(5_000), {
      query: servfail(7, 'signature expired at 20261130000000'),
    });
    expect(bogus.findings.map((f) => f.code)).toEqual(['DANE_DNSSEC_BOGUS']);
    expect(bogus.verdict).toBe('invalid');
    expect(bogus.findings[0]?.message).toContain(
      'SERVFAIL (EDE 7 Signature Expired: signature expired at 20261130000000)',
    );
    const outage = await daneVerdict('example.test', ctx, new Deadline(5_000), {
      query: servfail(22, 'no server could be reached'),
    });
    expect(outage.findings.map((f) => f.code)).toEqual(['DANE_DNS_ERROR']);
    expect(outage.findings[0]?.message).toContain('EDE 22 No Reachable Authority');
    // Under no trust anchor the name is insecure for the probe, whatever the resolver thinks.
    const elsewhere = await daneVerdict('example.org', ctx, new Deadline(5_000), {
      query: servfail(6, ''),
    });
    expect(elsewhere.findings.map((f) => f.code)).toEqual(['DANE_DNS_ERROR']);
  });

  it('malformed address, MX and TLSA RDATA from an unverified zone never throws: records skipped or unusable', async () => {
    const rr = (name: string, type: number, rdata: number[]) => ({
      name,
      type,
      class: 1,
      ttl: 60,
      rdata: Buffer.from(rdata),
    });
    const query: QueryFn = (name, type) =>
      Promise.resolve({
        id: 0,
        question: { name, type },
        rcode: 0,
        flags: { tc: false, ad: false, aa: false },
        answer:
          type === TYPE.MX && name === 'example.test'
            ? [rr(name, type, [0, 10, 2, 0x6d, 0x78, 0]), rr(name, type, [0])]
            : type === TYPE.A
              ? [rr(name, type, [1, 2, 3, 4, 5])]
              : type === TYPE.TLSA
                ? [rr(name, type, [3, 1])]
                : [],
        authority: [],
      });
    const verdict = await daneVerdict('example.test', ctx, new Deadline(5_000), { query, connect: false });
    expect(verdict.mx.map((m) => m.host)).toEqual(['mx']);
    expect(verdict.mx[0]?.addresses).toEqual([]);
    expect(verdict.findings.map((f) => f.code)).not.toContain('PROBE_INTERNAL_ERROR');
    const host = await daneForHost('mx.example.org', 25, ctx, new Deadline(5_000), { query, connect: false });
    expect(host.tlsa?.records.map((r) => [r.usable, r.unusable])).toEqual([[false, 'malformed RDATA (2 bytes)']]);
  });

  it('a defect inside the validator leaves the state unknown instead of escaping', async () => {
    // Not a DNS answer at all (a transport that returned garbage): every step that reads it fails.
    const query: QueryFn = () => Promise.resolve({ rcode: 0, answer: null } as never);
    const validator = new Validator({ query, anchors, now: () => Date.now() / 1000, remainingMs: () => 5_000 });
    const answer = await validator.lookup('example.test', TYPE.MX);
    expect(answer).toMatchObject({ status: 'indeterminate', answered: false });
    expect(answer.why).toContain('internal error');
    const verdict = await daneVerdict('example.test', ctx, new Deadline(5_000), { query });
    expect(verdict.findings.map((f) => f.code)).toEqual(['DANE_DNS_ERROR']);
  });

  it('an unreachable server is DANE_DNS_ERROR too', async () => {
    const verdict = await daneVerdict('example.test', ctx, new Deadline(5_000), {
      query: () => Promise.reject(new QueryError('NETWORK', 'connect ECONNREFUSED')),
    });
    expect(verdict.findings.map((f) => f.code)).toEqual(['DANE_DNS_ERROR']);
    expect(verdict.findings[0]?.message).toContain('ECONNREFUSED');
  });

  it('a resolver with no DNSKEY for the anchor zone makes answers indeterminate, not bogus, and the TLSA absence still counts', async () => {
    // A resolver that knows nothing of DNSSEC: NXDOMAIN for everything but the MX and A records.
    const query: QueryFn = (name, type) =>
      Promise.resolve({
        id: 0,
        question: { name, type },
        rcode: type === TYPE.MX || type === TYPE.A ? 0 : 3,
        flags: { tc: false, ad: false, aa: false },
        answer:
          type === TYPE.MX && name === 'example.test'
            ? [{ name, type, class: 1, ttl: 60, rdata: Buffer.from([0, 10, 2, 0x6d, 0x78, 0xc0, 0]) }]
            : [],
        authority: [],
      });
    const validator = new Validator({ query, anchors, now: () => Date.now() / 1000, remainingMs: () => 5_000 });
    const answer = await validator.lookup('example.test', TYPE.MX);
    expect(answer).toMatchObject({ status: 'indeterminate', answered: true });
    expect(answer.why).toMatch(/no DNSKEY records for the trust anchor zone|answered NXDOMAIN/);
  });
});
