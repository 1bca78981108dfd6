/**
 * Chain hygiene (issue 10 item 22): what is wrong with the certificate list a server sends,
 * read from the clear-text TLS 1.2 Certificate message, even when the chain verifies.
 * Real TLS servers on loopback, certificates generated at test time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { starttlsConnector } from '../../../lambdas/engine/smtp/connector.js';
import { implicitTlsConnector } from '../../../lambdas/engine/tls/connect.js';
import { runTlsCheck, type TlsResult } from '../../../lambdas/engine/tls/posture.js';
import { createTestPki, issueCertificate, LOCALHOST_NAMES, type Issued, type TestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';
import { startTlsServer, type RunningServer } from '../../../testkit/tls-servers.js';

let pki: TestPki;
let other: TestPki;
let ctx: ProbeContext;
const closers: (RunningServer | RunningSmtp)[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  other = await createTestPki({ rootName: 'previous CA' });
  ctx = createContext({ extraCa: [pki.caPem], timeoutMs: 3_000 });
});
afterAll(async () => {
  await Promise.all(closers.map((s) => s.close()));
});

const codes = (r: TlsResult): string[] => r.findings.map((f) => f.code);

async function probe(leaf: Issued, certs: string): Promise<TlsResult> {
  const server = await startTlsServer({ key: leaf.keyPem, cert: certs });
  closers.push(server);
  return runTlsCheck(
    { check: 'tls', host: 'localhost', port: server.port, tls: 'implicit' },
    ctx,
    implicitTlsConnector('localhost', server.port, '127.0.0.1'),
  );
}

describe('chain hygiene from the list as sent', () => {
  it('a clean chain has no hygiene finding', async () => {
    const r = await probe(pki.leaf, pki.leaf.certPem + pki.intermediate.certPem);
    expect(codes(r)).toEqual([]);
  });

  it('an intermediate sent twice: CERT_CHAIN_DUPLICATE (warning), still verified', async () => {
    const r = await probe(pki.leaf, pki.leaf.certPem + pki.intermediate.certPem + pki.intermediate.certPem);
    expect(r.verified).toBe(true);
    expect(codes(r)).toEqual(['CERT_CHAIN_DUPLICATE']);
    expect(r.findings[0]).toMatchObject({ severity: 'warning' });
    expect(r.findings[0]?.message).toContain('"CN=mailprobe test intermediate" 2 times');
  });

  it('two intermediates in the wrong order: CERT_CHAIN_ORDER, still verified', async () => {
    const second = await issueCertificate(pki.intermediate, { commonName: 'second intermediate', isCa: true });
    const leaf = await issueCertificate(second, { ...LOCALHOST_NAMES });
    const r = await probe(leaf, leaf.certPem + pki.intermediate.certPem + second.certPem);
    expect(r.verified).toBe(true);
    expect(codes(r)).toEqual(['CERT_CHAIN_ORDER']);
    expect(r.findings[0]?.message).toContain(
      'clients expect "CN=localhost" → "CN=second intermediate" → "CN=mailprobe test intermediate"',
    );
  });

  it('the root sent along: CERT_CHAIN_EXTRA (info), status ok', async () => {
    const r = await probe(pki.leaf, pki.credentials(pki.leaf, { withRoot: true }).cert);
    expect(codes(r)).toEqual(['CERT_CHAIN_EXTRA']);
    expect(r.findings[0]).toMatchObject({ severity: 'info' });
    expect(r.findings[0]?.message).toContain('the root "CN=mailprobe test root"');
    expect(r.status).toBe('ok');
  });

  it('a leftover certificate on no path: CERT_CHAIN_EXTRA', async () => {
    const r = await probe(pki.leaf, pki.leaf.certPem + pki.intermediate.certPem + other.intermediate.certPem);
    expect(codes(r)).toEqual(['CERT_CHAIN_EXTRA']);
    expect(r.findings[0]?.message).toContain('on no path from the leaf: "CN=previous CA intermediate"');
  });

  it('a stale intermediate: CERT_CHAIN_INCOMPLETE names the issuer the leaf expects', async () => {
    const r = await probe(pki.leaf, pki.leaf.certPem + other.intermediate.certPem);
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['CERT_CHAIN_INCOMPLETE']);
    expect(r.findings[0]?.message).toContain(
      'the server sends intermediate "CN=previous CA intermediate", which did not issue certificate "CN=localhost"; its issuer is "CN=mailprobe test intermediate"',
    );
  });

  it('behind STARTTLS too', async () => {
    const server = await startSmtpServer({
      credentials: {
        key: pki.leaf.keyPem,
        cert: pki.leaf.certPem + pki.intermediate.certPem + pki.intermediate.certPem,
      },
    });
    closers.push(server);
    const r = await runTlsCheck(
      { check: 'tls', host: 'localhost', port: server.port, tls: 'starttls' },
      ctx,
      starttlsConnector({ host: 'localhost', port: server.port, address: '127.0.0.1' }, ctx),
    );
    expect(codes(r)).toEqual(['CERT_CHAIN_DUPLICATE']);
  });
});
