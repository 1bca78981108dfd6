/**
 * DNS wildcards against real DNSSEC: zones signed at test time with ldns, one with NSEC and
 * one with NSEC3, served by NSD under a signed parent, and Unbound as the resolver the probe
 * asks (CD set) and as an independent validator. Names that exist only by a wildcard
 * (`*.<zone>` A, MX and TLSA; `*._tcp.<host>` TLSA) must validate as secure, for positive
 * answers, for NODATA synthesized from the wildcard (AAAA) and for the DS questions the
 * validator asks at every label on its way down: RFC 4035 §3.1.3.3-4, §5.3.4, §5.4;
 * RFC 5155 §8.7-8.8. And `mailprobe dane` on a domain whose MX is wildcard-served is valid.
 */
import { createHash, generateKeyPairSync, type X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, issueCertificate } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';
import { codesOf, runCli, type CliRun } from '../../../testkit/system/cli.js';
import { scratchDir, startAll, stopAll, type Stoppable } from '../../../testkit/system/daemon.js';
import { buildZone, startNsd, type NsdInstance, type SignedZone } from '../../../testkit/system/nsd.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';
import { startUnbound, type UnboundInstance } from '../../../testkit/system/unbound.js';
import { parseTrustAnchors } from '../../../lambdas/engine/dnssec/anchors.js';
import { createQuery, dnsServerAddresses, type QueryFn } from '../../../lambdas/engine/dnssec/transport.js';
import { Validator, type ValidatedAnswer } from '../../../lambdas/engine/dnssec/validator.js';
import { TYPE, typeName } from '../../../lambdas/engine/dnssec/wire.js';

const requirements = systemRequirements('nsd', 'unbound', 'ldns-keygen', 'ldns-signzone');

/** The parent (NSEC, the trust anchor) and its two signed children: NSEC and NSEC3. */
const PARENT = 'dane.test';
const CHILDREN = { nsec: `wild.${PARENT}`, nsec3: `wild3.${PARENT}` } as const;

