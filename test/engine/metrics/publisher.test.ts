import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { finding } from '../../../lambdas/engine/findings.js';
import type { Datum } from '../../../lambdas/engine/metrics/definitions.js';
import { datumsFromResult, earliestCertDays } from '../../../lambdas/engine/metrics/from-result.js';
import { isRetryable } from '../../../lambdas/engine/aws-retry.js';
import { batch, publishMetrics, toEmfLines } from '../../../lambdas/engine/metrics/publisher.js';
import type { BaseResult } from '../../../lambdas/engine/result.js';

const cw = mockClient(CloudWatchClient);
beforeEach(() => cw.reset());

const at = new Date('2026-11-23T12:00:00.000Z');

function datum(target: string, metric: Datum['metric'] = 'Success', value = 1): Datum {
  return { metric, value, dimensions: { Check: 'smtp', Target: target }, timestamp: at };
}

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('datumsFromResult', () => {
  const base: BaseResult = {
    check: 'tls',
    target: 'smtp.example.com:587',
    name: 'relay',
    status: 'warning',
    startedAt: at.toISOString(),
    durationMs: 812,
    findings: [
      finding('CERT_EXPIRING', 'expires in 20 days'),
      finding('SES_SANDBOX', 'sandbox'),
      finding('DH_WEAK', '1024 bits'),
    ],
  };

  it('maps a tls result to Success, Duration, FindingCount, CertDaysToExpiry (earliest in chain) and DhKeyBits', () => {
    const result = {
      ...base,
      certificate: { subject: 'CN=leaf', notAfter: '2027-05-01T00:00:00Z', daysToExpiry: 159 },
      chain: [
        { subject: 'CN=leaf', notAfter: '2027-05-01T00:00:00Z', daysToExpiry: 159 },
        { subject: 'CN=intermediate', notAfter: '2026-12-13T00:00:00Z', daysToExpiry: 20 },
      ],
      dh: { bits: 1024 },
    };
    const dims = { Check: 'tls', Target: 'relay' };
    expect(datumsFromResult(result)).toEqual([
      { metric: 'Success', value: 1, dimensions: dims, timestamp: at },
      { metric: 'Duration', value: 812, dimensions: dims, timestamp: at },
      { metric: 'FindingCount', value: 2, dimensions: dims, timestamp: at },
      { metric: 'CertDaysToExpiry', value: 20, dimensions: dims, timestamp: at },
      { metric: 'DhKeyBits', value: 1024, dimensions: dims, timestamp: at },
    ]);
  });

  it('publishes no DhKeyBits when the server offers no DHE suite (issue 24), and Success 0 when critical', () => {
    for (const dh of [{ supported: false }, { bits: 0 }]) {
      const result = { ...base, status: 'critical' as const, dh };
      const byMetric = Object.fromEntries(datumsFromResult(result).map((d) => [d.metric, d.value]));
      expect(byMetric).toEqual({ Success: 0, Duration: 812, FindingCount: 2 });
    }
  });

  it('takes the earliest certificate across the policy host and every MX of an mta-sts result', () => {
    const result = {
      ...base,
      check: 'mta-sts' as const,
      // The MtaStsResult shape: the policy host's session and one session per MX.
      policyHost: {
        host: 'mta-sts.example.com',
        daysToExpiry: 61,
        tls: { earliestExpiry: { subject: 'CN=mta-sts', notAfter: 'x', daysToExpiry: 61 } },
      },
      mx: [
        { host: 'mx1', tls: { earliestExpiry: { subject: 'CN=mx1', notAfter: 'x', daysToExpiry: 44 } } },
        { host: 'mx2', tls: { earliestExpiry: { subject: 'CN=mx2', notAfter: 'x', daysToExpiry: -3 } } },
      ],
    };
    expect(earliestCertDays(result)).toBe(-3);
    expect(datumsFromResult(result).map((d) => d.metric)).toEqual([
      'Success',
      'Duration',
      'FindingCount',
      'CertDaysToExpiry',
    ]);
  });

  it('adds QuotaUsedPercent for ses-account and uses the target when there is no name', () => {
    const { name: _name, ...unnamed } = base;
    const result = {
      ...unnamed,
      check: 'ses-account' as const,
      target: 'eu-west-1',
      quota: { sentLast24Hours: 4100, max24HourSend: 50000 },
    };
    const quota = datumsFromResult(result).find((d) => d.metric === 'QuotaUsedPercent');
    expect(quota).toEqual({
      metric: 'QuotaUsedPercent',
      value: 8.2,
      dimensions: { Check: 'ses-account', Target: 'eu-west-1' },
      timestamp: at,
    });
  });
});

