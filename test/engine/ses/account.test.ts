import {
  GetAccountSendingEnabledCommand,
  GetIdentityDkimAttributesCommand,
  GetIdentityVerificationAttributesCommand,
  GetSendQuotaCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SesAccountCheckSpec } from '../../../lambdas/engine/checks.js';
import { createContext } from '../../../lambdas/engine/context.js';
import { SES_ACCOUNT_IAM_ACTIONS, runSesAccountCheck } from '../../../lambdas/engine/ses/account.js';
import { SES_API_ERROR_CODE } from '../../../lambdas/engine/ses/api-errors.js';

const client = new SESClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
});
const ses = mockClient(client);
const ctx = createContext({ timeoutMs: 10_000, clock: { now: () => Date.parse('2026-11-23T12:00:00Z') } });
const spec = (extra: Partial<SesAccountCheckSpec> = {}): SesAccountCheckSpec => ({
  check: 'ses-account',
  name: 'ses-eu',
  region: 'eu-west-1',
  ...extra,
});

function awsError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

function production(): void {
  ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: true });
  ses.on(GetSendQuotaCommand).resolves({ Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 1_000 });
}

beforeEach(() => ses.reset());

describe('runSesAccountCheck: account', () => {
  it('reports a healthy production account with no findings', async () => {
    production();
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result).toMatchObject({
      check: 'ses-account',
      target: 'eu-west-1',
      name: 'ses-eu',
      region: 'eu-west-1',
      status: 'ok',
      sendingEnabled: true,
      quota: { max24HourSend: 50_000, sentLast24Hours: 1_000, maxSendRate: 14, usedPercent: 2 },
      sandboxSuspected: false,
      identities: [],
      apiErrors: [],
      findings: [],
      startedAt: '2026-11-23T12:00:00.000Z',
    });
    // No identities configured: the identity calls are not made at all.
    expect(ses.commandCalls(GetIdentityVerificationAttributesCommand)).toHaveLength(0);
  });

  it('flags disabled sending as critical', async () => {
    ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: false });
    ses.on(GetSendQuotaCommand).resolves({ Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 0 });
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual([['SES_SENDING_DISABLED', 'critical']]);
    expect(result.status).toBe('critical');
  });

  it.each([
    [{ Max24HourSend: 1000, SentLast24Hours: 850, MaxSendRate: 10 }, undefined, 85, [['SES_QUOTA_HIGH', 'warning']]],
    [{ Max24HourSend: 1000, SentLast24Hours: 799, MaxSendRate: 10 }, undefined, 79.9, []],
    [{ Max24HourSend: 1000, SentLast24Hours: 1000, MaxSendRate: 10 }, undefined, 100, [['SES_QUOTA_HIGH', 'critical']]],
    [{ Max24HourSend: 1000, SentLast24Hours: 500, MaxSendRate: 10 }, 50, 50, [['SES_QUOTA_HIGH', 'warning']]],
    [{ Max24HourSend: -1, SentLast24Hours: 123456, MaxSendRate: 500 }, undefined, null, []],
    [{ Max24HourSend: 0, SentLast24Hours: 0, MaxSendRate: 0 }, undefined, null, []],
  ] as const)('quota %j (warn at %s%%) → %s%% used', async (quota, quotaWarnPercent, usedPercent, expected) => {
    ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: true });
    ses.on(GetSendQuotaCommand).resolves(quota);
    const result = await runSesAccountCheck(spec(quotaWarnPercent === undefined ? {} : { quotaWarnPercent }), ctx, {
      client,
    });
    expect(result.quota?.usedPercent).toBe(usedPercent);
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual(expected);
  });

  it('suspects the sandbox from a 200/day, 1/s quota (info, status stays ok)', async () => {
    ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: true });
    ses.on(GetSendQuotaCommand).resolves({ Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 3 });
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.sandboxSuspected).toBe(true);
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual([['SES_SANDBOX', 'info']]);
    expect(result.findings[0]!.message).toContain('200 messages per 24 hours at 1 per second');
    expect(result.status).toBe('ok');
  });

  it.each([
    { Max24HourSend: 200, MaxSendRate: 2, SentLast24Hours: 0 },
    { Max24HourSend: 50_000, MaxSendRate: 1, SentLast24Hours: 0 },
  ])('does not suspect the sandbox from %j', async (quota) => {
    ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: true });
    ses.on(GetSendQuotaCommand).resolves(quota);
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.sandboxSuspected).toBe(false);
    expect(result.findings).toEqual([]);
  });

  it('treats answers without their fields as unknown, not as failures', async () => {
    ses.on(GetAccountSendingEnabledCommand).resolves({});
    ses.on(GetSendQuotaCommand).resolves({ MaxSendRate: 14 });
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.sendingEnabled).toBeNull();
    expect(result.quota).toBeNull();
    expect(result.sandboxSuspected).toBeNull();
    expect(result.findings).toEqual([]);
  });
});

