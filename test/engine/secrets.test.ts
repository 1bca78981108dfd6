import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CredentialError,
  MASK,
  clearCredentialCache,
  credentialSecrets,
  maskSecrets,
  parseCredentialSecret,
  redact,
  resolveCredentials,
} from '../../lambdas/engine/secrets.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp-AbCdEf';
const PASSWORD = 'BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9';

const client = new SecretsManagerClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
});
const sm = mockClient(client);

async function credentialError(promise: Promise<unknown>): Promise<CredentialError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CredentialError) return err;
    throw err;
  }
  throw new Error('expected a CredentialError');
}

function awsError(name: string, message = 'denied'): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

beforeEach(() => {
  sm.reset();
  clearCredentialCache();
});
afterEach(() => clearCredentialCache());

describe('resolveCredentials with secretArn', () => {
  it('reads username and password from the JSON secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({
      SecretString: JSON.stringify({ username: 'AKIAEXAMPLESMTPUSER', password: PASSWORD }),
    });
    await expect(resolveCredentials({ secretArn: ARN }, { secretsManager: client })).resolves.toEqual({
      username: 'AKIAEXAMPLESMTPUSER',
      password: PASSWORD,
    });
  });

  it('reads a SecretBinary secret too', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretBinary: new TextEncoder().encode(JSON.stringify({ username: 'u', password: PASSWORD })),
    });
    await expect(resolveCredentials({ secretArn: ARN }, { secretsManager: client })).resolves.toEqual({
      username: 'u',
      password: PASSWORD,
    });
  });

  it('calls Secrets Manager once while cached, again after clearCredentialCache or the TTL', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: PASSWORD }) });
    let now = 1_000_000;
    const deps = { secretsManager: client, now: () => now };
    await Promise.all([resolveCredentials({ secretArn: ARN }, deps), resolveCredentials({ secretArn: ARN }, deps)]);
    await resolveCredentials({ secretArn: ARN }, deps);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clearCredentialCache();
    await resolveCredentials({ secretArn: ARN }, deps);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    now += 5 * 60_000 + 1;
    await resolveCredentials({ secretArn: ARN }, deps);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('does not cache a failure: the next check retries', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .resolves({ SecretString: JSON.stringify({ username: 'u', password: PASSWORD }) });
    const err = await credentialError(resolveCredentials({ secretArn: ARN }, { secretsManager: client }));
    expect(err.code).toBe('SECRET_UNAVAILABLE');
    expect(err.awsErrorName).toBe('ThrottlingException');
    await expect(resolveCredentials({ secretArn: ARN }, { secretsManager: client })).resolves.toMatchObject({
      username: 'u',
    });
  });

  it('maps not found, access denied, KMS decryption failure and deletion to clear errors', async () => {
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    const notFound = await credentialError(resolveCredentials({ secretArn: ARN }, { secretsManager: client }));
    expect(notFound.code).toBe('SECRET_NOT_FOUND');
    expect(notFound.message).toContain(ARN);

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    const denied = await credentialError(resolveCredentials({ secretArn: ARN }, { secretsManager: client }));
    expect(denied.code).toBe('SECRET_ACCESS_DENIED');
    expect(denied.message).toMatch(/secretsmanager:GetSecretValue/);

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(awsError('DecryptionFailure'));
    const kms = await credentialError(resolveCredentials({ secretArn: ARN }, { secretsManager: client }));
    expect(kms.code).toBe('SECRET_ACCESS_DENIED');
    expect(kms.message).toMatch(/kms:Decrypt/);

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(awsError('InvalidRequestException', 'marked for deletion'));
    const deleted = await credentialError(resolveCredentials({ secretArn: ARN }, { secretsManager: client }));
    expect(deleted.code).toBe('SECRET_NOT_FOUND');
    expect(deleted.message).toMatch(/deletion/);
  });

  it.each([
    ['a missing password', JSON.stringify({ username: 'u' }), /"password"/],
    ['a missing username', JSON.stringify({ password: PASSWORD }), /"username"/],
    ['a non-string password', JSON.stringify({ username: 'u', password: 12345 }), /"password"/],
    ['an array', JSON.stringify([PASSWORD]), /JSON object/],
    ['text that is not JSON', `password=${PASSWORD}`, /not valid JSON/],
  ])('rejects %s without ever putting the secret in the error', async (_label, secretString, pattern) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secretString });
    const err = await credentialError(resolveCredentials({ secretArn: ARN }, { secretsManager: client }));
    expect(err.code).toBe('SECRET_INVALID');
    expect(err.message).toMatch(pattern);
    expect(err.message).not.toContain(PASSWORD);
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify(maskSecrets(err, []))).not.toContain(PASSWORD);
  });

  it('passes the abort signal to the SDK call', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: PASSWORD }) });
    const controller = new AbortController();
    await resolveCredentials({ secretArn: ARN }, { secretsManager: client, abortSignal: controller.signal });
    const call = sm.commandCalls(GetSecretValueCommand)[0]!;
    expect(call.args[0].input).toEqual({ SecretId: ARN });
    expect((call.args as unknown[])[1]).toEqual({ abortSignal: controller.signal });
  });
});