const spkiSha256 = (cert: X509Certificate): string =>
  createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const nextKeyDigest = (): string =>
  createHash('sha256')
    .update(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

/** Names in a child zone O, and what each is. */
const names = (o: string) => ({
  /** MX mail.O; mail.O exists only by the wildcard *.O. */
  domain: o,
  mail: `mail.${o}`,
  /** A domain that exists only by the wildcard: its MX comes from *.O too. */
  shop: `shop.${o}`,
  /** An existing sibling: NSEC/NSEC3 records cover the wildcard-served names around it. */
  sib: `sib.${o}`,
  /** MX mx.tl.O, which exists; its TLSA comes from the wildcard *._tcp.mx.tl.O. */
  tl: `tl.${o}`,
  tlMx: `mx.tl.${o}`,
});

describe.skipIf(requirements.skip)(
  requirements.title('DNSSEC wildcards (NSEC and NSEC3) against NSD and Unbound, and mailprobe dane'),
  () => {
    requirements.enforce();
    let nsd: (NsdInstance & { zones: readonly SignedZone[] }) | undefined;
    let unbound: UnboundInstance | undefined;
    let smtp: Stoppable | undefined;
    let smtpPort = 0;
    let anchors: readonly string[] = [];
    let tlsa: readonly string[] = [];
    let run: CliRun;
    const scratch = scratchDir('dnssec-wildcard-test');

    beforeAll(async () => {
      const pki = await createTestPki({ rootName: 'mailprobe wildcard test' });
      const hosts = Object.values(CHILDREN).flatMap((o) => [names(o).mail, names(o).tlMx]);
      const leaf = await issueCertificate(pki.intermediate, { dnsNames: hosts });
      tlsa = [`3 1 1 ${spkiSha256(leaf.x509)}`, `3 1 1 ${nextKeyDigest()}`];
      const childRecords = (o: string): string[] => {
        const n = names(o);
        return [
          `${o}. IN MX 10 ${n.mail}.`,
          `*.${o}. IN MX 10 ${n.mail}.`,
          `*.${o}. IN A 127.0.0.1`,
          ...tlsa.map((r) => `*.${o}. IN TLSA ${r}`),
          `${n.sib}. IN A 127.0.0.1`,
          `${n.tl}. IN MX 10 ${n.tlMx}.`,
          `${n.tlMx}. IN A 127.0.0.1`,
          ...tlsa.map((r) => `*._tcp.${n.tlMx}. IN TLSA ${r}`),
        ];
      };
      const [started, smtpStarted] = await startAll([
        startNsd((dir) => {
          const nsec = buildZone(dir, {
            origin: CHILDREN.nsec,
            sign: { algorithm: 'ECDSAP256SHA256' },
            records: childRecords(CHILDREN.nsec),
          });
          const nsec3 = buildZone(dir, {
            origin: CHILDREN.nsec3,
            sign: { algorithm: 'ECDSAP256SHA256', nsec3: true },
            records: childRecords(CHILDREN.nsec3),
          });
          const parent = buildZone(dir, {
            origin: PARENT,
            sign: { algorithm: 'ECDSAP256SHA256' },
            records: [
              `ns.${PARENT}. IN A 127.0.0.1`,
              ...[CHILDREN.nsec, CHILDREN.nsec3].map((c) => `${c}. IN NS ns.${PARENT}.`),
              ...nsec.ds,
              ...nsec3.ds,
            ],
          });
          return [parent, nsec, nsec3];
        }),
        startSmtpServer({ credentials: pki.credentials(leaf) }).then((s): RunningSmtp & Stoppable => ({
          ...s,
          stop: () => s.close(),
        })),
      ] as const);
      nsd = started;
      smtp = smtpStarted;
      smtpPort = (smtpStarted as RunningSmtp).port;
      anchors = nsd.zones[0]!.ds;
      unbound = await startUnbound({
        stubZones: nsd.zones.map((z) => z.origin),
        authPort: nsd.port,
        trustAnchors: anchors,
      });
      const anchorFile = join(scratch.path, 'anchors');
      writeFileSync(anchorFile, `${anchors.join('\n')}\n`);
      const domains = Object.values(CHILDREN).flatMap((o) => [names(o).domain, names(o).shop, names(o).tl]);
      run = await runCli([
        'dane',
        ...domains,
        '--mx-port',
        String(smtpPort),
        '--dns-server',
        unbound.server,
        '--trust-anchor',
        anchorFile,
        '--allow-private',
        '--json',
      ]);
    });

    afterAll(async () => {
      await stopAll([unbound, nsd, smtp]);
      scratch.remove();
    });

    const validator = (query: QueryFn = createQuery(dnsServerAddresses(unbound!.server))): Validator =>
      new Validator({
        query,
        anchors: parseTrustAnchors(anchors.join('\n')),
        now: () => Math.floor(Date.now() / 1000),
        remainingMs: () => 30_000,
      });
    const show = (a: ValidatedAnswer): string =>
      `${typeName(a.type)} ${a.name}: ${a.status}${a.negative ? ` ${a.negative}` : ''} (${a.why})`;

    /** [name, type, records expected (0: a negative answer), negative kind] */
    type Case = readonly [string, 'MX' | 'A' | 'AAAA' | 'TLSA' | 'DS', number, ('NODATA' | 'NXDOMAIN')?];
    const cases = (o: string): Case[] => {
      const n = names(o);
      return [
        [n.domain, 'MX', 1],
        [n.shop, 'MX', 1],
        [n.mail, 'A', 1],
        [`a.b.${n.mail}`, 'A', 1],
        [n.mail, 'AAAA', 0, 'NODATA'],
        [`_25._tcp.${n.mail}`, 'TLSA', 2],
        [n.mail, 'DS', 0, 'NODATA'],
        [`_tcp.${n.mail}`, 'DS', 0, 'NODATA'],
        [`_25._tcp.${n.mail}`, 'DS', 0, 'NODATA'],
        [`_25._tcp.${n.tlMx}`, 'TLSA', 2],
        [`_25._tcp.${n.tlMx}`, 'DS', 0, 'NODATA'],
        [`_tcp.${n.tlMx}`, 'DS', 0, 'NODATA'],
        [n.sib, 'AAAA', 0, 'NODATA'],
        [`x.${n.sib}`, 'A', 0, 'NXDOMAIN'],
      ];
    };

    for (const [kind, zone] of Object.entries(CHILDREN)) {
      it(`${kind}: every wildcard-served answer is secure, as Unbound validates it too`, async () => {
        const ours: string[] = [];
        const wanted: string[] = [];
        for (const [name, type, count, negative] of cases(zone)) {
          const answer = await validator().lookup(name, TYPE[type]);
          ours.push(`${show(answer)} records=${answer.records.length} unbound=${await unbound!.verdict(name, type)}`);
          wanted.push(`${type} ${name}: secure${negative ? ` ${negative}` : ''} records=${count} unbound=secure`);
        }
        // Compared line by line with the reason stripped: a failure shows every disagreement at once.
        expect(ours.map((l) => l.replace(/ \(.*\)/, ''))).toEqual(wanted);
      });

      it(`${kind}: the DS walk asks each label once, wildcard-only names included, and stays in the zone`, async () => {
        const asked: string[] = [];
        const real = createQuery(dnsServerAddresses(unbound!.server));
        const query: QueryFn = (name, type, timeoutMs) => {
          asked.push(`${typeName(type)} ${name}`);
          return real(name, type, timeoutMs);
        };
        const mail = names(zone).mail;
        const answer = await validator(query).lookup(`_25._tcp.${mail}`, TYPE.TLSA);
        expect(answer.status, show(answer)).toBe('secure');
        expect(answer.why).toBe(`secure from the DS of ${zone}`);
        expect([...asked].sort()).toEqual(
          [
            `DNSKEY ${PARENT}`,
            `DS ${zone}`,
            `DNSKEY ${zone}`,
            `DS ${mail}`,
            `DS _tcp.${mail}`,
            `DS _25._tcp.${mail}`,
            `TLSA _25._tcp.${mail}`,
          ].sort(),
        );
      });

      it(`${kind}: mailprobe dane on domains whose MX or TLSA is wildcard-served: valid`, () => {
        const n = names(zone);
        for (const [domain, mx] of [
          [n.domain, n.mail],
          [n.shop, n.mail],
          [n.tl, n.tlMx],
        ] as const) {
          const result = run.results.find((r) => r.target === domain);
          const detail = JSON.stringify(result, null, 1).slice(0, 4000);
          expect(result, `no result for ${domain}`).toBeDefined();
          expect(codesOf(result!), detail).toEqual([]);
          expect(result!.mxDnssec, detail).toMatchObject({ status: 'secure' });
          const report = (result!.mx as Record<string, unknown>[])[0] ?? {};
          expect(report, detail).toMatchObject({ verdict: 'valid', tlsa: { status: 'secure' } });
          expect((report.endpoints as { matched?: { record: string } }[])[0]?.matched?.record, detail).toBe(tlsa[0]);
          expect(JSON.stringify(report), detail).toContain(mx);
        }
      });
    }

    it('mailprobe dane exits 0: nothing critical', () => {
      expect(run.exitCode, run.stdout.slice(0, 4000)).toBe(0);
    });
  },
);
