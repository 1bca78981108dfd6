/**
 * The tls check over SMTP STARTTLS: the posture engine with the SMTP session's connector
 * against a real SMTP server (nodemailer's smtp-server) on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../../lambdas/engine/context.js';
import type { ProbeContext } from '../../../lambdas/engine/context.js';
import { starttlsConnector } from '../../../lambdas/engine/smtp/connector.js';
import { runTlsCheck } from '../../../lambdas/engine/tls/posture.js';
import type { TestPki } from '../../../testkit/pki.js';
import { createTestPki, dhParamsPem } from '../../../testkit/pki.js';
import type { RunningSmtp, SmtpServerOptions } from '../../../testkit/smtp-servers.js';
import { startSmtpServer } from '../../../testkit/smtp-servers.js';

let pki: TestPki;
let ctx: ProbeContext;
const servers: RunningSmtp[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem] });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function check(options: SmtpServerOptions) {
  const server = await startSmtpServer(options);
  servers.push(server);
  const target = { host: 'localhost', port: server.port, address: '127.0.0.1' };
  return runTlsCheck(
    { check: 'tls', host: 'localhost', port: server.port, tls: 'starttls' },
    ctx,
    starttlsConnector(target, ctx),
  );
}

describe('runTlsCheck over STARTTLS', () => {
  it('measures the DH group and the versions behind STARTTLS', async () => {
    const rsaLeaf = await pki.issueLeaf({ key: { type: 'rsa', bits: 2048 } });
    const r = await check({ credentials: pki.credentials(rsaLeaf), tls: { dhparam: dhParamsPem(1024) } });
    expect(r.tlsMode).toBe('starttls');
    expect(r.verified).toBe(true);
    expect(r.dh).toEqual({ bits: 1024 });
    expect(r.protocols['TLSv1.3']).toBe(true);
    expect(r.protocols['TLSv1']).toBe(false);
    expect(r.findings.map((f) => f.code)).toEqual(['DH_WEAK']);
  });

  it('a server without STARTTLS: the connector’s code is the finding', async () => {
    const r = await check({ credentials: pki.credentials(), hideStartTls: true });
    expect(r.findings.map((f) => f.code)).toEqual(['STARTTLS_NOT_OFFERED']);
    expect(r.status).toBe('critical');
    expect(r.negotiated).toBeUndefined();
  });
});
