/** Masking hides what came from outside, never mailprobe's own words. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finding } from '../../lambdas/engine/findings.js';
import { credentialSecrets, MASK, maskResultText } from '../../lambdas/engine/mask.js';
import { createContext } from '../../lambdas/engine/context.js';
import { runSmtpCheck } from '../../lambdas/engine/smtp/check.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const CREDENTIALS = { username: 'probe', password: 'mypassword-2024' };

describe('maskResultText', () => {
  it("masks a reply that quotes the password, and leaves the catalogue's hint alone", () => {
    const result = {
      check: 'smtp',
      target: 'relay:587',
      findings: [finding('AUTH_FAILED', '535 bad credentials for probe/mypassword-2024')],
    };
    const masked = maskResultText(result, credentialSecrets(CREDENTIALS));
    expect(masked.findings[0]?.message).toBe(`535 bad credentials for probe/${MASK}`);
    expect(masked.findings[0]?.hint).toContain('user name and password');
  });
});

describe('the smtp check with a password that contains a common word', () => {
  let pki: TestPki;
  let server: RunningSmtp;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startSmtpServer({
      credentials: pki.credentials(),
      user: { username: 'probe', password: 'something-else' },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('reports AUTH_FAILED with its hint readable', async () => {
    const ctx = createContext({ extraCa: [pki.caPem], timeoutMs: 5_000 });
    const result = await runSmtpCheck(
      {
        check: 'smtp',
        host: '127.0.0.1',
        port: server.port,
        tls: 'starttls',
        auth: { username: 'probe', passwordEnv: 'UNUSED' },
      },
      ctx,
      {
        credentials: CREDENTIALS,
      },
    );
    const auth = result.findings.find((f) => f.code === 'AUTH_FAILED');
    expect(auth?.hint).toContain('user name and password');
    expect(JSON.stringify(result)).not.toContain('mypassword');
  });
});
