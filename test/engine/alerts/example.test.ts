/**
 * The README's examples stay what the code renders, and a real smtp result (a loopback
 * relay with an expired certificate) gives the message the examples promise.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spliceExamples, exampleMessages } from '../../../lambdas/engine/alerts/example.js';
import { formatAlert } from '../../../lambdas/engine/alerts/format.js';
import { createContext } from '../../../lambdas/engine/context.js';
import { redact } from '../../../lambdas/engine/secrets.js';
import { runSmtpCheck, type SmtpResult } from '../../../lambdas/engine/smtp/check.js';
import { createTestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';

const README = new URL('../../../docs/alerting.md', import.meta.url);
const USER = { username: 'probe@example.test', password: 'N0t-in-any-message!' };

describe('docs/alerting.md examples', () => {
  it('shows exactly what the formatter renders (npx tsx lambdas/engine/alerts/example.ts --write)', () => {
    const markdown = readFileSync(README, 'utf8');
    expect(spliceExamples(markdown)).toBe(markdown);
  });

  it('renders a page and a recovery for the expired certificate', () => {
    const { critical, resolved } = exampleMessages();
    expect(critical.subject).toBe('[CRITICAL] smtp relay-eu (127.0.0.1:2587): CERT_EXPIRED, AUTH_WITHHELD');
    expect(critical.text).toContain('  Failed stage: tls');
    expect(critical.text).toContain('  Certificate expiry: expired (not after 2026-11-13T03:10:05.000Z)');
    expect(resolved.subject).toBe('[RESOLVED] smtp relay-eu (127.0.0.1:2587): ok again (was critical)');
    expect(resolved.text).toContain('Was failing since: 2026-11-23T03:05:05.230Z (for 6 h 40 min)');
  });
});

describe('a real smtp result from a loopback relay with an expired certificate', () => {
  let server: RunningSmtp;
  let result: SmtpResult;

  beforeAll(async () => {
    const pki = await createTestPki();
    server = await startSmtpServer({ credentials: pki.credentials(await pki.expired()), user: USER });
    result = await runSmtpCheck(
      {
        check: 'smtp',
        name: 'relay-eu',
        host: '127.0.0.1',
        port: server.port,
        tls: 'starttls',
        auth: { secretArn: 'x' },
      },
      createContext({ extraCa: [pki.caPem], timeoutMs: 5_000 }),
      { credentials: USER },
    );
  });

  afterAll(async () => server.close());

  it('pages with the codes, the stage, the certificate facts and the hints, and no password', () => {
    const message = formatAlert(
      result,
      { kind: 'raised', previousStatus: 'ok', failingSince: Date.parse(result.startedAt) },
      { redact: (text) => redact(text, [USER.password]), now: Date.parse(result.startedAt) },
    );
    expect(result.status).toBe('critical');
    expect(message.subject).toMatch(/^\[CRITICAL\] smtp relay-eu \(127\.0\.0\.1:\d+\): /);
    expect(message.subject).toContain('CERT_EXPIRED');
    expect(message.subject).toContain('AUTH_WITHHELD');
    // The session went on to QUIT; the stage that failed is the TLS verification.
    expect(result.stage).toBe('quit');
    expect(message.text).toContain('  Failed stage: tls');
    expect(message.text).toContain('  Certificate subject: ');
    expect(message.text).toContain('  Certificate issuer: ');
    expect(message.text).toMatch(/ {2}Certificate expiry: expired \(not after \d{4}-/);
    expect(message.text).toContain('What to do: A certificate in the chain has expired.');
    expect(message.json).toMatchObject({
      check: 'smtp',
      status: 'critical',
      transition: 'raised',
      tls: { verified: false },
    });
    expect(JSON.stringify(message)).not.toContain(USER.password);
    expect(server.authAttempts).toEqual([]);
  });
});
