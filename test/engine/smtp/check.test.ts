/**
 * The smtp check against real servers on loopback: a well-behaved one (smtp-server) and
 * scripted hostile ones. Each case asserts the exact findings code, and that the probe
 * ended within its deadline where the server stalls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import type { FindingCode } from '../../../lambdas/engine/findings.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { runSmtp } from '../../../lambdas/engine/probe/smtp.js';
import { runSmtpCheck, type SmtpResult } from '../../../lambdas/engine/smtp/check.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { createTestPki, type Issued, type TestPki } from '../../../testkit/pki.js';
import {
  startScriptedSmtp,
  startSmtpServer,
  type RunningSmtp,
  type SmtpServerOptions,
} from '../../../testkit/smtp-servers.js';
import { unusedPort } from '../../../testkit/tls-servers.js';

const USER = { username: 'probe-user', password: 'S3cr3t-Pa55word!' };
const TIMEOUT_MS = 2_000;
/** Slack for timers and process scheduling on a loaded 2-core CI machine. */
const DEADLINE_SLACK_MS = 1_500;

let pki: TestPki;
let ctx: ProbeContext;

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem], timeoutMs: TIMEOUT_MS });
});

const codes = (r: SmtpResult): FindingCode[] => r.findings.map((f) => f.code);

function spec(port: number, extra: Partial<SmtpCheckSpec> = {}): SmtpCheckSpec {
  return { check: 'smtp', host: '127.0.0.1', port, tls: 'starttls', ...extra };
}

