/**
 * The tls check where the network or the server gets in the way (issue 10 items 1, 3, 13,
 * 15, 17): firewalls that reset or swallow some handshakes (a ClientHello-reading proxy),
 * servers that allow one session per client, STARTTLS response injection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsCheckSpec } from '../../../lambdas/engine/checks.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { starttlsConnector } from '../../../lambdas/engine/smtp/connector.js';
import { implicitTlsConnector } from '../../../lambdas/engine/tls/connect.js';
import { runTlsCheck, type TlsResult } from '../../../lambdas/engine/tls/posture.js';
import { acceptsTls10, offersOnlyDhe, startHelloProxy, type RunningProxy } from '../../../testkit/hello-proxy.js';
import { startConnectionLimitedSmtp, type RunningHostile } from '../../../testkit/hostile-smtp.js';
import { opensslChain } from '../../../testkit/openssl-pki.js';
import { createTestPki, dhParamsPem, type TestPki } from '../../../testkit/pki.js';
import { startScriptedSmtp } from '../../../testkit/smtp-servers.js';
import { startTlsServer, type RunningServer } from '../../../testkit/tls-servers.js';

let pki: TestPki;
let ctx: ProbeContext;
const closers: (RunningServer | RunningProxy | RunningHostile)[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem], timeoutMs: 3_000 });
});
afterAll(async () => {
  await Promise.all(closers.map((s) => s.close()));
});

const codes = (r: TlsResult): string[] => r.findings.map((f) => f.code);

function implicitSpec(port: number, timeoutMs?: number): TlsCheckSpec {
  return { check: 'tls', host: 'localhost', port, tls: 'implicit', ...(timeoutMs ? { timeoutMs } : {}) };
}

async function implicitProbe(port: number, timeoutMs?: number, context = ctx): Promise<TlsResult> {
  return runTlsCheck(implicitSpec(port, timeoutMs), context, implicitTlsConnector('localhost', port, '127.0.0.1'));
}

async function starttlsProbe(port: number, context = ctx): Promise<TlsResult> {
  return runTlsCheck(
    { check: 'tls', host: 'localhost', port, tls: 'starttls' },
    context,
    starttlsConnector({ host: 'localhost', port, address: '127.0.0.1' }, context),
  );
}

describe('only a TLS alert from the server is a refusal (item 3)', () => {
  it('a firewall resetting the DHE-only handshake leaves dh unknown, never 0 ("no DHE")', async () => {
    const rsaLeaf = await pki.issueLeaf({ key: { type: 'rsa', bits: 2048 } });
    const upstream = await startTlsServer({ ...pki.credentials(rsaLeaf), dhparam: dhParamsPem(2048) });
    const proxy = await startHelloProxy(upstream.port, (hello) => (offersOnlyDhe(hello) ? 'reset' : 'pass'));
    closers.push(upstream, proxy);
    const r = await implicitProbe(proxy.port);
    expect(proxy.verdicts).toContain('reset');
    expect(r.dh).toBeUndefined();
    expect(codes(r)).toEqual(['TLS_POSTURE_INCOMPLETE']);
    expect(r.findings[0]?.severity).toBe('warning');
    expect(r.findings[0]?.message).toMatch(/DHE-only handshake got no answer \(CONNECT_RESET/);
    // The version handshakes still answered.
    expect(r.protocols).toEqual({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
  });

  it('a server without DHE suites answers with an alert: dh 0, complete posture', async () => {
    const upstream = await startTlsServer(pki.credentials());
    closers.push(upstream);
    const r = await implicitProbe(upstream.port);
    expect(r.dh).toEqual({ bits: 0 });
    expect(codes(r)).toEqual([]);
  });
});

describe('a TLS 1.0 default handshake proves there is no TLS 1.2 or 1.3 (item 1)', () => {
  it('1.2-only and 1.3-only handshakes swallowed by a middlebox: TLS_NO_MODERN_PROTOCOL, not DEADLINE_EXCEEDED', async () => {
    const upstream = await startTlsServer({ ...pki.credentials(), minVersion: 'TLSv1', maxVersion: 'TLSv1' });
    const proxy = await startHelloProxy(upstream.port, (hello) => (acceptsTls10(hello) ? 'pass' : 'stall'));
    closers.push(upstream, proxy);
    const r = await implicitProbe(proxy.port, 1_500);
    expect(r.negotiated?.protocol).toBe('TLSv1');
    expect(r.protocols['TLSv1.2']).toBe(false);
    expect(r.protocols['TLSv1.3']).toBe(false);
    expect(codes(r)).toContain('TLS_NO_MODERN_PROTOCOL');
    expect(codes(r)).not.toContain('DEADLINE_EXCEEDED');
    expect(r.findings[0]?.code).toBe('TLS_NO_MODERN_PROTOCOL');
    // The gaps that remain (DHE-only, TLSv1.1-only) are named, as a warning.
    const gap = r.findings.find((f) => f.code === 'TLS_POSTURE_INCOMPLETE');
    expect(gap?.message).toContain('DHE-only');
    expect(gap?.message).not.toContain('TLSv1.2-only');
  });
});

describe('a server that allows one session per client (item 17)', () => {
  it('retries the 421-greeted handshakes one at a time: no GREETING_REJECTED, full posture', async () => {
    const server = await startConnectionLimitedSmtp(pki.credentials(), 1);
    closers.push(server);
    const r = await starttlsProbe(server.port, createContext({ extraCa: [pki.caPem], timeoutMs: 10_000 }));
    expect(codes(r)).not.toContain('GREETING_REJECTED');
    expect(codes(r)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.dh).toEqual({ bits: 0 });
    expect(r.protocols).toEqual({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
    // Six parallel sessions, then the refused ones again.
    expect(server.sessions.count).toBeGreaterThan(6);
  });
});

describe('STARTTLS response injection in the tls check (item 15)', () => {
  it('reports STARTTLS_EXTRA_DATA as the smtp check does on the same port', async () => {
    const server = await startScriptedSmtp({
      greeting: '220 ok\r\n',
      credentials: pki.credentials(),
      onCommand: (line) => (line === 'STARTTLS' ? { startTls: '220 go ahead', inject: '250 injected\r\n' } : undefined),
    });
    closers.push(server);
    const r = await starttlsProbe(server.port);
    expect(codes(r)).toEqual(['STARTTLS_EXTRA_DATA']);
    expect(r.findings[0]?.message).toContain('14 bytes');
  });
});

describe('an empty certificate subject (item 13)', () => {
  it('is inspected without PROBE_INTERNAL_ERROR', async () => {
    const chain = opensslChain({ leafSubject: '/' });
    const server = await startTlsServer({
      key: chain.leaf.keyPem,
      cert: chain.leaf.certPem + chain.intermediate.certPem,
    });
    closers.push(server);
    const r = await implicitProbe(server.port, undefined, createContext({ extraCa: [chain.root.certPem] }));
    expect(codes(r)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.certificate?.subject).toBe('');
  });
});
