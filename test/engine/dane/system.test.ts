/**
 * `mailprobe dane` end to end against real DNSSEC: zones signed at test time with ldns and
 * served by NSD, Unbound as the resolver the probe asks (with CD set, so the probe does its
 * own validation) and as an independent validator whose verdict every TLSA case is
 * compared with, nodemailer's smtp-server with STARTTLS and one certificate per MX name
 * (SNI), Postfix without TLS, and `openssl s_client -dane_tlsa_*` as a second DANE matcher.
 * One TLSA RRset is too large for a UDP answer, so the transport's TCP retry is exercised.
 */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, randomInt, type X509Certificate } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, daysFromNow, issueCertificate, type Issued, type TestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';
import { codesOf, runCli, type CliResult, type CliRun } from '../../../testkit/system/cli.js';
import { freePort, scratchDir, startAll, stopAll, type Stoppable } from '../../../testkit/system/daemon.js';
import { buildZone, startNsd, type NsdInstance, type SignedZone } from '../../../testkit/system/nsd.js';
import { startPostfix, type PostfixInstance } from '../../../testkit/system/postfix.js';
import { BINARIES, systemRequirements } from '../../../testkit/system/requirements.js';
import { parseTrustAnchors } from '../../../lambdas/engine/dnssec/anchors.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext } from '../../../lambdas/engine/context.js';
import { runSmtp } from '../../../lambdas/engine/probe/smtp.js';
import { daneVerdict } from '../../../lambdas/engine/dane/check.js';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import {
  createQuery,
  dnsServerAddresses,
  EDNS_UDP_SIZE,
  type QueryFn,
} from '../../../lambdas/engine/dnssec/transport.js';
import { typeName } from '../../../lambdas/engine/dnssec/wire.js';
import { exchangeUdp, startUnbound, type UnboundInstance } from '../../../testkit/system/unbound.js';