async function withServer<T>(
  options: Partial<SmtpServerOptions> & { leaf?: Issued; withIntermediate?: boolean },
  run: (server: RunningSmtp) => Promise<T>,
): Promise<T> {
  const server = await startSmtpServer({
    credentials: pki.credentials(options.leaf, { withIntermediate: options.withIntermediate ?? true }),
    user: USER,
    ...options,
  });
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

describe('smtp check against a well-behaved server', () => {
  it('completes STARTTLS, AUTH PLAIN and a test message, and reports every stage', async () => {
    await withServer({}, async (server) => {
      const result = await runSmtpCheck(
        spec(server.port, {
          name: 'relay',
          auth: { username: USER.username, passwordEnv: 'UNUSED' },
          testMessage: { from: 'probe@example.com', to: 'success@simulator.amazonses.com' },
        }),
        ctx,
        { credentials: USER },
      );
      expect(result.findings).toEqual([]);
      expect(result.status).toBe('ok');
      expect(result.completed).toBe(true);
      expect(result.stage).toBe('quit');
      expect(result.tlsMode).toBe('starttls');
      expect(result.greeting).toMatch(/^220 /);
      expect(result.tls?.verified).toBe(true);
      expect(result.tls?.protocol).toBe('TLSv1.3');
      expect(result.auth).toEqual({ outcome: 'accepted', mechanism: 'PLAIN' });
      expect(result.message?.accepted).toBe(true);
      expect(result.message?.reply).toMatch(/^250 /);
      expect(Object.keys(result.timings)).toEqual(
        expect.arrayContaining([
          'resolve',
          'connect',
          'greeting',
          'ehlo',
          'starttls',
          'tls',
          'ehlo-tls',
          'auth',
          'mail',
          'quit',
        ]),
      );
      expect(server.authAttempts).toEqual([USER]);
      expect(server.messages[0]).toContain('Subject: mailprobe test message for 127.0.0.1:');
      expect(JSON.stringify(result)).not.toContain(USER.password);
      expect(JSON.stringify(result)).not.toContain(
        Buffer.from(`\0${USER.username}\0${USER.password}`).toString('base64'),
      );
    });
  });

  it('speaks TLS from the first byte on an implicit-TLS port', async () => {
    await withServer({ implicitTls: true }, async (server) => {
      const result = await runSmtpCheck(spec(server.port, { tls: 'implicit' }), ctx);
      expect(codes(result)).toEqual([]);
      expect(result.tlsMode).toBe('implicit');
      expect(result.tls?.verified).toBe(true);
      expect(result.completed).toBe(true);
    });
  });

  it.each([
    [535, 'AUTH_FAILED'],
    [454, 'AUTH_TEMPFAIL'],
  ] as const)('maps AUTH reply %i to %s with the reply text', async (failure, code) => {
    await withServer({ authFailureCode: failure }, async (server) => {
      const result = await runSmtpCheck(spec(server.port, { auth: { secretArn: 'unused' } }), ctx, {
        credentials: { username: USER.username, password: 'wrong-password' },
      });
      expect(codes(result)).toEqual([code]);
      expect(result.stage).toBe('auth');
      expect(result.reply).toMatch(new RegExp(`^${failure} `));
      expect(result.auth?.outcome).toBe('rejected');
      expect(JSON.stringify(result)).not.toContain('wrong-password');
    });
  });

  it('reports the SES "Email address is not verified" rejection of MAIL FROM as SENDER_REJECTED', async () => {
    const rejectSender = {
      code: 554,
      text: 'Message rejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: probe@example.com',
    };
    await withServer({ rejectSender }, async (server) => {
      const result = await runSmtpCheck(
        spec(server.port, { testMessage: { from: 'probe@example.com', to: 'success@simulator.amazonses.com' } }),
        ctx,
      );
      expect(codes(result)).toEqual(['SENDER_REJECTED']);
      expect(result.stage).toBe('mail');
      expect(result.reply).toMatch(/^554 .*not verified/);
      expect(result.message?.accepted).toBe(false);
    });
  });

  it('classifies a "not verified" rejection at the end of DATA as SENDER_REJECTED, others as MESSAGE_REJECTED', async () => {
    const message = { from: 'probe@example.com', to: 'success@simulator.amazonses.com' };
    await withServer(
      { rejectData: { code: 554, text: 'Message rejected: Email address is not verified.' } },
      async (s) => {
        expect(codes(await runSmtpCheck(spec(s.port, { testMessage: message }), ctx))).toEqual(['SENDER_REJECTED']);
      },
    );
    await withServer({ rejectData: { code: 552, text: 'Message size exceeds fixed maximum' } }, async (s) => {
      expect(codes(await runSmtpCheck(spec(s.port, { testMessage: message }), ctx))).toEqual(['MESSAGE_REJECTED']);
    });
  });

  it('reports STARTTLS_NOT_OFFERED when the server hides STARTTLS', async () => {
    await withServer({ hideStartTls: true }, async (server) => {
      const result = await runSmtpCheck(spec(server.port), ctx);
      expect(codes(result)).toEqual(['STARTTLS_NOT_OFFERED']);
      expect(result.stage).toBe('starttls');
    });
  });
});

describe('certificate problems, and credentials withheld over unverified TLS', () => {
  const cases: [string, (p: TestPki) => Promise<Issued>, FindingCode, boolean?][] = [
    ['expired', (p) => p.expired(), 'CERT_EXPIRED'],
    ['not yet valid', (p) => p.notYetValid(), 'CERT_NOT_YET_VALID'],
    ['self-signed', (p) => p.selfSigned(), 'CERT_SELF_SIGNED'],
    ['for another name', (p) => p.wrongName(), 'CERT_NAME_MISMATCH'],
    ['served without its intermediate', (p) => Promise.resolve(p.leaf), 'CERT_CHAIN_INCOMPLETE', false],
  ];

  it.each(cases)('a certificate %s gives %s and AUTH_WITHHELD', async (_label, make, code, withIntermediate) => {
    const leaf = await make(pki);
    await withServer({ leaf, withIntermediate: withIntermediate ?? true }, async (server) => {
      const result = await runSmtpCheck(spec(server.port, { auth: { secretArn: 'unused' } }), ctx, {
        credentials: USER,
      });
      expect(codes(result)).toContain(code);
      expect(codes(result)).toContain('AUTH_WITHHELD');
      expect(result.tls?.verified).toBe(false);
      expect(result.tls?.certificate).toBeDefined();
      expect(server.authAttempts).toEqual([]);
    });
  });

  it('withholds credentials over TLS 1.1 even with a valid certificate', async () => {
    await withServer(
      { tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' } },
      async (server) => {
        const result = await runSmtpCheck(spec(server.port, { auth: { secretArn: 'unused' } }), ctx, {
          credentials: USER,
        });
        expect(result.tls?.protocol).toBe('TLSv1.1');
        // Offered up to TLS 1.3 and landed on 1.1: the server cannot do 1.2, which SES and
        // every modern MTA require: critical, not a legacy-protocol warning.
        expect(codes(result)).toEqual(['AUTH_WITHHELD', 'TLS_NO_MODERN_PROTOCOL']);
        expect(result.findings[1]?.severity).toBe('critical');
        expect(result.findings[1]?.message).toMatch(/negotiated TLSv1.1 although the probe offered up to TLSv1.3/);
        expect(result.findings[0]?.message).toMatch(/negotiated TLSv1.1, below TLS 1.2/);
        expect(server.authAttempts).toEqual([]);
      },
    );
  });

  it('reports CERT_UNTRUSTED when the root is not in the trust store', async () => {
    await withServer({}, async (server) => {
      const result = await runSmtpCheck(spec(server.port), createContext({ timeoutMs: TIMEOUT_MS }));
      expect(codes(result)).toContain('CERT_UNTRUSTED');
      expect(result.tls?.certificate?.subjectAltNames).toEqual(expect.arrayContaining(['DNS:localhost']));
    });
  });

  it('warns CERT_EXPIRING critical at 5 days with the default thresholds', async () => {
    const leaf = await pki.expiringInDays(5);
    await withServer({ leaf }, async (server) => {
      const result = await runSmtpCheck(spec(server.port), ctx);
      expect(result.findings.map((f) => [f.code, f.severity])).toEqual([['CERT_EXPIRING', 'critical']]);
      expect(result.tls?.earliestExpiry?.daysToExpiry).toBe(5);
    });
  });
});

describe('hostile and broken servers', () => {
  async function probeScripted(
    options: Parameters<typeof startScriptedSmtp>[0],
    extra: Partial<SmtpCheckSpec> = {},
    credentials?: { username: string; password: string },
  ): Promise<{ result: SmtpResult; elapsedMs: number; received: string[] }> {
    const server = await startScriptedSmtp({ credentials: pki.credentials(), ...options });
    try {
      const started = Date.now();
      const result = await runSmtpCheck(spec(server.port, extra), ctx, credentials ? { credentials } : {});
      return { result, elapsedMs: Date.now() - started, received: server.received };
    } finally {
      await server.close();
    }
  }

  it('nothing listening: CONNECT_REFUSED', async () => {
    const result = await runSmtpCheck(spec(await unusedPort()), ctx);
    expect(codes(result)).toEqual(['CONNECT_REFUSED']);
    expect(result.stage).toBe('connect');
  });

  it('accepts but never greets: GREETING_TIMEOUT within the deadline', async () => {
    const { result, elapsedMs } = await probeScripted({});
    expect(codes(result)).toEqual(['GREETING_TIMEOUT']);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + DEADLINE_SLACK_MS);
  });

  it('one byte a second: DEADLINE_EXCEEDED within the deadline', async () => {
    const { result, elapsedMs } = await probeScripted({
      greeting: { drip: '220 slow.example.com ESMTP this greeting never ends\r\n', intervalMs: 1000 },
    });
    expect(codes(result)).toEqual(['DEADLINE_EXCEEDED']);
    expect(result.stage).toBe('greeting');
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + DEADLINE_SLACK_MS);
  });

  it('greets with garbage: PROTOCOL_VIOLATION', async () => {
    const { result } = await probeScripted({ greeting: 'SSH-2.0-OpenSSH_9.2p1\r\n' });
    expect(codes(result)).toEqual(['PROTOCOL_VIOLATION']);
  });

  it.each(['554 5.7.1 No SMTP service here\r\n', '421 4.3.2 Service not available\r\n'])(
    'greets with %j: GREETING_REJECTED',
    async (greeting) => {
      const { result } = await probeScripted({ greeting });
      expect(codes(result)).toEqual(['GREETING_REJECTED']);
      expect(result.reply).toBe(greeting.trim());
    },
  );

  it('a 1 MB line without CRLF: PROTOCOL_VIOLATION, not 1 MB buffered', async () => {
    const { result } = await probeScripted({ greeting: `220 ${'x'.repeat(1024 * 1024)}` });
    expect(codes(result)).toEqual(['PROTOCOL_VIOLATION']);
    expect(result.findings[0]?.message).toMatch(/longer than 4096 bytes/);
  });

  it('closes in the middle of a reply: PROTOCOL_VIOLATION', async () => {
    const { result } = await probeScripted({
      greeting: '220 ok\r\n',
      onCommand: (line) => (line.startsWith('EHLO') ? { close: true, before: '250-half a reply\r\n' } : undefined),
    });
    expect(codes(result)).toEqual(['PROTOCOL_VIOLATION']);
    expect(result.stage).toBe('ehlo');
  });

  it('EHLO answered 502: falls back to HELO', async () => {
    const onCommand = (line: string) => (line.startsWith('EHLO') ? '502 5.5.1 command not implemented' : undefined);
    const plain = await probeScripted({ greeting: '220 old.example.com\r\n', onCommand }, { tls: 'none' });
    expect(codes(plain.result)).toEqual([]);
    expect(plain.result.completed).toBe(true);
    // QUIT follows without waiting for the 221 (test/engine/smtp/quit.test.ts); the server may be closed before reading it.
    expect(plain.received.slice(0, 2)).toEqual(['EHLO mailprobe.invalid', 'HELO mailprobe.invalid']);
    const required = await probeScripted({ greeting: '220 old.example.com\r\n', onCommand });
    expect(codes(required.result)).toEqual(['STARTTLS_NOT_OFFERED']);
  });

  it('EHLO and HELO both rejected: EHLO_REJECTED', async () => {
    const { result } = await probeScripted({
      greeting: '220 picky.example.com\r\n',
      onCommand: (line) => (/^(EHLO|HELO)/.test(line) ? '550 5.7.1 go away' : undefined),
    });
    expect(codes(result)).toEqual(['EHLO_REJECTED']);
  });

  it('STARTTLS answered 454: STARTTLS_REJECTED', async () => {
    const { result } = await probeScripted({
      greeting: '220 ok\r\n',
      onCommand: (line) => (line === 'STARTTLS' ? '454 4.7.0 TLS not available due to local problem' : undefined),
    });
    expect(codes(result)).toEqual(['STARTTLS_REJECTED']);
    expect(result.reply).toMatch(/^454 /);
  });

  it('plaintext injected after the 220 to STARTTLS: STARTTLS_EXTRA_DATA, discarded, session continues over TLS', async () => {
    const { result, received } = await probeScripted({
      greeting: '220 ok\r\n',
      onCommand: (line, secure) => {
        if (line === 'STARTTLS')
          return { startTls: '220 2.0.0 go ahead', inject: '250-INJECTED\r\n250 AUTH PLAIN\r\n' };
        if (line.startsWith('EHLO') && secure) return '250-test\r\n250 SIZE 1000';
        return undefined;
      },
    });
    expect(codes(result)).toEqual(['STARTTLS_EXTRA_DATA']);
    expect(result.completed).toBe(true);
    // The injected capabilities never count: the post-TLS EHLO's do.
    expect(result.capabilities).toEqual(['SIZE 1000']);
    expect(received.filter((l) => l.startsWith('EHLO'))).toHaveLength(2);
  });

  it('a reset after TLS is up is CONNECT_RESET, not a TLS failure', async () => {
    const { result } = await probeScripted({
      greeting: '220 ok\r\n',
      onCommand: (line, secure) => {
        if (line === 'STARTTLS') return { startTls: '220 go ahead' };
        if (line.startsWith('EHLO') && secure) return { reset: true };
        return undefined;
      },
    });
    expect(codes(result)).toEqual(['CONNECT_RESET']);
    expect(result.stage).toBe('ehlo-tls');
  });

  it('a reply nobody asked for (a doubled greeting): PROTOCOL_VIOLATION, not a misread EHLO', async () => {
    const { result, received } = await probeScripted({ greeting: '220 first\r\n220 second\r\n' });
    expect(codes(result)).toEqual(['PROTOCOL_VIOLATION']);
    expect(result.findings[0]?.message).toMatch(/reply nobody asked for \(220 second\)/);
    expect(received).toEqual([]);
  });

  it.each([
    [504, 'AUTH_UNAVAILABLE'],
    [538, 'AUTH_UNAVAILABLE'],
    [535, 'AUTH_FAILED'],
    [421, 'AUTH_TEMPFAIL'],
  ] as const)('AUTH answered %i over verified TLS: %s', async (code, expected) => {
    const { result } = await probeScripted(
      {
        greeting: '220 ok\r\n',
        onCommand: (line, secure) => {
          if (line === 'STARTTLS') return { startTls: '220 go ahead' };
          if (line.startsWith('AUTH') && secure) return `${code} 5.7.0 no`;
          return undefined;
        },
      },
      { auth: { username: 'u', passwordEnv: 'P' } },
      { username: 'u', password: 'pw' },
    );
    expect(codes(result)).toEqual([expected]);
  });

  it('masks a password the server echoes back, without touching the names that become metric dimensions', async () => {
    const server = await startScriptedSmtp({
      greeting: '220 ok\r\n',
      credentials: pki.credentials(),
      onCommand: (line, secure) => {
        if (line === 'STARTTLS') return { startTls: '220 go ahead' };
        // sendmail-style: the rejected command quoted back, secret and all.
        if (line.startsWith('AUTH') && secure) return `500 5.5.1 Command unrecognized: "${line}" (smtp)`;
        return undefined;
      },
    });
    try {
      const result = await runSmtp(
        { ...spec(server.port), name: 'smtp-relay', auth: { username: 'u', passwordEnv: 'RELAY_PW' } },
        ctx,
        { credentials: { env: { RELAY_PW: 'smtp' } } },
      );
      const json = JSON.stringify(result);
      expect(json).not.toContain(Buffer.from('\0u\0smtp').toString('base64'));
      expect(result.findings.map((f) => f.code)).toEqual(['AUTH_UNAVAILABLE']);
      expect(result.findings[0]?.message).toContain('********');
      expect(result).toMatchObject({ check: 'smtp', name: 'smtp-relay', target: `127.0.0.1:${server.port}` });
    } finally {
      await server.close();
    }
  });

  it('plaintext on an implicit-TLS port: TLS_WRONG_MODE', async () => {
    const { result } = await probeScripted({ greeting: '220 plain.example.com ESMTP\r\n' }, { tls: 'implicit' });
    expect(codes(result)).toEqual(['TLS_WRONG_MODE']);
  });

  it('never sends credentials over tls: none', async () => {
    const { result, received } = await probeScripted(
      { greeting: '220 ok\r\n' },
      { tls: 'none', auth: { username: 'u', passwordEnv: 'P' } },
    );
    expect(codes(result)).toEqual(['AUTH_WITHHELD']);
    expect(received.some((l) => l.startsWith('AUTH'))).toBe(false);
  });
});

describe('DNS failures', () => {
  let dns: DnsTestServer;
  beforeAll(async () => {
    dns = await startDnsServer({ 'broken.example': 'SERVFAIL', 'relay.example': { A: ['127.0.0.1'] } });
  });
  afterAll(async () => dns.close());

  it.each([
    ['missing.example', 'DNS_NXDOMAIN'],
    ['broken.example', 'DNS_ERROR'],
  ] as const)('%s gives %s at the resolve stage', async (host, code) => {
    const dnsCtx = createContext({
      resolver: new DnsResolver({ server: `127.0.0.1:${dns.port}`, tries: 1 }),
      timeoutMs: TIMEOUT_MS,
    });
    const result = await runSmtpCheck({ check: 'smtp', host, port: 25 }, dnsCtx);
    expect(codes(result)).toEqual([code]);
    expect(result.stage).toBe('resolve');
  });
});
