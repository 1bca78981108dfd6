/**
 * The engine's runners: a check that cannot get its credentials or that fails in an
 * unexpected way still yields a result with the right code, within its deadline, and
 * never stops the other checks.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import { createContext } from '../../../lambdas/engine/context.js';
import { runPool } from '../../../lambdas/engine/run/pool.js';
import { runSmtp } from '../../../lambdas/engine/probe/smtp.js';
import { clearCredentialCache } from '../../../lambdas/engine/secrets.js';
import { startSilentServer, unusedPort, type RunningServer } from '../../../testkit/tls-servers.js';

const TIMEOUT_MS = 1_500;
const SLACK_MS = 1_500;
const ctx = createContext({ timeoutMs: TIMEOUT_MS });

let silent: RunningServer;
beforeAll(async () => {
  silent = await startSilentServer();
});
afterAll(async () => silent.close());

describe('smtp runner credentials', () => {
  it('an unset password variable is CREDENTIALS_UNAVAILABLE at the auth stage, and nothing is dialled', async () => {
    const spec: SmtpCheckSpec = {
      check: 'smtp',
      name: 'relay',
      host: '127.0.0.1',
      port: await unusedPort(),
      auth: { username: 'u', passwordEnv: 'RELAY_PASSWORD' },
    };
    const result = await runSmtp(spec, ctx, { credentials: { env: {} } });
    expect(result.findings.map((f) => [f.code, f.stage])).toEqual([['CREDENTIALS_UNAVAILABLE', 'auth']]);
    expect(result.findings[0]?.message).toMatch(/RELAY_PASSWORD/);
    expect(result).toMatchObject({ check: 'smtp', name: 'relay', status: 'critical' });
  });

  it('a Secrets Manager endpoint that never answers is CREDENTIALS_UNAVAILABLE within the check deadline', async () => {
    clearCredentialCache();
    // A real SDK client against a loopback listener that accepts and stays silent.
    const secretsManager = new SecretsManagerClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${silent.port}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
      maxAttempts: 1,
    });
    const spec: SmtpCheckSpec = {
      check: 'smtp',
      host: '127.0.0.1',
      port: await unusedPort(),
      auth: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-AbCdEf' },
    };
    const started = Date.now();
    const result = await runSmtp(spec, ctx, { credentials: { secretsManager } });
    expect(result.findings.map((f) => f.code)).toEqual(['CREDENTIALS_UNAVAILABLE']);
    // Proves the deadline holds (a generous bound, not a timing assertion).
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });
});

describe('runPool', () => {
  it('turns a check that throws into PROBE_INTERNAL_ERROR and keeps the others and their order', async () => {
    const specs: SmtpCheckSpec[] = ['a', 'b', 'c'].map((name) => ({
      check: 'smtp',
      name,
      host: `${name}.example`,
      port: 25,
    }));
    const seen: string[] = [];
    const results = await runPool(
      specs,
      async (spec) => {
        if (spec.name === 'b') throw new Error('boom');
        return {
          check: 'smtp' as const,
          target: spec.host,
          name: spec.name,
          status: 'ok' as const,
          startedAt: '',
          durationMs: 0,
          findings: [],
        };
      },
      ctx,
      { concurrency: 2, onResult: (r) => seen.push(r.name ?? '') },
    );
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['a', 'ok'],
      ['b', 'critical'],
      ['c', 'ok'],
    ]);
    expect(results[1]?.findings.map((f) => f.code)).toEqual(['PROBE_INTERNAL_ERROR']);
    expect(results[1]?.findings[0]?.message).toMatch(/boom/);
    expect(results[1]?.target).toBe('b.example:25');
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
  });
});