describe('runSesAccountCheck: identities', () => {
  it('reads verification and DKIM status, asking for the domains of addresses too', async () => {
    production();
    ses.on(GetIdentityVerificationAttributesCommand).resolves({
      VerificationAttributes: {
        'example.com': { VerificationStatus: 'Success' },
        'pending.example': { VerificationStatus: 'Pending' },
        'failed.example': { VerificationStatus: 'Failed' },
        'alerts@other.example': { VerificationStatus: 'Success' },
      },
    });
    ses.on(GetIdentityDkimAttributesCommand).resolves({
      DkimAttributes: {
        'example.com': { DkimEnabled: true, DkimVerificationStatus: 'Success' },
        'alerts@other.example': { DkimEnabled: true, DkimVerificationStatus: 'NotStarted' },
        'other.example': { DkimEnabled: true, DkimVerificationStatus: 'Pending' },
      },
    });
    const identities = [
      'example.com',
      'probe@example.com',
      'pending.example',
      'failed.example',
      'missing.example',
      'alerts@other.example',
    ];
    const result = await runSesAccountCheck(spec({ identities }), ctx, { client });

    const asked = ses.commandCalls(GetIdentityVerificationAttributesCommand)[0]!.args[0].input.Identities;
    expect([...asked!].sort()).toEqual([...identities, 'other.example'].sort());

    expect(result.identities).toEqual([
      { identity: 'example.com', verificationStatus: 'Success', dkimVerificationStatus: 'Success', dkimEnabled: true },
      {
        identity: 'probe@example.com',
        verificationStatus: 'Success',
        verifiedVia: 'example.com',
        dkimVerificationStatus: 'Success',
        dkimEnabled: true,
      },
      { identity: 'pending.example', verificationStatus: 'Pending', dkimVerificationStatus: 'NotFound' },
      { identity: 'failed.example', verificationStatus: 'Failed', dkimVerificationStatus: 'NotFound' },
      { identity: 'missing.example', verificationStatus: 'NotFound', dkimVerificationStatus: 'NotFound' },
      {
        identity: 'alerts@other.example',
        verificationStatus: 'Success',
        dkimVerificationStatus: 'Pending',
        dkimEnabled: true,
      },
    ]);
    expect(result.findings.map((f) => [f.code, f.severity, f.message])).toEqual([
      // Worst first (the result builder sorts; the dashboard groups by findings.0.code).
      ['SES_IDENTITY_UNVERIFIED', 'critical', 'failed.example has verification status Failed in eu-west-1.'],
      ['SES_IDENTITY_UNVERIFIED', 'critical', 'missing.example is not an SES identity in eu-west-1.'],
      ['SES_IDENTITY_UNVERIFIED', 'warning', 'pending.example has verification status Pending in eu-west-1.'],
      ['SES_DKIM_NOT_VERIFIED', 'warning', 'DKIM of alerts@other.example has status Pending in eu-west-1.'],
    ]);
    expect(result.status).toBe('critical');
  });

  it('reports DKIM signing switched off', async () => {
    production();
    ses.on(GetIdentityVerificationAttributesCommand).resolves({
      VerificationAttributes: { 'example.com': { VerificationStatus: 'Success' } },
    });
    ses.on(GetIdentityDkimAttributesCommand).resolves({
      DkimAttributes: { 'example.com': { DkimEnabled: false, DkimVerificationStatus: 'Success' } },
    });
    const result = await runSesAccountCheck(spec({ identities: ['example.com'] }), ctx, { client });
    expect(result.findings.map((f) => [f.code, f.message])).toEqual([
      ['SES_DKIM_NOT_VERIFIED', 'DKIM signing is disabled for example.com in eu-west-1.'],
    ]);
  });

  it('splits more than 100 identities into calls of at most 100', async () => {
    production();
    ses.on(GetIdentityVerificationAttributesCommand).callsFake((input: { Identities: string[] }) => ({
      VerificationAttributes: Object.fromEntries(input.Identities.map((id) => [id, { VerificationStatus: 'Success' }])),
    }));
    ses.on(GetIdentityDkimAttributesCommand).callsFake((input: { Identities: string[] }) => ({
      DkimAttributes: Object.fromEntries(
        input.Identities.map((id) => [id, { DkimEnabled: true, DkimVerificationStatus: 'Success' }]),
      ),
    }));
    const identities = Array.from({ length: 150 }, (_, i) => `d${i}.example`);
    const result = await runSesAccountCheck(spec({ identities }), ctx, { client });
    const sizes = ses
      .commandCalls(GetIdentityVerificationAttributesCommand)
      .map((c) => c.args[0].input.Identities!.length);
    expect(sizes).toEqual([100, 50]);
    expect(ses.commandCalls(GetIdentityDkimAttributesCommand)).toHaveLength(2);
    expect(result.identities).toHaveLength(150);
    expect(result.findings).toEqual([]);
  });
});

