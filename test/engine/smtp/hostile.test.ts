/**
 * The smtp check against the hostile and awkward servers of issue 10 (testkit/
 * hostile-smtp.ts, openssl-pki.ts): each case names the finding a user must see, where
 * the engine used to say something else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import type { FindingCode } from '../../../lambdas/engine/findings.js';
import { MASK } from '../../../lambdas/engine/mask.js';
import type { Resolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { runSmtpCheck, type SmtpResult } from '../../../lambdas/engine/smtp/check.js';
import {
  startAlertAfterHandshake,
  startStarttlsMisbehaving,
  type AfterStarttls,
  type RunningHostile,
} from '../../../testkit/hostile-smtp.js';
import { opensslChain } from '../../../testkit/openssl-pki.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startScriptedSmtp, startSmtpServer } from '../../../testkit/smtp-servers.js';

const TIMEOUT_MS = 3_000;
let pki: TestPki;
let ctx: ProbeContext;

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem], timeoutMs: TIMEOUT_MS });
});

const codes = (r: SmtpResult): FindingCode[] => r.findings.map((f) => f.code);
const spec = (port: number, extra: Partial<SmtpCheckSpec> = {}): SmtpCheckSpec => ({
  check: 'smtp',
  host: '127.0.0.1',
  port,
  tls: 'starttls',
  ...extra,
});

describe('plaintext after the 220 to STARTTLS (items 11, 16)', () => {
  const servers: RunningHostile[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const run = async (behaviour: AfterStarttls) => {
    const server = await startStarttlsMisbehaving(behaviour, pki.credentials());
    servers.push(server);
    return runSmtpCheck(spec(server.port), ctx);
  };

  it('a reply injected in a later TCP segment is STARTTLS_EXTRA_DATA, not TLS_WRONG_MODE', async () => {
    const result = await run('inject-later');
    expect(codes(result)).toEqual(['STARTTLS_EXTRA_DATA']);
    expect(result.stage).toBe('tls');
    expect(result.findings[0]?.message).toContain('250 injected after the 220');
  });

  it('a second plaintext greeting is TLS_HANDSHAKE_FAILED: the mode is right, the server did not start TLS', async () => {
    const result = await run('greet-again');
    expect(codes(result)).toEqual(['TLS_HANDSHAKE_FAILED']);
    expect(result.findings[0]?.message).toMatch(/plaintext after its 220 to STARTTLS/);
  });

  it('a ClientHello answered as an SMTP command is TLS_HANDSHAKE_FAILED', async () => {
    const result = await run('answer-clienthello');
    expect(codes(result)).toEqual(['TLS_HANDSHAKE_FAILED']);
    expect(result.findings[0]?.message).toContain('500 5.5.2');
  });

  it('a plaintext greeting on an implicit-TLS connection is still TLS_WRONG_MODE (first byte)', async () => {
    const server = await startSmtpServer({ credentials: pki.credentials() });
    try {
      const result = await runSmtpCheck(spec(server.port, { tls: 'implicit' }), ctx);
      expect(codes(result)).toEqual(['TLS_WRONG_MODE']);
    } finally {
      await server.close();
    }
  });
});

describe('smaller protocol points (item 11)', () => {
  it.each([
    ['127.0.0.1', 'EHLO [127.0.0.1]'],
    ['::1', 'EHLO [IPv6:::1]'],
    ['probe.example.com', 'EHLO probe.example.com'],
  ])('EHLO %s is sent as "%s" (RFC 5321 §4.1.3 address literal)', async (ehloName, line) => {
    const server = await startScriptedSmtp({ greeting: '220 ok\r\n', credentials: pki.credentials() });
    try {
      await runSmtpCheck(spec(server.port, { ehloName, tls: 'none' }), ctx);
      expect(server.received[0]).toBe(line);
    } finally {
      await server.close();
    }
  });

  it('a TLS alert after a completed handshake is TLS_SESSION_ERROR, not TLS_HANDSHAKE_FAILED', async () => {
    const server = await startAlertAfterHandshake(pki.credentials());
    try {
      const result = await runSmtpCheck(spec(server.port, { tls: 'implicit' }), ctx);
      expect(codes(result)).toEqual(['TLS_SESSION_ERROR']);
      expect(result.stage).toBe('greeting');
      // The handshake itself completed and was inspected.
      expect(result.tls?.verified).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('an intermediate with a 224-bit EC key is CERT_WEAK_KEY', async () => {
    const chain = opensslChain({ intermediateCurve: 'secp224r1' });
    const server = await startSmtpServer({
      credentials: { key: chain.leaf.keyPem, cert: chain.leaf.certPem + chain.intermediate.certPem },
    });
    try {
      const result = await runSmtpCheck(spec(server.port), createContext({ extraCa: [chain.root.certPem] }));
      expect(codes(result)).toEqual(['CERT_WEAK_KEY']);
      expect(result.findings[0]?.message).toContain('224-bit EC key');
    } finally {
      await server.close();
    }
  });
});

describe('an empty certificate subject with a critical SAN (item 13)', () => {
  it('verifies and describes the certificate: no crash, no finding blaming the server', async () => {
    const chain = opensslChain({ leafSubject: '/' });
    const server = await startSmtpServer({
      credentials: { key: chain.leaf.keyPem, cert: chain.leaf.certPem + chain.intermediate.certPem },
    });
    try {
      const result = await runSmtpCheck(spec(server.port), createContext({ extraCa: [chain.root.certPem] }));
      expect(codes(result)).toEqual([]);
      expect(result.tls?.verified).toBe(true);
      expect(result.tls?.certificate?.subject).toBe('');
      expect(result.tls?.certificate?.subjectAltNames).toEqual(['DNS:localhost', 'IP:127.0.0.1']);
    } finally {
      await server.close();
    }
  });

  it('an untrusted one is named by its SANs in the message', async () => {
    const chain = opensslChain({ leafSubject: '/' });
    const server = await startSmtpServer({
      credentials: { key: chain.leaf.keyPem, cert: chain.leaf.certPem + chain.intermediate.certPem },
    });
    try {
      const result = await runSmtpCheck(spec(server.port), ctx);
      expect(codes(result)).toEqual(['CERT_UNTRUSTED']);
      expect(result.findings[0]?.message).toContain('(empty subject) DNS:localhost');
    } finally {
      await server.close();
    }
  });
});

describe('the probe’s own failures (item 5)', () => {
  it('a non-ProbeError inside the check is PROBE_INTERNAL_ERROR, not PROTOCOL_VIOLATION', async () => {
    const broken: Resolver = {
      addresses: () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')")),
      mx: () => Promise.resolve([]),
      txt: () => Promise.resolve([]),
    };
    const result = await runSmtpCheck(
      spec(25, { host: 'relay.example.test' }),
      createContext({ resolver: broken, timeoutMs: TIMEOUT_MS }),
    );
    expect(codes(result)).toEqual(['PROBE_INTERNAL_ERROR']);
    expect(result.findings[0]?.message).toContain('TypeError');
  });
});

describe('credentials in a shortened server quote (item 12)', () => {
  it('a 535 echoing AUTH PLAIN after 250 characters leaves no 8-character piece of any secret form', async () => {
    const user = { username: 'probe-user', password: 'S3cr3t-Pa55word!' };
    const token = Buffer.from(`\0${user.username}\0${user.password}`).toString('base64');
    const server = await startScriptedSmtp({
      greeting: '220 ok\r\n',
      credentials: pki.credentials(),
      onCommand: (line, secure) => {
        if (line === 'STARTTLS') return { startTls: '220 go ahead' };
        if (line.startsWith('AUTH') && secure) return `535 5.7.8 ${'x'.repeat(250)} rejected: ${line}`;
        return undefined;
      },
    });
    try {
      const result = await runSmtpCheck(spec(server.port, { auth: { secretArn: 'unused' } }), ctx, {
        credentials: user,
      });
      expect(codes(result)).toEqual(['AUTH_FAILED']);
      expect(result.reply).toContain(MASK);
      const text = JSON.stringify(result);
      for (let i = 0; i + 8 <= token.length; i += 1) expect(text).not.toContain(token.slice(i, i + 8));
    } finally {
      await server.close();
    }
  });
});
