/**
 * Results stay small whatever a hostile server sends (issue 21): the bound itself on built
 * shapes, then end to end against loopback servers that present a certificate with
 * thousands of names and an 80-certificate chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finding } from '../../lambdas/engine/findings.js';
import { createContext, type ProbeContext } from '../../lambdas/engine/context.js';
import { boundResult, RESULT_LIMITS } from '../../lambdas/engine/result-bounds.js';
import { runChecks } from '../../lambdas/engine/run/all.js';
import type { SmtpResult } from '../../lambdas/engine/smtp/check.js';
import type { TlsResult } from '../../lambdas/engine/tls/posture.js';
import { createCa, issueCertificate, LOCALHOST_NAMES, type Issued } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

const base = {
  check: 'smtp',
  target: 'relay.example.net:587',
  name: 'relay',
  status: 'critical',
  startedAt: '2026-12-05T00:00:00.000Z',
  durationMs: 12,
} as const;

describe('boundResult', () => {
  it('returns an ordinary result as it is (the same object)', () => {
    const result = { ...base, findings: [finding('CERT_EXPIRED', 'expired')], tls: { chain: [{ subject: 'CN=a' }] } };
    expect(boundResult(result)).toBe(result);
  });

  it('caps a huge list, counts what it left out, and keeps the first entries', () => {
    const names = Array.from({ length: 5_000 }, (_, i) => `DNS:host-${i}.very-long-subdomain-name.example.net`);
    const result = { ...base, findings: [], tls: { certificate: { subjectAltNames: names } } };
    const bounded = boundResult(result);
    expect(bytes(bounded)).toBeLessThanOrEqual(RESULT_LIMITS.maxBytes);
    const cert = bounded.tls.certificate as { subjectAltNames: string[]; subjectAltNamesOmitted?: number };
    expect(cert.subjectAltNames[0]).toBe(names[0]);
    expect(cert.subjectAltNames.length + (cert.subjectAltNamesOmitted ?? 0)).toBe(5_000);
    expect(cert.subjectAltNamesOmitted).toBeGreaterThan(4_000);
  });

  it('keeps the worst findings first and counts the rest', () => {
    const findings = [
      finding('CERT_EXPIRED', 'expired'),
      ...Array.from({ length: 3_000 }, (_, i) =>
        finding('CERT_CHAIN_EXTRA', `extra certificate ${i} ${'x'.repeat(40)}`),
      ),
    ];
    const bounded = boundResult({ ...base, findings });
    expect(bytes(bounded)).toBeLessThanOrEqual(RESULT_LIMITS.maxBytes);
    expect(bounded.findings[0]?.code).toBe('CERT_EXPIRED');
    expect((bounded as unknown as { findingsOmitted: number }).findingsOmitted).toBe(
      findings.length - bounded.findings.length,
    );
  });

  it('shortens a huge string and says by how much', () => {
    const bounded = boundResult({ ...base, findings: [], greeting: 'A'.repeat(200_000) });
    expect(bytes(bounded)).toBeLessThanOrEqual(RESULT_LIMITS.maxBytes);
    expect(bounded.greeting).toMatch(/… \(\d+ more characters\)$/);
  });

  it('never shortens the fields every result shares', () => {
    const longName = 'n'.repeat(10_000);
    const bounded = boundResult({ ...base, name: longName, findings: [], details: 'd'.repeat(100_000) });
    expect(bounded.name).toBe(longName);
    expect(bounded.target).toBe(base.target);
    expect(bounded.status).toBe('critical');
  });

  it('falls back to the shared fields when the shape itself is hostile (100,000 keys), within bounded time', () => {
    const wide: Record<string, string> = {};
    for (let i = 0; i < 100_000; i += 1) wide[`k${i}`] = 'v';
    const started = process.hrtime.bigint();
    const bounded = boundResult({ ...base, findings: [finding('PROTOCOL_VIOLATION', 'wide')], wide });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(bytes(bounded)).toBeLessThanOrEqual(RESULT_LIMITS.maxBytes);
    expect((bounded as unknown as { detailsOmitted: boolean }).detailsOmitted).toBe(true);
    expect(bounded.findings[0]?.code).toBe('PROTOCOL_VIOLATION');
    // A bound on work, not a timing assertion: generous enough for a loaded CI machine.
    expect(elapsedMs).toBeLessThan(30_000);
  });
});

describe('results from hostile servers stay under the bound', () => {
  let root: Issued;
  let manySans: Issued;
  let longChain: { leaf: Issued; intermediates: Issued[] };
  let ctx: ProbeContext;
  const servers: RunningSmtp[] = [];

  beforeAll(async () => {
    root = await createCa({ commonName: 'bounds test root' });
    const dnsNames = ['localhost', ...Array.from({ length: 3_000 }, (_, i) => `alt-${i}.manysan.example.net`)];
    manySans = await issueCertificate(root, { dnsNames, ipAddresses: ['127.0.0.1'] });
    // root → 80 intermediates → leaf (about 45 KB of chain details unbounded): the server sends all of them.
    const intermediates: Issued[] = [];
    let issuer = root;
    for (let i = 0; i < 80; i += 1) {
      issuer = await issueCertificate(issuer, { commonName: `intermediate ${i}`, isCa: true });
      intermediates.push(issuer);
    }
    longChain = { leaf: await issueCertificate(issuer, LOCALHOST_NAMES), intermediates };
    ctx = createContext({ extraCa: [root.certPem], timeoutMs: 5_000 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('a certificate with 3,001 names: the smtp and tls results stay under 32 KiB and count the names left out', async () => {
    const server = await startSmtpServer({ credentials: { key: manySans.keyPem, cert: manySans.certPem } });
    servers.push(server);
    const [smtp, tls] = (await runChecks(
      [
        { check: 'smtp', host: '127.0.0.1', port: server.port, tls: 'starttls' },
        { check: 'tls', host: '127.0.0.1', port: server.port, tls: 'starttls' },
      ],
      ctx,
    )) as [SmtpResult, TlsResult];
    const certificates = [smtp.tls?.certificate, tls.certificate] as unknown as {
      subjectAltNames: string[];
      subjectAltNamesOmitted: number;
    }[];
    for (const [result, cert] of [
      [smtp, certificates[0]],
      [tls, certificates[1]],
    ] as const) {
      expect(bytes(result)).toBeLessThanOrEqual(RESULT_LIMITS.maxBytes);
      expect(cert?.subjectAltNamesOmitted).toBeGreaterThan(0);
      // 3,001 DNS names and one IP address.
      expect((cert?.subjectAltNames.length ?? 0) + (cert?.subjectAltNamesOmitted ?? 0)).toBe(3_002);
    }
    // The verdict is the server's, not the bound's: the certificate is valid for 127.0.0.1.
    expect(smtp.tls?.verified).toBe(true);
  });

  it('an 80-certificate chain: the result stays under 32 KiB and keeps the leaf first', async () => {
    const cert = [longChain.leaf, ...longChain.intermediates.slice().reverse()].map((c) => c.certPem).join('');
    const server = await startSmtpServer({ credentials: { key: longChain.leaf.keyPem, cert } });
    servers.push(server);
    const [smtp] = (await runChecks(
      [{ check: 'smtp', host: '127.0.0.1', port: server.port, tls: 'starttls' }],
      ctx,
    )) as [SmtpResult];
    expect(bytes(smtp)).toBeLessThanOrEqual(RESULT_LIMITS.maxBytes);
    expect((smtp.tls as unknown as { chainOmitted: number }).chainOmitted).toBeGreaterThan(0);
    expect(smtp.tls?.chain[0]?.fingerprintSha256).toBe(smtp.tls?.certificate?.fingerprintSha256);
  });
});