describe('runSesAccountCheck: API failures become findings', () => {
  it('throttling on one call: a warning, and the other answers are still used', async () => {
    ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: false });
    ses.on(GetSendQuotaCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.quota).toBeNull();
    expect(result.apiErrors).toEqual([
      { operation: 'GetSendQuota', kind: 'throttled', errorName: 'Throttling', message: 'Rate exceeded' },
    ]);
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual([
      ['SES_SENDING_DISABLED', 'critical'],
      [SES_API_ERROR_CODE, 'warning'],
    ]);
    expect(result.findings[1]!.message).toContain('GetSendQuota; Throttling: Rate exceeded');
  });

  it('access denied on every call: one critical finding naming the operations and the IAM actions to grant', async () => {
    const denied = awsError('AccessDenied', 'User is not authorized to perform ses:GetSendQuota');
    ses.on(GetAccountSendingEnabledCommand).rejects(denied);
    ses.on(GetSendQuotaCommand).rejects(denied);
    ses.on(GetIdentityVerificationAttributesCommand).rejects(denied);
    ses.on(GetIdentityDkimAttributesCommand).rejects(denied);
    const result = await runSesAccountCheck(spec({ identities: ['example.com'] }), ctx, { client });
    expect(result.status).toBe('critical');
    expect(result.findings).toHaveLength(1);
    const [f] = result.findings;
    expect(f!.code).toBe(SES_API_ERROR_CODE);
    expect(f!.message).toContain(
      'GetAccountSendingEnabled, GetSendQuota, GetIdentityVerificationAttributes, GetIdentityDkimAttributes',
    );
    for (const action of SES_ACCOUNT_IAM_ACTIONS) expect(f!.hint).toContain(action);
    // Unknown, not unverified: an IAM problem must not read as an identity problem.
    expect(result.identities).toEqual([
      { identity: 'example.com', verificationStatus: 'Unknown', dkimVerificationStatus: 'Unknown' },
    ]);
  });

  it('an unreachable API endpoint maps to the network code', async () => {
    const offline = Object.assign(new Error('getaddrinfo ENOTFOUND email.eu-west-1.amazonaws.com'), {
      code: 'ENOTFOUND',
    });
    ses.on(GetAccountSendingEnabledCommand).rejects(offline);
    ses.on(GetSendQuotaCommand).rejects(offline);
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.findings.map((f) => f.code)).toEqual(['DNS_ERROR']);
    expect(result.apiErrors.map((e) => e.kind)).toEqual(['network', 'network']);
  });

  it('missing AWS credentials are reported, not thrown', async () => {
    ses.on(GetAccountSendingEnabledCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials'));
    ses.on(GetSendQuotaCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials'));
    const result = await runSesAccountCheck(spec(), ctx, { client });
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual([[SES_API_ERROR_CODE, 'critical']]);
  });

  it('a call that never answers ends at the deadline with DEADLINE_EXCEEDED, passing the abort signal to the SDK', async () => {
    ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: true });
    ses.on(GetSendQuotaCommand).callsFake(() => new Promise(() => undefined));
    const settled = runSesAccountCheck(spec({ timeoutMs: 200 }), ctx, { client });
    const bound = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000));
    const result = await Promise.race([settled, bound]);
    expect(result).not.toBe('timeout');
    if (result === 'timeout') return;
    expect(result.sendingEnabled).toBe(true);
    expect(result.findings.map((f) => f.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(result.apiErrors).toMatchObject([{ operation: 'GetSendQuota', kind: 'deadline' }]);
    const options = (ses.commandCalls(GetSendQuotaCommand)[0]!.args as unknown[])[1] as { abortSignal: AbortSignal };
    expect(options.abortSignal).toBeInstanceOf(AbortSignal);
    expect(options.abortSignal.aborted).toBe(true);
  });

  it('calls SES one operation at a time (its non-sending API allows about one call per second)', async () => {
    const events: string[] = [];
    const slow = (name: string, answer: object) => async () => {
      events.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${name}`);
      return answer;
    };
    ses.on(GetAccountSendingEnabledCommand).callsFake(slow('enabled', { Enabled: true }));
    ses.on(GetSendQuotaCommand).callsFake(slow('quota', { Max24HourSend: 10, MaxSendRate: 1, SentLast24Hours: 0 }));
    ses.on(GetIdentityVerificationAttributesCommand).callsFake(slow('verification', { VerificationAttributes: {} }));
    ses.on(GetIdentityDkimAttributesCommand).callsFake(slow('dkim', { DkimAttributes: {} }));
    await runSesAccountCheck(spec({ identities: ['example.com'] }), ctx, { client });
    expect(events).toEqual([
      'start enabled',
      'end enabled',
      'start quota',
      'end quota',
      'start verification',
      'end verification',
      'start dkim',
      'end dkim',
    ]);
  });

  it('after the deadline the remaining calls are not made and are reported with it', async () => {
    ses.on(GetAccountSendingEnabledCommand).callsFake(() => new Promise(() => undefined));
    const result = await runSesAccountCheck(spec({ timeoutMs: 100, identities: ['example.com'] }), ctx, { client });
    expect(ses.commandCalls(GetSendQuotaCommand)).toHaveLength(0);
    expect(result.apiErrors.map((e) => [e.operation, e.kind])).toEqual([
      ['GetAccountSendingEnabled', 'deadline'],
      ['GetSendQuota', 'deadline'],
      ['GetIdentityVerificationAttributes', 'deadline'],
      ['GetIdentityDkimAttributes', 'deadline'],
    ]);
    expect(result.findings.map((f) => f.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(result.identities[0]!.verificationStatus).toBe('Unknown');
  });
});
