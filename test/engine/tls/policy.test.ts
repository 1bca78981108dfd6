/**
 * Per-target TLS policy (issue 10 item 21): each (policy × failure) graded the way a
 * sender with that Cisco ESA outbound TLS mode acts, against real loopback servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import type { FindingCode, Severity } from '../../../lambdas/engine/findings.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { runSmtpCheck } from '../../../lambdas/engine/smtp/check.js';
import { implicitTlsConnector } from '../../../lambdas/engine/tls/connect.js';
import { TLS_POLICIES, type TlsPolicy } from '../../../lambdas/engine/tls/policy.js';
import { runTlsCheck } from '../../../lambdas/engine/tls/posture.js';
import { startStarttlsMisbehaving, type RunningHostile } from '../../../testkit/hostile-smtp.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';
import { startTlsServer, type RunningServer } from '../../../testkit/tls-servers.js';
import { cli } from '../../../testkit/cli-in-process.js';

type Failure = 'no STARTTLS' | 'untrusted certificate' | 'handshake fails after the 220';

let pki: TestPki;
let trusting: ProbeContext;
let untrusting: ProbeContext;
const ports = new Map<Failure, number>();
const closers: (RunningSmtp | RunningHostile | RunningServer)[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  trusting = createContext({ extraCa: [pki.caPem], timeoutMs: 3_000 });
  untrusting = createContext({ timeoutMs: 3_000 });
  const noStarttls = await startSmtpServer({ credentials: pki.credentials(), hideStartTls: true });
  const good = await startSmtpServer({ credentials: pki.credentials() });
  const broken = await startStarttlsMisbehaving('greet-again', pki.credentials());
  closers.push(noStarttls, good, broken);
  ports.set('no STARTTLS', noStarttls.port);
  ports.set('untrusted certificate', good.port);
  ports.set('handshake fails after the 220', broken.port);
});
afterAll(async () => {
  await Promise.all(closers.map((s) => s.close()));
});

const CODE: Record<Failure, FindingCode> = {
  'no STARTTLS': 'STARTTLS_NOT_OFFERED',
  'untrusted certificate': 'CERT_UNTRUSTED',
  'handshake fails after the 220': 'TLS_HANDSHAKE_FAILED',
};

// The Cisco ESA guide's outcomes: "preferred" falls back to clear text before the 220 and
// never checks certificates; "required" needs TLS but not a valid certificate; "-verify"
// checks the certificate (preferred-verify still delivers encrypted when it fails); no mode
// falls back to clear text after the 220.
const TABLE: [TlsPolicy, Failure, Severity][] = [
  ['preferred', 'no STARTTLS', 'warning'],
  ['preferred', 'untrusted certificate', 'info'],
  ['preferred', 'handshake fails after the 220', 'critical'],
  ['required', 'no STARTTLS', 'critical'],
  ['required', 'untrusted certificate', 'warning'],
  ['required', 'handshake fails after the 220', 'critical'],
  ['preferred-verify', 'no STARTTLS', 'warning'],
  ['preferred-verify', 'untrusted certificate', 'warning'],
  ['preferred-verify', 'handshake fails after the 220', 'critical'],
  ['required-verify', 'no STARTTLS', 'critical'],
  ['required-verify', 'untrusted certificate', 'critical'],
  ['required-verify', 'handshake fails after the 220', 'critical'],
];

describe('smtp check: severity per (tlsPolicy × failure)', () => {
  it('covers every policy', () => {
    expect(new Set(TABLE.map(([p]) => p))).toEqual(new Set(TLS_POLICIES));
  });

  it.each(TABLE)('%s, %s: %s', async (policy, failure, severity) => {
    const port = ports.get(failure) as number;
    const spec: SmtpCheckSpec = { check: 'smtp', host: '127.0.0.1', port, tls: 'starttls', tlsPolicy: policy };
    const result = await runSmtpCheck(spec, failure === 'untrusted certificate' ? untrusting : trusting);
    const graded = result.findings.find((f) => f.code === CODE[failure]);
    expect(graded?.severity).toBe(severity);
    expect(graded?.tlsPolicy).toBe(policy);
    expect(result.tlsPolicy).toBe(policy);
    expect(result.status).toBe(severity === 'info' ? 'ok' : severity);
  });

  it('the default is required-verify', async () => {
    const port = ports.get('untrusted certificate') as number;
    const result = await runSmtpCheck({ check: 'smtp', host: '127.0.0.1', port, tls: 'starttls' }, untrusting);
    expect(result.tlsPolicy).toBe('required-verify');
    expect(result.findings[0]).toMatchObject({
      code: 'CERT_UNTRUSTED',
      severity: 'critical',
      tlsPolicy: 'required-verify',
    });
  });

  it('credentials stay withheld over an unverified session whatever the policy', async () => {
    const port = ports.get('untrusted certificate') as number;
    const result = await runSmtpCheck(
      { check: 'smtp', host: '127.0.0.1', port, tls: 'starttls', tlsPolicy: 'preferred', auth: { secretArn: 'x' } },
      untrusting,
      { credentials: { username: 'u', password: 'p4ssword' } },
    );
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual([
      ['AUTH_WITHHELD', 'critical'],
      ['CERT_UNTRUSTED', 'info'],
    ]);
  });
});

describe('tls check: the same grading', () => {
  it('preferred: an untrusted certificate is info', async () => {
    const server = await startTlsServer(pki.credentials());
    closers.push(server);
    const r = await runTlsCheck(
      { check: 'tls', host: 'localhost', port: server.port, tls: 'implicit', tlsPolicy: 'preferred' },
      untrusting,
      implicitTlsConnector('localhost', server.port, '127.0.0.1'),
    );
    expect(r.findings.map((f) => [f.code, f.severity, f.tlsPolicy])).toEqual([['CERT_UNTRUSTED', 'info', 'preferred']]);
    expect(r.status).toBe('ok');
  });
});

describe('--tls-policy on the CLI', () => {
  it('preferred: no STARTTLS is a warning, exit 0', async () => {
    const port = ports.get('no STARTTLS') as number;
    const run = await cli(['smtp', `127.0.0.1:${port}`, '--tls-policy', 'preferred', '--json']);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { results: { status: string; tlsPolicy: string }[] };
    expect(doc.results[0]).toMatchObject({ status: 'warning', tlsPolicy: 'preferred' });
  });

  it('an unknown policy is a usage error, exit 2', async () => {
    const run = await cli(['smtp', '127.0.0.1:25', '--tls-policy', 'opportunistic']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--tls-policy: expected preferred|required|preferred-verify|required-verify');
  });
});