const requirements = systemRequirements('nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'openssl', 'postfix');

const ZONE = 'dane.test';
const mxOf = (domain: string): string => `mx.${domain}`;

const spkiSha256 = (cert: X509Certificate): string =>
  createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const certSha512 = (cert: X509Certificate): string => createHash('sha512').update(cert.raw).digest('hex');
/** The 3 1 1 data of a key that is not deployed yet (the "next" key of a rollover). */
const nextKeyDigest = (): string =>
  createHash('sha256')
    .update(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

/** The cases in dane.test: each domain has one MX, `mx.<domain>`, broken in one way or not at all. */
const CASE = {
  ee311: `ee311.${ZONE}`,
  single: `single.${ZONE}`,
  ta211: `ta211.${ZONE}`,
  full302: `full302.${ZONE}`,
  stale: `stale.${ZONE}`,
  eeExpired: `eeexpired.${ZONE}`,
  taWrongName: `tawrongname.${ZONE}`,
  pkixOnly: `pkix.${ZONE}`,
  noTls: `notls.${ZONE}`,
  noTlsa: `nodane.${ZONE}`,
  tlsaCname: `tlsacname.${ZONE}`,
  /** `_tcp.<mx>` is a DNAME: the TLSA answer is a CNAME synthesized from it (RFC 6672). */
  dname: `dname.${ZONE}`,
  nsec3: `nsec3.${ZONE}`,
  nsec3NoTlsa: `nodane3.nsec3.${ZONE}`,
  bogus: `bogus.${ZONE}`,
  expired: `expired.${ZONE}`,
  unsigned: `unsigned.${ZONE}`,
  large: `large.${ZONE}`,
  /** The MX host is a CNAME to `pool`: TLSA at the expanded name, SNI for it (RFC 7672 §2.2.3, §8.1). */
  addrCname: `addrcname.${ZONE}`,
  /** The MX host is a CNAME into the bogus zone: a failed TLSA lookup there is no reason to fall back. */
  cnameBogus: `cnamebogus.${ZONE}`,
  /** `2 1 0` with the root's key, which the server does not send (RFC 7671 §5.2.2). */
  ta210: `ta210.${ZONE}`,
  /** Its MX has an IPv6 address only. */
  v6only: `v6only.${ZONE}`,
} as const;

const POOL = `pool.${ZONE}`;

/**
 * TLSA records of `large`: the real one among other keys' `3 1 2` and `3 0 2` records, so the
 * signed answer outgrows the EDNS UDP size the probe advertises and comes back truncated.
 */
const LARGE_TLSA_DECOYS = 20;

interface Fixture {
  readonly pki: TestPki;
  /** The certificate each MX host presents. */
  readonly leaves: Readonly<Record<string, Issued>>;
  /** TLSA records per MX host, as `usage selector type hex`. */
  readonly tlsa: Readonly<Record<string, readonly string[]>>;
}

describe.skipIf(requirements.skip)(
  requirements.title('mailprobe dane against NSD, Unbound, smtp-server and Postfix'),
  () => {
    requirements.enforce();
    let fixture: Fixture;
    let nsd: (NsdInstance & { zones: readonly SignedZone[] }) | undefined;
    let unbound: UnboundInstance | undefined;
    let smtp: Stoppable | undefined;
    let smtpPort = 0;
    let postfix: PostfixInstance | undefined;
    let anchorFile: string;
    const scratch = scratchDir('dane-test');
    let run: CliRun;
    let noTlsRun: CliRun;
    let mtaStsRun: CliRun;
    let dnskeyAnchorRun: CliRun;
    let childAnchorRun: CliRun;
    const result = (domain: string, from: CliRun = run): CliResult => {
      const found = from.results.find((r) => r.target === domain);
      if (found === undefined) throw new Error(`no result for ${domain}`);
      return found;
    };
    /** The CLI flags for the test zones: Unbound, the zone's anchor, private MX addresses, JSON. */
    const commonArgs = (): string[] => [
      '--dns-server',
      unbound!.server,
      '--trust-anchor',
      anchorFile,
      '--allow-private',
      '--json',
    ];
    const mxReport = (domain: string, from?: CliRun): Record<string, unknown> =>
      ((result(domain, from).mx as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};

    beforeAll(async () => {
      const pki = await createTestPki({ rootName: 'mailprobe dane test' });
      const leaf = (domain: string, o: Parameters<TestPki['issueLeaf']>[0] = {}): Promise<Issued> =>
        issueCertificate(pki.intermediate, { dnsNames: [mxOf(domain)], ...o });
      const leaves: Record<string, Issued> = {};
      for (const domain of Object.values(CASE)) leaves[mxOf(domain)] = await leaf(domain);
      // DANE-EE ignores names and dates; DANE-TA does not.
      leaves[mxOf(CASE.eeExpired)] = await leaf(CASE.eeExpired, {
        dnsNames: ['somewhere-else.example'],
        notBefore: daysFromNow(-100),
        notAfter: daysFromNow(-10),
      });
      leaves[mxOf(CASE.taWrongName)] = await leaf(CASE.taWrongName, { dnsNames: ['somewhere-else.example'] });
      // The pool's certificate, presented for SNI pool.dane.test only; mx.addrcname gets its own.
      leaves[POOL] = await issueCertificate(pki.intermediate, { dnsNames: [POOL] });
      const ee = (domain: string): string => `3 1 1 ${spkiSha256(leaves[mxOf(domain)]!.x509)}`;
      const next = (): string => `3 1 1 ${nextKeyDigest()}`;
      const ta = (cert: Issued): string => `2 1 1 ${spkiSha256(cert.x509)}`;
      const tlsa: Record<string, string[]> = {
        [mxOf(CASE.ee311)]: [ee(CASE.ee311), next()],
        [mxOf(CASE.single)]: [ee(CASE.single)],
        [mxOf(CASE.ta211)]: [ta(pki.intermediate), ta(pki.root)],
        [mxOf(CASE.full302)]: [`3 0 2 ${certSha512(leaves[mxOf(CASE.full302)]!.x509)}`, next()],
        // The certificate was renewed with a new key; the records still name the old ones.
        [mxOf(CASE.stale)]: [next(), next()],
        [mxOf(CASE.eeExpired)]: [ee(CASE.eeExpired), next()],
        [mxOf(CASE.taWrongName)]: [ta(pki.intermediate), ta(pki.root)],
        [mxOf(CASE.pkixOnly)]: [
          `1 1 1 ${spkiSha256(leaves[mxOf(CASE.pkixOnly)]!.x509)}`,
          `0 1 1 ${spkiSha256(pki.root.x509)}`,
        ],
        [mxOf(CASE.noTls)]: [ee(CASE.noTls), next()],
        [mxOf(CASE.nsec3)]: [ee(CASE.nsec3), next()],
        [mxOf(CASE.bogus)]: [ee(CASE.bogus), next()],
        [mxOf(CASE.expired)]: [ee(CASE.expired), next()],
        [mxOf(CASE.unsigned)]: [ee(CASE.unsigned), next()],
        'shared-tlsa.dane.test': [ee(CASE.tlsaCname), next()],
        [`_25._tcp.tlsa-pool.${ZONE}`]: [ee(CASE.dname), next()],
        [POOL]: [`3 1 1 ${spkiSha256(leaves[POOL]!.x509)}`, next()],
        [mxOf(CASE.v6only)]: [ee(CASE.v6only), next()],
        [mxOf(CASE.ta210)]: [
          `2 1 0 ${pki.root.x509.publicKey.export({ type: 'spki', format: 'der' }).toString('hex')}`,
          next(),
        ],
        [mxOf(CASE.large)]: Array.from({ length: LARGE_TLSA_DECOYS }, (_, i) =>
          i % 2 === 0 ? `3 1 2 ${randomBytes(64).toString('hex')}` : `3 0 2 ${randomBytes(64).toString('hex')}`,
        ).toSpliced(LARGE_TLSA_DECOYS / 2, 0, ee(CASE.large)),
      };
      fixture = { pki, leaves, tlsa };

      const hostRecords = (domain: string, origin: string): string[] => {
        const rel = (name: string): string => `${name}.`;
        const mx = mxOf(domain);
        return [
          `${rel(domain)} IN MX 10 ${mx}.`,
          `${rel(mx)} IN A 127.0.0.1`,
          ...(tlsa[mx] ?? []).map((r) => `_25._tcp.${mx}. IN TLSA ${r}`),
        ].filter((line) => line.includes(origin));
      };
      const child = (domain: string): string[] => hostRecords(domain, domain);
      const smtpServer = startSmtpServer({
        credentials: pki.credentials(leaves[mxOf(CASE.ee311)]),
        sniOptions: Object.fromEntries(Object.entries(leaves).map(([name, l]) => [name, pki.credentials(l)])),
      });

      const nsdStart = startNsd((dir) => {
        const nsec3 = buildZone(dir, {
          origin: CASE.nsec3,
          sign: { algorithm: 'RSASHA256', nsec3: true },
          records: [
            ...child(CASE.nsec3),
            `${CASE.nsec3NoTlsa}. IN MX 10 ${mxOf(CASE.nsec3NoTlsa)}.`,
            `${mxOf(CASE.nsec3NoTlsa)}. IN A 127.0.0.1`,
          ],
        });
        const bogus = buildZone(dir, {
          origin: CASE.bogus,
          sign: {
            algorithm: 'ED25519',
            // Tampered after signing: the first TLSA record's data no longer matches its RRSIG.
            tamper: (text) =>
              text.replace(
                /(TLSA\s+3\s+1\s+1\s+)([0-9a-f])/i,
                (_m, head: string, c: string) => head + (c === '0' ? '1' : '0'),
              ),
          },
          records: child(CASE.bogus),
        });
        const expired = buildZone(dir, {
          origin: CASE.expired,
          sign: { algorithm: 'ECDSAP256SHA256', expired: true },
          records: child(CASE.expired),
        });
        const unsigned = buildZone(dir, { origin: CASE.unsigned, records: child(CASE.unsigned) });
        const top = Object.values(CASE).filter(
          (d) => ![CASE.nsec3, CASE.nsec3NoTlsa, CASE.bogus, CASE.expired, CASE.unsigned].includes(d as never),
        );
        const parent = buildZone(dir, {
          origin: ZONE,
          sign: { algorithm: 'ECDSAP256SHA256' },
          records: [
            `ns.${ZONE}. IN A 127.0.0.1`,
            ...top
              .filter(
                (d) =>
                  !([CASE.tlsaCname, CASE.dname, CASE.addrCname, CASE.cnameBogus, CASE.v6only] as string[]).includes(d),
              )
              .flatMap((d) => hostRecords(d, ZONE)),
            `${CASE.addrCname}. IN MX 10 ${mxOf(CASE.addrCname)}.`,
            `${mxOf(CASE.addrCname)}. IN CNAME ${POOL}.`,
            `${POOL}. IN A 127.0.0.1`,
            ...(tlsa[POOL] ?? []).map((r) => `_25._tcp.${POOL}. IN TLSA ${r}`),
            `${CASE.v6only}. IN MX 10 ${mxOf(CASE.v6only)}.`,
            `${mxOf(CASE.v6only)}. IN AAAA ::1`,
            ...(tlsa[mxOf(CASE.v6only)] ?? []).map((r) => `_25._tcp.${mxOf(CASE.v6only)}. IN TLSA ${r}`),
            `${CASE.cnameBogus}. IN MX 10 ${mxOf(CASE.cnameBogus)}.`,
            `${mxOf(CASE.cnameBogus)}. IN CNAME ${mxOf(CASE.bogus)}.`,
            `${CASE.dname}. IN MX 10 ${mxOf(CASE.dname)}.`,
            `${mxOf(CASE.dname)}. IN A 127.0.0.1`,
            `_tcp.${mxOf(CASE.dname)}. IN DNAME _tcp.tlsa-pool.${ZONE}.`,
            ...(tlsa[`_25._tcp.tlsa-pool.${ZONE}`] ?? []).map((r) => `_25._tcp.tlsa-pool.${ZONE}. IN TLSA ${r}`),
            `${CASE.tlsaCname}. IN MX 10 ${mxOf(CASE.tlsaCname)}.`,
            `${mxOf(CASE.tlsaCname)}. IN A 127.0.0.1`,
            `_25._tcp.${mxOf(CASE.tlsaCname)}. IN CNAME shared-tlsa.${ZONE}.`,
            ...(tlsa[`shared-tlsa.${ZONE}`] ?? []).map((r) => `shared-tlsa.${ZONE}. IN TLSA ${r}`),
            // Delegations: three signed children (DS), one unsigned (no DS).
            ...[CASE.nsec3, CASE.bogus, CASE.expired, CASE.unsigned].map((d) => `${d}. IN NS ns.${ZONE}.`),
            ...[nsec3, bogus, expired].flatMap((z) => z.ds),
          ],
        });
        return [parent, nsec3, bogus, expired, unsigned];
      });
      const [started, smtpStarted, postfixStarted] = await startAll([
        nsdStart,
        smtpServer.then((s): RunningSmtp & Stoppable => ({ ...s, stop: () => s.close() })),
        startPostfix({ hostname: mxOf(CASE.noTls) }),
      ] as const);
      nsd = started;
      smtp = smtpStarted;
      postfix = postfixStarted;
      smtpPort = (smtpStarted as RunningSmtp).port;
      const anchor = nsd.zones[0]!.ds;
      unbound = await startUnbound({
        stubZones: nsd.zones.map((z) => z.origin),
        authPort: nsd.port,
        trustAnchors: anchor,
      });
      anchorFile = join(scratch.path, 'anchors');
      writeFileSync(anchorFile, `; the test zone's KSK\n${anchor.join('\n')}\n`);

      const common = commonArgs();
      const domains = Object.values(CASE).filter((d) => d !== CASE.noTls);
      const dnskeyFile = join(scratch.path, 'dnskey-anchor');
      writeFileSync(dnskeyFile, `${nsd.zones[0]!.ksk ?? ''}\n`);
      // An anchor for a child zone only: names under it are validated from it, the rest of dane.test is outside every anchor.
      const childFile = join(scratch.path, 'child-anchor');
      writeFileSync(childFile, `${nsd.zones.find((z) => z.origin === CASE.nsec3)!.ds.join('\n')}\n`);
      const withAnchor = (file: string): string[] => common.map((a) => (a === anchorFile ? file : a));
      [run, noTlsRun, mtaStsRun, dnskeyAnchorRun, childAnchorRun] = await Promise.all([
        runCli(['dane', ...domains, '--mx-port', String(smtpPort), ...common]),
        runCli(['dane', CASE.noTls, '--mx-port', String(postfix.port), ...common]),
        runCli(['mta-sts', CASE.ee311, CASE.stale, '--mx-port', String(smtpPort), ...common]),
        runCli(['dane', CASE.ee311, CASE.stale, '--mx-port', String(smtpPort), ...withAnchor(dnskeyFile)]),
        runCli(['dane', CASE.nsec3, CASE.ee311, '--mx-port', String(smtpPort), ...withAnchor(childFile)]),
      ]);
    });

    afterAll(async () => {
      await stopAll([unbound, nsd, postfix, smtp]);
      scratch.remove();
    });

    const diag = (domain: string, from?: CliRun): string =>
      JSON.stringify(result(domain, from), null, 1).slice(0, 4000);

    it('3 1 1 with a next key: valid, nothing to report', () => {
      expect(codesOf(result(CASE.ee311)), diag(CASE.ee311)).toEqual([]);
      const mx = mxReport(CASE.ee311);
      expect(mx.verdict).toBe('valid');
      expect((mx.endpoints as { matched: { record: string; depth: number } }[])[0]?.matched).toMatchObject({
        record: fixture.tlsa[mxOf(CASE.ee311)]![0],
        depth: 0,
      });
      expect(result(CASE.ee311).mxDnssec).toMatchObject({ status: 'secure' });
    });

    it('a single usable record: valid, but DANE_NO_ROLLOVER', () => {
      expect(codesOf(result(CASE.single)), diag(CASE.single)).toEqual(['DANE_NO_ROLLOVER']);
      expect(result(CASE.single).status).toBe('warning');
    });

    it('2 1 1 for the issuing CA, chain sent: matched at depth 1', () => {
      expect(codesOf(result(CASE.ta211)), diag(CASE.ta211)).toEqual([]);
      const endpoint = (mxReport(CASE.ta211).endpoints as { matched: { depth: number }; chain: unknown[] }[])[0];
      expect(endpoint?.matched.depth).toBe(1);
      expect(endpoint?.chain).toHaveLength(2);
    });

    it('3 0 2 (full certificate, SHA-512): valid', () => {
      expect(codesOf(result(CASE.full302)), diag(CASE.full302)).toEqual([]);
      expect(mxReport(CASE.full302).verdict).toBe('valid');
    });

    it('a stale record after key rotation: DANE_TLSA_MISMATCH naming the record for the current key', () => {
      const r = result(CASE.stale);
      expect(codesOf(r), diag(CASE.stale)).toEqual(['DANE_TLSA_MISMATCH']);
      expect(r.status).toBe('critical');
      const current = `3 1 1 ${spkiSha256(fixture.leaves[mxOf(CASE.stale)]!.x509)}`;
      expect(r.findings[0]?.message).toContain(current);
    });

    it('DANE-EE with an expired, wrong-name certificate: valid (RFC 7672 §3.1.1)', () => {
      expect(codesOf(result(CASE.eeExpired)), diag(CASE.eeExpired)).toEqual([]);
    });

    it('DANE-TA with a certificate for another name: DANE_TLSA_MISMATCH', () => {
      const r = result(CASE.taWrongName);
      expect(codesOf(r), diag(CASE.taWrongName)).toEqual(['DANE_TLSA_MISMATCH']);
      expect(r.findings[0]?.message).toContain('not for mx.tawrongname.dane.test');
    });

    it('PKIX-TA/PKIX-EE records only: DANE_TLSA_UNUSABLE', () => {
      expect(codesOf(result(CASE.pkixOnly)), diag(CASE.pkixOnly)).toEqual(['DANE_TLSA_UNUSABLE']);
    });

    it('TLSA records but no STARTTLS (Postfix without TLS): DANE_STARTTLS_MISSING', () => {
      expect(codesOf(result(CASE.noTls, noTlsRun)), diag(CASE.noTls, noTlsRun)).toEqual(['DANE_STARTTLS_MISSING']);
      expect(noTlsRun.exitCode).toBe(1);
    });

    it('no TLSA records, securely denied by NSEC and by NSEC3: DANE_NOT_DEPLOYED', () => {
      for (const domain of [CASE.noTlsa, CASE.nsec3NoTlsa]) {
        expect(codesOf(result(domain)), diag(domain)).toEqual(['DANE_NOT_DEPLOYED']);
        expect((mxReport(domain).tlsa as { status: string }).status).toBe('secure');
      }
    });

    it('a TLSA CNAME and an NSEC3 child zone signed with RSA: valid', () => {
      expect(codesOf(result(CASE.tlsaCname)), diag(CASE.tlsaCname)).toEqual([]);
      expect((mxReport(CASE.tlsaCname).tlsa as { owner: string }).owner).toBe(`shared-tlsa.${ZONE}`);
      expect(codesOf(result(CASE.nsec3)), diag(CASE.nsec3)).toEqual([]);
    });

    it('an MX host that is a CNAME: TLSA at the expanded name, and SNI for it (RFC 7672 §2.2.3, §8.1)', () => {
      expect(codesOf(result(CASE.addrCname)), diag(CASE.addrCname)).toEqual([]);
      const mx = mxReport(CASE.addrCname);
      expect(mx.tlsa).toMatchObject({ name: `_25._tcp.${POOL}`, status: 'secure' });
      // SNI pool.dane.test: the server presented the pool's certificate, which the record names.
      expect((mx.endpoints as { matched?: { record: string } }[])[0]?.matched?.record).toBe(fixture.tlsa[POOL]![0]);
    });

    it('a bogus TLSA RRset at the CNAME-expanded name is DANE_DNSSEC_BOGUS, not a fallback to no DANE', () => {
      expect(codesOf(result(CASE.cnameBogus)), diag(CASE.cnameBogus)).toEqual(['DANE_DNSSEC_BOGUS']);
      expect(result(CASE.cnameBogus).findings[0]?.message).toContain(`_25._tcp.${mxOf(CASE.bogus)}`);
    });

    it('2 1 0 with the key of a root the server does not send: valid through the absent trust anchor', () => {
      expect(codesOf(result(CASE.ta210)), diag(CASE.ta210)).toEqual([]);
      const endpoint = (mxReport(CASE.ta210).endpoints as { matched: { depth: number }; chain: unknown[] }[])[0];
      expect(endpoint?.chain).toHaveLength(2);
      expect(endpoint?.matched.depth).toBe(2);
    });

    it('an IPv6-only MX seen from a probe without IPv6: unknown, with the address listed as not probed', async () => {
      const ctx = createContext({
        allowPrivate: true,
        dnssec: { server: unbound!.server, anchors: parseTrustAnchors(nsd!.zones[0]!.ds.join('\n')) },
      });
      const verdict = await daneVerdict(CASE.v6only, ctx, new Deadline(30_000), { mxPort: smtpPort, ipv6: false });
      expect(verdict.verdict).toBe('unknown');
      expect(verdict.mx[0]).toMatchObject({
        addresses: ['::1'],
        endpoints: [],
        notProbed: [{ address: '::1', reason: 'the probe has no IPv6 connectivity' }],
      });
    });

    it('an MX that cannot be reached: the DANE state is unknown, not a DANE failure', async () => {
      const closed = await freePort();
      const out = await runCli(['dane', CASE.ee311, '--mx-port', String(closed), ...commonArgs()]);
      const r = result(CASE.ee311, out);
      expect(codesOf(r), diag(CASE.ee311, out)).toEqual(['CONNECT_REFUSED']);
      expect(mxReport(CASE.ee311, out).verdict).toBe('unknown');
      expect(r.verdict).toBe('unknown');
    });

    it('a TLSA name under a DNAME: the synthesized CNAME is vouched for by the signed DNAME, valid', () => {
      expect(codesOf(result(CASE.dname)), diag(CASE.dname)).toEqual([]);
      const tlsa = mxReport(CASE.dname).tlsa as { owner: string; status: string };
      expect(tlsa).toMatchObject({ owner: `_25._tcp.tlsa-pool.${ZONE}`, status: 'secure' });
    });

    it('tampered TLSA data and expired signatures: DANE_DNSSEC_BOGUS', () => {
      expect(codesOf(result(CASE.bogus)), diag(CASE.bogus)).toEqual(['DANE_DNSSEC_BOGUS']);
      expect(result(CASE.bogus).findings[0]?.message).toContain('TLSA');
      expect(codesOf(result(CASE.expired)), diag(CASE.expired)).toEqual(['DANE_DNSSEC_BOGUS']);
      expect(result(CASE.expired).findings[0]?.message).toContain('expired');
    });

    it('TLSA records in an unsigned delegation: DANE_NOT_DEPLOYED (insecure)', () => {
      expect(codesOf(result(CASE.unsigned)), diag(CASE.unsigned)).toEqual(['DANE_NOT_DEPLOYED']);
      expect(result(CASE.unsigned).mxDnssec).toMatchObject({ status: 'insecure' });
    });

    it('mailprobe mta-sts carries the DANE verdict, and a DANE failure is critical there too', () => {
      const good = result(CASE.ee311, mtaStsRun);
      expect(good.check).toBe('mta-sts');
      expect(good.dane).toMatchObject({ verdict: 'valid', mxDnssec: { status: 'secure' } });
      expect(codesOf(good).filter((c) => c.startsWith('DANE_'))).toEqual([]);
      const stale = result(CASE.stale, mtaStsRun);
      expect(stale.dane).toMatchObject({ verdict: 'invalid' });
      expect(stale.findings.find((f) => f.code === 'DANE_TLSA_MISMATCH')?.severity).toBe('critical');
      expect(stale.status).toBe('critical');
    });

    it('an SMTP target with dane: true carries the DANE verdict of its host', async () => {
      const ctx = createContext({
        resolver: new DnsResolver({ server: unbound!.server }),
        extraCa: [fixture.pki.caPem],
        allowPrivate: true,
        timeoutMs: 30_000,
        dnssec: { server: unbound!.server, anchors: parseTrustAnchors(nsd!.zones[0]!.ds.join('\n')) },
      });
      const spec = (domain: string) => ({ check: 'smtp' as const, host: mxOf(domain), port: smtpPort, dane: true });
      const [good, stale] = await Promise.all([runSmtp(spec(CASE.ee311), ctx), runSmtp(spec(CASE.stale), ctx)]);
      expect((good as { dane?: { verdict: string } }).dane?.verdict).toBe('valid');
      expect(good.findings.map((f) => f.code).filter((c) => c.startsWith('DANE_'))).toEqual([]);
      expect(good.status).toBe('ok');
      expect((stale as { dane?: { verdict: string } }).dane?.verdict).toBe('invalid');
      expect(stale.findings.map((f) => f.code)).toContain('DANE_TLSA_MISMATCH');
      expect(stale.status).toBe('critical');
    });

    it('a DNSKEY trust anchor gives the same verdicts as its DS', () => {
      expect(codesOf(result(CASE.ee311, dnskeyAnchorRun)), diag(CASE.ee311, dnskeyAnchorRun)).toEqual([]);
      expect(result(CASE.ee311, dnskeyAnchorRun).mxDnssec).toMatchObject({ status: 'secure' });
      expect(codesOf(result(CASE.stale, dnskeyAnchorRun))).toEqual(['DANE_TLSA_MISMATCH']);
    });

    it('an anchor for a child zone validates names under it; names outside every anchor are insecure', () => {
      expect(codesOf(result(CASE.nsec3, childAnchorRun)), diag(CASE.nsec3, childAnchorRun)).toEqual([]);
      expect(mxReport(CASE.nsec3, childAnchorRun).verdict).toBe('valid');
      const outside = result(CASE.ee311, childAnchorRun);
      expect(codesOf(outside)).toEqual(['DANE_NOT_DEPLOYED']);
      expect(outside.mxDnssec).toMatchObject({ status: 'insecure', why: `no trust anchor covers ${CASE.ee311}` });
    });

    it('asks one DS per label below the anchor and each question once (the cost README states)', async () => {
      const asked: string[] = [];
      const real = createQuery(dnsServerAddresses(unbound!.server));
      const query: QueryFn = (name, type, timeoutMs) => {
        asked.push(`${typeName(type)} ${name}`);
        return real(name, type, timeoutMs);
      };
      const ctx = createContext({
        allowPrivate: true,
        dnssec: { anchors: parseTrustAnchors(nsd!.zones[0]!.ds.join('\n')) },
      });
      const verdict = await daneVerdict(CASE.ee311, ctx, new Deadline(30_000), { query, mxPort: smtpPort });
      expect(verdict.verdict).toBe('valid');
      const mx = mxOf(CASE.ee311);
      expect([...asked].sort()).toEqual(
        [
          `DNSKEY ${ZONE}`,
          `DS ${CASE.ee311}`,
          `MX ${CASE.ee311}`,
          `DS ${mx}`,
          `A ${mx}`,
          `AAAA ${mx}`,
          `DS _tcp.${mx}`,
          `DS _25._tcp.${mx}`,
          `TLSA _25._tcp.${mx}`,
        ].sort(),
      );
    });

    it('a TLSA RRset too large for UDP: the answer is truncated, the probe asks again over TCP and validates it', async () => {
      const mx = mxOf(CASE.large);
      const name = `_25._tcp.${mx}`;
      // The question as the probe's transport asks it over UDP (RD, CD, DO, the same EDNS size).
      const udp = await exchangeUdp(unbound!.port, {
        type: 'query',
        id: randomInt(0, 65536),
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
        questions: [{ type: 'TLSA', name }],
        additionals: [
          { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, flags: dnsPacket.DNSSEC_OK } as dnsPacket.OptAnswer,
        ],
      });
      expect(udp.flag_tc).toBe(true);
      // Over TCP the probe got the whole RRset, validated it and matched the real record among the decoys.
      expect(codesOf(result(CASE.large)), diag(CASE.large)).toEqual([]);
      const report = mxReport(CASE.large);
      expect(report.verdict).toBe('valid');
      const tlsa = report.tlsa as { status: string; records: unknown[] };
      expect(tlsa.status).toBe('secure');
      expect(tlsa.records).toHaveLength(LARGE_TLSA_DECOYS + 1);
      expect((report.endpoints as { matched: { record: string; depth: number } }[])[0]?.matched).toMatchObject({
        record: `3 1 1 ${spkiSha256(fixture.leaves[mx]!.x509)}`,
        depth: 0,
      });
    });

    it('every DNSSEC verdict agrees with Unbound validating on its own', async () => {
      const ours: Record<string, string> = {};
      const theirs: Record<string, string> = {};
      for (const domain of Object.values(CASE).filter((d) => d !== CASE.noTls && d !== CASE.unsigned)) {
        const tlsa = mxReport(domain).tlsa as { name: string; status: string } | undefined;
        if (tlsa === undefined) continue;
        ours[tlsa.name] = tlsa.status;
        const v = await unbound!.verdict(tlsa.name, 'TLSA');
        theirs[tlsa.name] = v === 'nxdomain' ? 'insecure' : v;
      }
      ours[`${CASE.unsigned}`] = String((result(CASE.unsigned).mxDnssec as { status: string }).status);
      theirs[`${CASE.unsigned}`] = await unbound!.verdict(CASE.unsigned, 'MX');
      // 16 with `large` (Unbound too gives its TLSA answer in full over TCP only) and `dname`.
      expect(Object.keys(ours).length).toBeGreaterThanOrEqual(16);
      expect(ours).toEqual(theirs);
    });

    it('openssl s_client agrees on the match and the mismatch', async () => {
      const sClient = (host: string, records: readonly string[]): Promise<string> =>
        new Promise((resolve) => {
          const child = execFile(
            BINARIES.openssl,
            [
              's_client',
              '-connect',
              `127.0.0.1:${smtpPort}`,
              '-starttls',
              'smtp',
              '-servername',
              host,
              '-dane_tlsa_domain',
              host,
              ...records.flatMap((r) => ['-dane_tlsa_rrdata', r]),
              '-brief',
            ],
            { timeout: 30_000 },
            (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
          );
          child.stdin?.end();
        });
      const good = await sClient(mxOf(CASE.ee311), fixture.tlsa[mxOf(CASE.ee311)]!);
      expect(good).toMatch(/Verification: OK/);
      expect(good).toMatch(/DANE TLSA 3 1 1/);
      const stale = await sClient(mxOf(CASE.stale), fixture.tlsa[mxOf(CASE.stale)]!);
      expect(stale).not.toMatch(/Verification: OK/);
      expect(stale).toMatch(/No matching DANE TLSA records/i);
      const ta = await sClient(mxOf(CASE.ta211), fixture.tlsa[mxOf(CASE.ta211)]!);
      expect(ta).toMatch(/Verification: OK/);
      // The absent trust anchor: OpenSSL (Postfix's DANE) accepts 2 1 0 for a root it is not sent.
      const absent = await sClient(mxOf(CASE.ta210), fixture.tlsa[mxOf(CASE.ta210)]!);
      expect(absent).toMatch(/Verification: OK/);
    });
  },
);
