/**
 * `mailprobe mta-sts` end to end against servers we did not write: dnsmasq is the DNS
 * (TXT, MX, A), nginx serves the policies over HTTPS (SNI picks the site, as on a shared web
 * server), Postfix is the MX with STARTTLS. Everything listens on 127.0.0.1 high ports; the
 * CLI's test-only `--policy-port`/`--mx-port` point it there instead of 443 and 25, and
 * `--allow-private` lets it use the loopback addresses the DNS hands out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from '../../../testkit/pki.js';
import { codesOf, runCli, type CliRun, type CliResult } from '../../../testkit/system/cli.js';
import { scratchDir, startAll, stopAll } from '../../../testkit/system/daemon.js';
import { startDnsmasq, type DnsmasqInstance, type DnsZoneData } from '../../../testkit/system/dnsmasq.js';
import { startNginx, type NginxInstance } from '../../../testkit/system/nginx.js';
import { startPostfix, type PostfixInstance } from '../../../testkit/system/postfix.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';

const requirements = systemRequirements('postfix', 'nginx', 'dnsmasq');

const LOOPBACK = '127.0.0.1';
/** Every domain's one MX unless a case needs another: Postfix's certificate names only this host. */
const MX = 'mx.example.test';

const policy = (mode: string, ...mx: string[]): string =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), 'max_age: 604800', ''].join('\n');

/** The domains under test, each broken in exactly one way (or not at all). */
const DOMAINS = {
  good: 'example.test',
  wrongCert: 'wrongcert.test',
  uncovered: 'uncovered.test',
  noTlsRpt: 'nortlsrpt.test',
  mxName: 'mxname.test',
  testing: 'testing.test',
  redirect: 'redirect.test',
  html: 'html.test',
  noTxt: 'notxt.test',
  // Hosted mail: the MX certificate names the MX host, not this domain.
  hosted: 'hosted.test',
  // Near misses senders discard: a space before the ";", a leading space in the TLS-RPT record.
  nearMiss: 'nearmiss.test',
  // The policy host and the MX each have a dead first address (nothing listens on 127.0.0.9).
  multi: 'multi.test',
} as const;

/** Probed in a second run: its policy host (an nginx of its own) speaks only TLS 1.0 and 1.1. */
const LEGACY_TLS = 'legacytls.test';
/** Nothing listens there: connections are refused at once. */
const DEAD = '127.0.0.9';

const ALL_DOMAINS = [...Object.values(DOMAINS), LEGACY_TLS];
const MULTI_MX = `mx.${DOMAINS.multi}`;

const zone: DnsZoneData = {
  zones: ALL_DOMAINS,
  a: {
    [MX]: LOOPBACK,
    'mail.mxname.test': LOOPBACK,
    ...Object.fromEntries(ALL_DOMAINS.map((d) => [`mta-sts.${d}`, LOOPBACK])),
    [`mta-sts.${DOMAINS.multi}`]: [DEAD, LOOPBACK],
    [MULTI_MX]: [DEAD, LOOPBACK],
  },
  mx: [
    ...ALL_DOMAINS.filter((d) => d !== DOMAINS.mxName && d !== DOMAINS.multi).map((domain) => ({
      domain,
      exchange: MX,
      priority: 10,
    })),
    { domain: DOMAINS.mxName, exchange: 'mail.mxname.test', priority: 10 },
    { domain: DOMAINS.multi, exchange: MULTI_MX, priority: 10 },
  ],
  txt: [
    // Two character-strings in one record: RFC 8461 §3.1 says they are concatenated.
    { name: `_mta-sts.${DOMAINS.good}`, strings: ['v=STSv1; ', 'id=20261123T1'] },
    { name: `_mta-sts.${DOMAINS.nearMiss}`, strings: ['v=STSv1 ; id=nearmiss1'] },
    ...ALL_DOMAINS.filter((d) => d !== DOMAINS.good && d !== DOMAINS.noTxt && d !== DOMAINS.nearMiss).map((d) => ({
      name: `_mta-sts.${d}`,
      strings: [`v=STSv1; id=${d.split('.')[0]}1`],
    })),
    { name: `_smtp._tls.${DOMAINS.nearMiss}`, strings: [` v=TLSRPTv1; rua=mailto:tlsrpt@${DOMAINS.nearMiss}`] },
    ...ALL_DOMAINS.filter((d) => d !== DOMAINS.noTlsRpt && d !== DOMAINS.nearMiss).map((d) => ({
      name: `_smtp._tls.${d}`,
      strings: [`v=TLSRPTv1; rua=mailto:tlsrpt@${d},https://reports.${d}/v1`],
    })),
  ],
};

