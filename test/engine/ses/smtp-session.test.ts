/**
 * The SES pieces inside a real SMTP session: an SES-named endpoint (pinned to a
 * loopback server with a certificate for that name) answers like SES, and the findings
 * carry the SES hints; credentials come through resolveCredentials and never reach
 * the result.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import { FINDINGS, type Finding } from '../../../lambdas/engine/findings.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { credentialSecrets, maskSecrets, resolveCredentials } from '../../../lambdas/engine/secrets.js';
import { expandSesPreset, sesHint, withSesHints } from '../../../lambdas/engine/ses/presets.js';
import { runSmtpCheck, type SmtpResult } from '../../../lambdas/engine/smtp/check.js';
import { createTestPki, type Issued, type TestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp, type SmtpServerOptions } from '../../../testkit/smtp-servers.js';

const SES_HOST = 'email-smtp.eu-west-1.amazonaws.com';
const USER = { username: 'AKIAEXAMPLESMTPUSER', password: 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk' };
const MESSAGE = { from: 'probe@verified.example', to: 'success@simulator.amazonses.com' };

let pki: TestPki;
let sesLeaf: Issued;
let ctx: ProbeContext;

beforeAll(async () => {
  pki = await createTestPki();
  sesLeaf = await pki.issueLeaf({ dnsNames: [SES_HOST, 'relay.example.net'], ipAddresses: [] });
  ctx = createContext({ extraCa: [pki.caPem], timeoutMs: 5_000 });
});

async function withServer<T>(options: Partial<SmtpServerOptions>, run: (s: RunningSmtp) => Promise<T>): Promise<T> {
  const server = await startSmtpServer({ credentials: pki.credentials(sesLeaf), user: USER, ...options });
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

/** The SES preset's spec for 587, pointed at the loopback server's port. */
function sesSpec(port: number, host = SES_HOST): SmtpCheckSpec {
  const [spec] = expandSesPreset({
    region: 'eu-west-1',
    ports: [587],
    auth: { username: USER.username, passwordEnv: 'SES_SMTP_PASSWORD' },
    testMessage: MESSAGE,
  });
  return { ...spec!, host, port };
}

async function probe(spec: SmtpCheckSpec, password: string): Promise<SmtpResult> {
  const credentials = await resolveCredentials(spec.auth!, { env: { SES_SMTP_PASSWORD: password } });
  return runSmtpCheck(spec, ctx, {
    address: '127.0.0.1',
    credentials,
    hintFor: (f: Finding) => withSesHints([f], spec.host, spec.port)[0]?.hint,
  });
}

describe('an SES endpoint answering like SES', () => {
  it('accepts AUTH and the test message', async () => {
    await withServer({}, async (server) => {
      const result = await probe(sesSpec(server.port), USER.password);
      expect(result.findings).toEqual([]);
      expect(result.message?.accepted).toBe(true);
      expect(server.messages).toHaveLength(1);
      expect(server.messages[0]).toContain('X-Mailprobe: test');
    });
  });

  it('535 gets the SES credentials hint, and the password appears nowhere in the result', async () => {
    await withServer({}, async (server) => {
      const wrong = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      const result = await probe(sesSpec(server.port), wrong);
      expect(result.findings.map((f) => f.code)).toEqual(['AUTH_FAILED']);
      expect(result.findings[0]!.hint).toBe(sesHint('AUTH_FAILED'));
      expect(server.authAttempts).toEqual([{ username: USER.username, password: wrong }]);
      const secrets = credentialSecrets({ username: USER.username, password: wrong });
      const logged = JSON.stringify(maskSecrets(result, secrets));
      for (const secret of secrets) expect(logged).not.toContain(secret);
    });
  });

  it('554 "Email address is not verified" after DATA is SENDER_REJECTED with the per-region hint', async () => {
    const rejectData = {
      code: 554,
      text: 'Message rejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: probe@verified.example',
    };
    await withServer({ rejectData }, async (server) => {
      const result = await probe(sesSpec(server.port), USER.password);
      expect(result.findings.map((f) => f.code)).toEqual(['SENDER_REJECTED']);
      expect(result.findings[0]!.hint).toBe(sesHint('SENDER_REJECTED'));
      expect(result.findings[0]!.hint).toMatch(/THIS region/);
      expect(result.reply).toMatch(/^554 .*not verified/);
    });
  });

  it('the same rejection from a host that is not SES keeps the generic hint', async () => {
    await withServer({ rejectData: { code: 554, text: 'Email address is not verified' } }, async (server) => {
      const result = await probe(sesSpec(server.port, 'relay.example.net'), USER.password);
      expect(result.findings.map((f) => f.code)).toEqual(['SENDER_REJECTED']);
      expect(result.findings[0]!.hint).toBe(FINDINGS.SENDER_REJECTED.hint);
    });
  });
});