describe('publishMetrics', () => {
  it('sends the exact PutMetricData request', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const report = await publishMetrics([datum('relay'), datum('relay', 'Duration', 250)], {
      client: new CloudWatchClient({}),
      namespace: 'MailProbe',
    });
    expect(cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input)).toEqual([
      {
        Namespace: 'MailProbe',
        MetricData: [
          {
            MetricName: 'Success',
            Dimensions: [
              { Name: 'Check', Value: 'smtp' },
              { Name: 'Target', Value: 'relay' },
            ],
            Timestamp: at,
            Value: 1,
            Unit: 'Count',
            StorageResolution: 60,
          },
          {
            MetricName: 'Duration',
            Dimensions: [
              { Name: 'Check', Value: 'smtp' },
              { Name: 'Target', Value: 'relay' },
            ],
            Timestamp: at,
            Value: 250,
            Unit: 'Milliseconds',
            StorageResolution: 60,
          },
        ],
      },
    ]);
    expect(report).toEqual({ datums: 2, requests: 1, retries: 0, published: 2, emfFallback: 0, errors: [] });
  });

  it('splits into requests of at most 1,000 datums', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const datums = Array.from({ length: 2500 }, (_, i) => datum(`t${i}`));
    const report = await publishMetrics(datums, { client: new CloudWatchClient({}), namespace: 'MailProbe' });
    expect(cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.MetricData!.length)).toEqual([
      1000, 1000, 500,
    ]);
    expect(report.published).toBe(2500);
  });

  it('splits by size before 1 MB when the datums are large', () => {
    const longName = 'x'.repeat(1000);
    const batches = batch(Array.from({ length: 1000 }, (_, i) => datum(`${longName}-${i}`)));
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(JSON.stringify(b).length).toBeLessThan(1_000_000);
    expect(batches.flat()).toHaveLength(1000);
  });

  it('retries throttling and 5xx with exponential backoff and full jitter, then succeeds', async () => {
    cw.on(PutMetricDataCommand)
      .rejectsOnce(awsError('Throttling', 400))
      .rejectsOnce(awsError('InternalServiceFault', 500))
      .resolves({});
    const sleeps: number[] = [];
    const lines: string[] = [];
    const report = await publishMetrics([datum('relay')], {
      client: new CloudWatchClient({}),
      namespace: 'MailProbe',
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
      writeLine: (l) => lines.push(l),
    });
    expect(sleeps).toEqual([50, 100]);
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(3);
    expect(report).toEqual({ datums: 1, requests: 3, retries: 2, published: 1, emfFallback: 0, errors: [] });
    expect(lines).toEqual([]);
  });

  it('writes EMF log lines when retries are exhausted, and says so', async () => {
    cw.on(PutMetricDataCommand).rejects(awsError('Throttling', 400));
    const lines: string[] = [];
    const report = await publishMetrics([datum('relay'), datum('relay', 'CertDaysToExpiry', 12)], {
      client: new CloudWatchClient({}),
      namespace: 'Custom/Mail',
      sleep: async () => {},
      writeLine: (l) => lines.push(l),
    });
    expect(report).toEqual({
      datums: 2,
      requests: 4,
      retries: 3,
      published: 0,
      emfFallback: 2,
      errors: ['Throttling (HTTP 400) after 4 attempts'],
    });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        _aws: {
          Timestamp: at.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'Custom/Mail',
              Dimensions: [['Check', 'Target']],
              Metrics: [
                { Name: 'Success', Unit: 'Count' },
                { Name: 'CertDaysToExpiry', Unit: 'None' },
              ],
            },
          ],
        },
        Check: 'smtp',
        Target: 'relay',
        Success: 1,
        CertDaysToExpiry: 12,
      },
    ]);
  });

  it('does not retry a client error (e.g. AccessDenied) and falls back at once', async () => {
    cw.on(PutMetricDataCommand).rejects(awsError('AccessDeniedException', 403));
    const lines: string[] = [];
    const report = await publishMetrics([datum('relay')], {
      client: new CloudWatchClient({}),
      namespace: 'MailProbe',
      writeLine: (l) => lines.push(l),
    });
    expect(report.requests).toBe(1);
    expect(report.errors).toEqual(['AccessDeniedException (HTTP 403) after 1 attempt']);
    expect(lines).toHaveLength(1);
  });

  it('classifies errors', () => {
    expect(isRetryable(awsError('ThrottlingException', 400))).toBe(true);
    expect(isRetryable(awsError('ServiceUnavailable', 503))).toBe(true);
    expect(isRetryable(awsError('InvalidParameterValue', 400))).toBe(false);
    expect(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('splits EMF documents at 100 metrics', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ ...datum('relay'), metric: 'Success' as const, value: i }));
    expect(toEmfLines('MailProbe', many)).toHaveLength(2);
  });
});