describe.skipIf(requirements.skip)(
  requirements.title('system: mailprobe mta-sts against dnsmasq, nginx, Postfix'),
  () => {
    requirements.enforce();

    let scratch: ReturnType<typeof scratchDir> | undefined;
    let dns: DnsmasqInstance;
    let web: NginxInstance;
    let mta: PostfixInstance;
    let legacyWeb: NginxInstance;
    let run: CliRun;
    let legacyRun: CliRun;
    const results = new Map<string, CliResult>();

    beforeAll(async () => {
      const pki = await createTestPki();
      scratch = scratchDir('mtasts-ca');
      const caFile = join(scratch.path, 'ca.pem');
      writeFileSync(caFile, pki.caPem);
      const siteCert = (domain: string) => pki.issueLeaf({ dnsNames: [`mta-sts.${domain}`], ipAddresses: [] });
      // Postfix's certificate names the MX hosts and every domain it receives for (a self-hosted
      // MX), except hosted.test: that one is a customer of someone else's MX.
      const mxNames = [MX, MULTI_MX, ...ALL_DOMAINS.filter((d) => d !== DOMAINS.hosted)];
      const [goodCert, mxCert, ...otherCerts] = await Promise.all([
        siteCert(DOMAINS.good),
        pki.issueLeaf({ dnsNames: mxNames, ipAddresses: [] }),
        ...[DOMAINS.uncovered, DOMAINS.noTlsRpt, DOMAINS.mxName, DOMAINS.testing, DOMAINS.redirect, DOMAINS.html].map(
          siteCert,
        ),
      ]);
      const [hostedCert, nearMissCert, multiCert, legacyCert] = await Promise.all(
        [DOMAINS.hosted, DOMAINS.nearMiss, DOMAINS.multi, LEGACY_TLS].map(siteCert),
      );
      const [uncoveredCert, noTlsRptCert, mxNameCert, testingCert, redirectCert, htmlCert] = otherCerts as [
        typeof goodCert,
        typeof goodCert,
        typeof goodCert,
        typeof goodCert,
        typeof goodCert,
        typeof goodCert,
      ];

      [dns, web, mta, legacyWeb] = await startAll([
        startDnsmasq(zone),
        startNginx([
          { serverName: `mta-sts.${DOMAINS.good}`, tls: pki.credentials(goodCert), policy: policy('enforce', MX) },
          // The right content behind a certificate for another name (a shared host's default cert).
          {
            serverName: `mta-sts.${DOMAINS.wrongCert}`,
            tls: pki.credentials(goodCert),
            policy: policy('enforce', MX),
          },
          {
            serverName: `mta-sts.${DOMAINS.uncovered}`,
            tls: pki.credentials(uncoveredCert),
            policy: policy('enforce', `*.${DOMAINS.uncovered}`),
          },
          {
            serverName: `mta-sts.${DOMAINS.noTlsRpt}`,
            tls: pki.credentials(noTlsRptCert),
            policy: policy('enforce', MX),
          },
          {
            serverName: `mta-sts.${DOMAINS.mxName}`,
            tls: pki.credentials(mxNameCert),
            policy: policy('enforce', 'mail.mxname.test'),
          },
          {
            serverName: `mta-sts.${DOMAINS.testing}`,
            tls: pki.credentials(testingCert),
            policy: policy('testing', `mail.${DOMAINS.testing}`),
          },
          // A CMS that moved the file: the policy exists, one redirect away.
          {
            serverName: `mta-sts.${DOMAINS.redirect}`,
            tls: pki.credentials(redirectCert),
            policy: policy('enforce', MX),
            redirectTo: `https://www.${DOMAINS.redirect}/mta-sts.txt`,
          },
          {
            serverName: `mta-sts.${DOMAINS.html}`,
            tls: pki.credentials(htmlCert),
            policy: policy('enforce', MX),
            contentType: 'text/html',
          },
          {
            serverName: `mta-sts.${DOMAINS.hosted}`,
            tls: pki.credentials(hostedCert),
            policy: policy('enforce', MX),
          },
          {
            serverName: `mta-sts.${DOMAINS.nearMiss}`,
            tls: pki.credentials(nearMissCert),
            policy: policy('enforce', MX),
          },
          {
            serverName: `mta-sts.${DOMAINS.multi}`,
            tls: pki.credentials(multiCert),
            policy: policy('enforce', MULTI_MX),
          },
        ]),
        startPostfix({ tls: pki.credentials(mxCert), hostname: MX }),
        // An old appliance: TLS 1.0 and 1.1 only, otherwise a correct policy host.
        startNginx([
          {
            serverName: `mta-sts.${LEGACY_TLS}`,
            tls: pki.credentials(legacyCert),
            policy: policy('enforce', MX),
            protocols: ['TLSv1', 'TLSv1.1'],
          },
        ]),
      ] as const);
      console.log(
        `system-mtasts startup ms: dnsmasq ${dns.startupMs}, nginx ${web.startupMs}, postfix ${mta.startupMs}`,
      );

      // One run for all domains, as a user checking a portfolio would: the CLI probes them concurrently.
      run = await runCli([
        'mta-sts',
        ...Object.values(DOMAINS),
        '--dns-server',
        dns.server,
        '--ca-file',
        caFile,
        '--allow-private',
        '--policy-port',
        String(web.port),
        '--mx-port',
        String(mta.port),
        '--json',
      ]);
      for (const r of run.results) results.set(r.target, r);
      legacyRun = await runCli([
        'mta-sts',
        LEGACY_TLS,
        '--dns-server',
        dns.server,
        '--ca-file',
        caFile,
        '--allow-private',
        '--policy-port',
        String(legacyWeb.port),
        '--mx-port',
        String(mta.port),
        '--json',
      ]);
    });

    afterAll(async () => {
      await stopAll([dns, web, mta, legacyWeb]);
      scratch?.remove();
    });

    const resultFor = (domain: string): CliResult => {
      const result = results.get(domain);
      expect(result, `no result for ${domain} in ${run.stdout}`).toBeDefined();
      return result!;
    };
    const diagnostics = (): string => `${run.stdout}\n--- nginx\n${web.log()}\n--- postfix\n${mta.log()}`;

    it('returns one result per domain and exits 1 because some are critical', () => {
      expect(run.results.map((r) => r.target)).toEqual(Object.values(DOMAINS));
      expect(run.exitCode).toBe(1);
    });

    it('a correct domain is ok: TXT split over two strings, policy, MX over STARTTLS, TLS-RPT', () => {
      const result = resultFor(DOMAINS.good);
      expect(codesOf(result), diagnostics()).toEqual([]);
      expect(result).toMatchObject({
        check: 'mta-sts',
        status: 'ok',
        txt: { id: '20261123T1', valid: true },
        policy: { mode: 'enforce', maxAge: 604800, mx: [MX], id: '20261123T1' },
        policyHost: { host: `mta-sts.${DOMAINS.good}`, status: 200, contentType: 'text/plain', address: LOOPBACK },
        tlsRpt: { valid: true, rua: [`mailto:tlsrpt@${DOMAINS.good}`, `https://reports.${DOMAINS.good}/v1`] },
        acceptsMail: true,
      });
      expect(result['mx']).toMatchObject([{ host: MX, priority: 10, covered: true, pattern: MX, findings: [] }]);
      const mx = (result['mx'] as { tls?: { verified: boolean; protocol: string } }[])[0]!;
      expect(mx.tls).toMatchObject({ verified: true, protocol: 'TLSv1.3' });
      // The policy host's leaf (90 days) is the earliest expiry in its chain.
      expect((result['policyHost'] as { daysToExpiry: number }).daysToExpiry).toBe(89);
    });

    it('a policy served with a certificate for another name is MTASTS_POLICY_CERT_INVALID', () => {
      const result = resultFor(DOMAINS.wrongCert);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_POLICY_CERT_INVALID']);
      expect(result.status).toBe('critical');
      // nginx chose the site by SNI and sent that site's certificate, which names another host.
      expect(result.findings[0]!.message).toContain(`mta-sts.${DOMAINS.wrongCert}`);
      expect(result['policyHost']).toMatchObject({ certificate: { subjectAltNames: [`DNS:mta-sts.${DOMAINS.good}`] } });
    });

    it('an MX that no mx pattern covers is MTASTS_MX_NOT_COVERED (critical in enforce)', () => {
      const result = resultFor(DOMAINS.uncovered);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_MX_NOT_COVERED']);
      expect(result.status).toBe('critical');
      expect(result['mx']).toMatchObject([{ host: MX, covered: false }]);
    });

    it('a domain without a _smtp._tls record is TLSRPT_MISSING, a warning', () => {
      const result = resultFor(DOMAINS.noTlsRpt);
      expect(codesOf(result), diagnostics()).toEqual(['TLSRPT_MISSING']);
      expect(result.status).toBe('warning');
      expect(result['tlsRpt']).toBeUndefined();
    });

    it('an MX whose certificate (from Postfix) does not name it is MTASTS_MX_CERT_INVALID', () => {
      const result = resultFor(DOMAINS.mxName);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_MX_CERT_INVALID']);
      expect(result.status).toBe('critical');
      expect(result['mx']).toMatchObject([{ host: 'mail.mxname.test', covered: true }]);
    });

    it('a policy behind a redirect is MTASTS_POLICY_REDIRECT, and the redirect is not followed', () => {
      const result = resultFor(DOMAINS.redirect);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_POLICY_REDIRECT']);
      expect(result['policyHost']).toMatchObject({ status: 301 });
      expect(result['policy']).toBeUndefined();
      // That the redirect is never followed is counted request by request in mtasts-fetch.test.ts;
      // here www.redirect.test has no address, so a log check could not fail.
    });

    it('a policy served as text/html is MTASTS_POLICY_CONTENT_TYPE', () => {
      const result = resultFor(DOMAINS.html);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_POLICY_CONTENT_TYPE']);
      expect(result['policyHost']).toMatchObject({ status: 200, contentType: 'text/html' });
    });

    it('a domain without a _mta-sts record is MTASTS_TXT_MISSING, and nothing is fetched', () => {
      const result = resultFor(DOMAINS.noTxt);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_TXT_MISSING']);
      expect(result['policyHost']).toBeUndefined();
    });

    it('in testing mode the same coverage problem is only a warning', () => {
      const result = resultFor(DOMAINS.testing);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_MODE_TESTING', 'MTASTS_MX_NOT_COVERED']);
      expect(result.findings.find((f) => f.code === 'MTASTS_MX_NOT_COVERED')?.severity).toBe('warning');
      expect(result.status).toBe('warning');
    });
    it('a hosted domain (MX certificate for the MX host only) is ok with MX_CERT_DOMAIN_MISMATCH (info)', () => {
      const result = resultFor(DOMAINS.hosted);
      expect(codesOf(result), diagnostics()).toEqual(['MX_CERT_DOMAIN_MISMATCH']);
      expect(result.status).toBe('ok');
      expect(result.findings[0]).toMatchObject({ severity: 'info' });
      expect(result.findings[0]!.message).toContain(`valid for ${MX} but not for the mail domain ${DOMAINS.hosted}`);
    });

    it('near-miss records senders discard are invalid, with the exact problem, not missing', () => {
      const result = resultFor(DOMAINS.nearMiss);
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_TXT_INVALID', 'TLSRPT_INVALID']);
      const message = (code: string): string => result.findings.find((f) => f.code === code)?.message ?? '';
      expect(message('MTASTS_TXT_INVALID')).toContain('remove the whitespace between v=STSv1 and ";"');
      expect(message('TLSRPT_INVALID')).toContain('leading whitespace before v=TLSRPTv1');
      expect(result.status).toBe('critical');
    });

    it('every address of the policy host and of the MX is tried: a dead first address is a warning', () => {
      const result = resultFor(DOMAINS.multi);
      // Both the policy host and the MX have a refused address beside the working one.
      expect(codesOf(result), diagnostics()).toEqual(['MTASTS_MX_UNREACHABLE', 'MTASTS_POLICY_UNREACHABLE']);
      expect(result.findings.map((f) => f.severity)).toEqual(['warning', 'warning']);
      expect(result.status).toBe('warning');
      const attempts = (result['policyHost'] as { attempts: { address: string; outcome: string }[] }).attempts;
      expect(Object.fromEntries(attempts.map((a) => [a.address, a.outcome]))).toEqual({
        [DEAD]: 'failed',
        [LOOPBACK]: 'used',
      });
      const probes = (result['mx'] as { probes: { address: string; outcome: string }[] }[])[0]!.probes;
      expect(Object.fromEntries(probes.map((p) => [p.address, p.outcome]))).toEqual({
        [DEAD]: 'failed',
        [LOOPBACK]: 'passed',
      });
      expect(result['policy']).toMatchObject({ mode: 'enforce', authenticated: true });
    });

    it('a policy host that speaks only TLS 1.0/1.1 (nginx ssl_protocols) is MTASTS_POLICY_TLS_LEGACY', () => {
      const [result] = legacyRun.results;
      expect(result, legacyRun.stdout).toBeDefined();
      expect(codesOf(result!), `${legacyRun.stdout}\n--- nginx\n${legacyWeb.log()}`).toEqual([
        'MTASTS_POLICY_TLS_LEGACY',
      ]);
      expect(result!.status).toBe('critical');
      expect(result!['policyHost']).toMatchObject({ tls: { protocol: 'TLSv1.1', verified: true } });
      // Read, but never used: senders cannot fetch it.
      expect(result!['policy']).toMatchObject({ mode: 'enforce', authenticated: false });
      expect(legacyRun.exitCode).toBe(1);
    });
  },
);