describe('resolveCredentials without an injected client', () => {
  it('reads the secret in the region its ARN names', async () => {
    const anyClient = mockClient(SecretsManagerClient);
    try {
      anyClient.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: 'p' }) });
      const arn = 'arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:ses-AbCdEf';
      await resolveCredentials({ secretArn: arn });
      const used = anyClient.call(0).thisValue as SecretsManagerClient;
      await expect(used.config.region()).resolves.toBe('ap-southeast-2');
    } finally {
      anyClient.restore();
    }
  });
});

describe('resolveCredentials with passwordEnv', () => {
  it('reads the named variable', async () => {
    await expect(
      resolveCredentials({ username: 'relay-user', passwordEnv: 'SMTP_PW' }, { env: { SMTP_PW: PASSWORD } }),
    ).resolves.toEqual({ username: 'relay-user', password: PASSWORD });
  });

  it('fails clearly when the variable is unset or empty', async () => {
    const unset = await credentialError(resolveCredentials({ username: 'u', passwordEnv: 'SMTP_PW' }, { env: {} }));
    expect(unset.code).toBe('PASSWORD_ENV_UNSET');
    expect(unset.message).toMatch(/SMTP_PW is not set/);
    const empty = await credentialError(
      resolveCredentials({ username: 'u', passwordEnv: 'SMTP_PW' }, { env: { SMTP_PW: '' } }),
    );
    expect(empty.message).toMatch(/SMTP_PW is empty/);
  });
});

describe('parseCredentialSecret', () => {
  it('names both missing fields at once', () => {
    expect(() => parseCredentialSecret('{}', ARN)).toThrow(/"username" and "password"/);
  });
});

describe('redact / maskSecrets', () => {
  const creds = { username: 'AKIAEXAMPLESMTPUSER', password: PASSWORD };
  const secrets = credentialSecrets(creds);

  it('masks the password and its AUTH LOGIN / AUTH PLAIN encodings in a transcript', () => {
    const plain = Buffer.from(`\0${creds.username}\0${PASSWORD}`).toString('base64');
    const login = Buffer.from(PASSWORD).toString('base64');
    const transcript = `C: AUTH PLAIN ${plain}\nC: ${login}\nerror near ${PASSWORD}`;
    const masked = redact(transcript, secrets);
    expect(masked).toBe(`C: AUTH PLAIN ${MASK}\nC: ${MASK}\nerror near ${MASK}`);
    expect(masked).not.toContain(PASSWORD);
  });

  it('deep-masks results and errors and leaves other values alone', () => {
    const record = {
      check: 'smtp',
      durationMs: 12,
      findings: [{ code: 'AUTH_FAILED', message: `535 for ${PASSWORD}` }],
      error: new Error(`boom ${PASSWORD}`),
      ok: true,
    };
    expect(maskSecrets(record, secrets)).toEqual({
      check: 'smtp',
      durationMs: 12,
      findings: [{ code: 'AUTH_FAILED', message: `535 for ${MASK}` }],
      error: { name: 'Error', message: `boom ${MASK}` },
      ok: true,
    });
    expect(record.findings[0]!.message).toContain(PASSWORD);
  });

  it('ignores empty secrets instead of masking between every character', () => {
    expect(redact('abc', [''])).toBe('abc');
  });
});
