import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsCheckSpec } from '../../../lambdas/engine/checks.js';
import { createContext } from '../../../lambdas/engine/context.js';
import type { ProbeContext } from '../../../lambdas/engine/context.js';
import { implicitTlsConnector } from '../../../lambdas/engine/tls/connect.js';
import type { TlsResult } from '../../../lambdas/engine/tls/posture.js';
import { dhFinding, runTlsCheck } from '../../../lambdas/engine/tls/posture.js';
import type { Issued, TestPki } from '../../../testkit/pki.js';
import { createTestPki, dhParamsPem } from '../../../testkit/pki.js';
import type { RunningServer, TlsServerOptions } from '../../../testkit/tls-servers.js';
import { startSilentServer, startTlsServer, unusedPort } from '../../../testkit/tls-servers.js';

let pki: TestPki;
let rsaLeaf: Issued;
let ctx: ProbeContext;
const servers: RunningServer[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  // DHE suites authenticate with RSA (there is no DHE-ECDSA in TLS 1.2).
  rsaLeaf = await pki.issueLeaf({ key: { type: 'rsa', bits: 2048 } });
  ctx = createContext({ extraCa: [pki.caPem] });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const DHE_SUITES = 'kDHE:!aNULL:@SECLEVEL=0';

function spec(port: number, timeoutMs?: number): TlsCheckSpec {
  return { check: 'tls', host: 'localhost', port, tls: 'implicit', ...(timeoutMs ? { timeoutMs } : {}) };
}

async function probe(port: number, timeoutMs?: number, context: ProbeContext = ctx): Promise<TlsResult> {
  return runTlsCheck(spec(port, timeoutMs), context, implicitTlsConnector('localhost', port, '127.0.0.1'));
}

async function serve(options: TlsServerOptions): Promise<number> {
  const server = await startTlsServer(options);
  servers.push(server);
  return server.port;
}

const codes = (r: TlsResult): string[] => r.findings.map((f) => f.code);

describe('runTlsCheck against real TLS servers', () => {
  it('a modern server with a valid chain: ok, no DHE, TLS 1.2 and 1.3', async () => {
    const r = await probe(await serve(pki.credentials()));
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({
      check: 'tls',
      target: expect.stringMatching(/^localhost:\d+$/),
      status: 'ok',
      tlsMode: 'implicit',
      verified: true,
      negotiated: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', group: 'X25519' },
      dh: { bits: 0 },
      protocols: { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true },
    });
    expect(r.certificate?.subject).toBe('CN=localhost');
    expect(r.chain).toHaveLength(3);
    expect(r.earliestExpiry?.subject).toBe('CN=localhost');
  });

  it('DH 1024 DHE-only server: dh.bits 1024, DH_WEAK warning', async () => {
    const port = await serve({
      ...pki.credentials(rsaLeaf),
      dhparam: dhParamsPem(1024),
      ciphers: DHE_SUITES,
      maxVersion: 'TLSv1.2',
    });
    const r = await probe(
      port,
      undefined,
      createContext({ extraCa: [pki.caPem], thresholds: { ...ctx.thresholds, minDhBits: 2048 } }),
    );
    expect(r.dh).toEqual({ bits: 1024 });
    expect(r.findings).toMatchObject([
      { code: 'DH_WEAK', severity: 'warning', message: 'DHE key is 1024 bits (minimum 2048)' },
    ]);
    expect(r.status).toBe('warning');
    expect(r.negotiated).toMatchObject({ protocol: 'TLSv1.2', group: 'DH-1024' });
    expect(r.protocols).toEqual({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': false });
  });

  it('DH 2048 DHE-only server: dh.bits 2048, no finding', async () => {
    const port = await serve({
      ...pki.credentials(rsaLeaf),
      dhparam: dhParamsPem(2048),
      ciphers: DHE_SUITES,
      maxVersion: 'TLSv1.2',
    });
    const r = await probe(port);
    expect(r.dh).toEqual({ bits: 2048 });
    expect(r.findings).toEqual([]);
  });

  it('a server offering DHE next to ECDHE and TLS 1.3 still reveals its DH size', async () => {
    const port = await serve({ ...pki.credentials(rsaLeaf), dhparam: dhParamsPem(1024) });
    const r = await probe(port);
    expect(r.negotiated).toMatchObject({ protocol: 'TLSv1.3', group: 'X25519' });
    expect(r.dh).toEqual({ bits: 1024 });
    expect(codes(r)).toEqual(['DH_WEAK']);
  });

  it('ECDHE-only server (DH parameters loaded but no DHE suite): dh.bits 0, no DH finding', async () => {
    const port = await serve({
      ...pki.credentials(rsaLeaf),
      dhparam: dhParamsPem(1024),
      ciphers: 'ECDHE+AESGCM:@SECLEVEL=0',
    });
    const r = await probe(port);
    expect(r.dh).toEqual({ bits: 0 });
    expect(r.findings).toEqual([]);
    expect(r.status).toBe('ok');
  });

  it('TLS 1.0-only server: legacy and no modern protocol', async () => {
    const port = await serve({ ...pki.credentials(), minVersion: 'TLSv1', maxVersion: 'TLSv1' });
    const r = await probe(port);
    expect(r.protocols).toEqual({ TLSv1: true, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': false });
    // Worst first.
    expect(codes(r)).toEqual(['TLS_NO_MODERN_PROTOCOL', 'TLS_LEGACY_PROTOCOL']);
    expect(r.findings[1]?.message).toBe('the server accepts TLSv1');
    expect(r.negotiated?.protocol).toBe('TLSv1');
    expect(r.status).toBe('critical');
  });

  it('TLS 1.0 to 1.2 server: legacy protocols only', async () => {
    const port = await serve({ ...pki.credentials(), minVersion: 'TLSv1', maxVersion: 'TLSv1.2' });
    const r = await probe(port);
    expect(r.protocols).toEqual({ TLSv1: true, 'TLSv1.1': true, 'TLSv1.2': true, 'TLSv1.3': false });
    expect(r.findings).toMatchObject([
      { code: 'TLS_LEGACY_PROTOCOL', severity: 'warning', message: 'the server accepts TLSv1 and TLSv1.1' },
    ]);
  });

  it('certificate findings come through with the result', async () => {
    const port = await serve(pki.credentials(await pki.expiringInDays(5)));
    const r = await probe(port);
    expect(r.findings).toMatchObject([{ code: 'CERT_EXPIRING', severity: 'critical' }]);
    expect(r.earliestExpiry?.daysToExpiry).toBe(5);
    expect(r.verified).toBe(true);
  });

  it('accepts TCP and never answers: a timeout code within the deadline', async () => {
    const server = await startSilentServer();
    servers.push(server);
    const started = Date.now();
    const r = await probe(server.port, 500);
    expect(codes(r)).toEqual(['DEADLINE_EXCEEDED']);
    expect(r.status).toBe('critical');
    // Not measured: an unknown DH size must not read as "no DHE" (DhKeyBits 0 would hide a weak group).
    expect(r.dh).toBeUndefined();
    expect(r.protocols).toEqual({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': false });
    expect(r.negotiated).toBeUndefined();
    // Proves the deadline holds (a generous bound, not a timing assertion).
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('nothing listening: CONNECT_REFUSED only', async () => {
    const r = await probe(await unusedPort());
    expect(codes(r)).toEqual(['CONNECT_REFUSED']);
    expect(r.verified).toBe(false);
    expect(r.chain).toEqual([]);
  });
});

describe('dhFinding', () => {
  it.each([
    [0, 2048, undefined],
    [2048, 2048, undefined],
    [4096, 2048, undefined],
    [1024, 2048, 'warning'],
    [1024, 1024, undefined],
    [768, 2048, 'critical'],
    [512, 1024, 'critical'],
  ])('%i bits with minimum %i → %s', (bits, min, severity) => {
    expect(dhFinding(bits, min)?.severity).toBe(severity);
  });
});
