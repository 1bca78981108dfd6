/**
 * The ses-account handler at the SDK boundary: SES answers are mocked (the check's only
 * I/O is the SES API), and the exact metrics reach PutMetricData, QuotaUsedPercent included.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  GetAccountSendingEnabledCommand,
  GetIdentityDkimAttributesCommand,
  GetIdentityVerificationAttributesCommand,
  GetSendQuotaCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../lambdas/engine/context.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { runChecks } from '../../lambdas/engine/run/all.js';
import { createProbeHandler } from '../../lambdas/handlers/probe.js';

const cw = mockClient(CloudWatchClient);
const ses = mockClient(SESClient);

beforeEach(() => {
  cw.reset();
  ses.reset();
  cw.on(PutMetricDataCommand).resolves({});
  ses.on(GetAccountSendingEnabledCommand).resolves({ Enabled: true });
  ses.on(GetSendQuotaCommand).resolves({ Max24HourSend: 50_000, SentLast24Hours: 45_000, MaxSendRate: 14 });
  ses.on(GetIdentityVerificationAttributesCommand).resolves({
    VerificationAttributes: { 'example.com': { VerificationStatus: 'Success' } },
  });
  ses.on(GetIdentityDkimAttributesCommand).resolves({
    DkimAttributes: { 'example.com': { DkimEnabled: true, DkimVerificationStatus: 'Success' } },
  });
});

const event: ShardEvent = {
  version: 1,
  shard: 'ses-account-6h-1',
  check: 'ses-account',
  schedule: 'rate(6 hours)',
  specs: [{ check: 'ses-account', name: 'ses-eu', region: 'eu-west-1', identities: ['example.com'] }],
  thresholds: DEFAULT_THRESHOLDS,
  allowPrivate: false,
  concurrency: 1,
};

describe('ses-account handler', () => {
  it('publishes QuotaUsedPercent with the other metrics, and a warning for a quota 90 % used', async () => {
    const lines: string[] = [];
    const handler = createProbeHandler('ses-account', runChecks, {
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
      env: { METRIC_NAMESPACE: 'Mail/Probes' },
      writeLine: (l) => lines.push(l),
    });
    const summary = await handler(event);
    expect(summary).toMatchObject({ checks: 1, ok: 0, warning: 1, critical: 0 });
    const result = JSON.parse(lines[0]!) as { findings: { code: string }[] };
    expect(result.findings.map((f) => f.code)).toEqual(['SES_QUOTA_HIGH']);

    const input = cw.commandCalls(PutMetricDataCommand)[0]!.args[0].input;
    expect(input.Namespace).toBe('Mail/Probes');
    expect(input.MetricData!.map((d) => [d.MetricName, d.Value, d.Unit])).toEqual([
      ['Success', 1, 'Count'],
      ['Duration', expect.any(Number), 'Milliseconds'],
      ['FindingCount', 1, 'Count'],
      ['QuotaUsedPercent', 90, 'Percent'],
    ]);
    expect(input.MetricData![0]!.Dimensions).toEqual([
      { Name: 'Check', Value: 'ses-account' },
      { Name: 'Target', Value: 'ses-eu' },
    ]);
  });
});
