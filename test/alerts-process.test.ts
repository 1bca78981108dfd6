/**
 * processAlerts at the SDK boundary: SNS and CloudWatch are mocked with aws-sdk-client-mock,
 * and CloudWatch behaves like a tiny metric store (PutMetricData is read back by
 * GetMetricData, per minute, Maximum), so the state really travels through the metric.
 */
import {
  CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataResult,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import {
  AuthorizationErrorException,
  InternalErrorException,
  PublishCommand,
  SNSClient,
  ThrottledException,
  type PublishCommandInput,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { finding, type Status } from '../lambdas/engine/findings.js';
import type { AlertableResult } from '../lambdas/engine/alerts/facts.js';
import { SNS_MAX_MESSAGE_BYTES } from '../lambdas/engine/alerts/format.js';
import { processAlerts, type AlertLog, type ProcessAlertsDeps } from '../lambdas/engine/alerts/publish.js';
import { ALERT_STATE_METRIC } from '../lambdas/engine/alerts/store.js';
import { redact } from '../lambdas/engine/secrets.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-23T00:00:00.000Z');
const PASSWORD = 'Tr0ub4dor&3-secret';
const LINKS = { region: 'eu-west-1', dashboardName: 'MailProbe', queryName: 'mailprobe/failed' };

/** CloudWatch as far as the alert store uses it. */
class FakeMetrics {
  readonly points: { key: string; at: number; value: number }[] = [];

  private static key(ns: string | undefined, name: string | undefined, dims: { Name?: string; Value?: string }[] = []) {
    return JSON.stringify([ns, name, dims.map((d) => [d.Name, d.Value])]);
  }

  put(input: PutMetricDataCommandInput) {
    for (const d of input.MetricData ?? []) {
      this.points.push({
        key: FakeMetrics.key(input.Namespace, d.MetricName, d.Dimensions),
        at: d.Timestamp!.getTime(),
        value: d.Value!,
      });
    }
    return {};
  }

  get(input: GetMetricDataCommandInput) {
    const start = input.StartTime!.getTime();
    const end = input.EndTime!.getTime();
    const results: MetricDataResult[] = (input.MetricDataQueries ?? []).map((q) => {
      const stat = q.MetricStat!;
      const key = FakeMetrics.key(stat.Metric!.Namespace, stat.Metric!.MetricName, stat.Metric!.Dimensions);
      const period = stat.Period! * 1000;
      const buckets = new Map<number, number>();
      for (const p of this.points) {
        if (p.key !== key || p.at < start || p.at >= end) continue;
        const bucket = Math.floor(p.at / period) * period;
        buckets.set(bucket, Math.max(buckets.get(bucket) ?? -Infinity, p.value));
      }
      const times = [...buckets.keys()].sort((a, b) => b - a);
      return {
        Id: q.Id,
        Timestamps: times.map((t) => new Date(t)),
        Values: times.map((t) => buckets.get(t)!),
        StatusCode: 'Complete',
      };
    });
    return { MetricDataResults: results };
  }
}

const sns = mockClient(SNSClient);
const cw = mockClient(CloudWatchClient);
let metrics: FakeMetrics;
let logs: Parameters<AlertLog>[0][];

beforeEach(() => {
  sns.reset();
  cw.reset();
  metrics = new FakeMetrics();
  logs = [];
  cw.on(PutMetricDataCommand).callsFake((input: PutMetricDataCommandInput) => metrics.put(input));
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => metrics.get(input));
  sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
});

function relay(status: Status, at: number, extra: Partial<AlertableResult> = {}): AlertableResult {
  const failing = status === 'critical';
  return {
    check: 'smtp',
    target: 'smtp.example.com:587',
    name: 'relay-eu',
    status,
    startedAt: new Date(at).toISOString(),
    durationMs: 250,
    findings: failing
      ? [finding('AUTH_FAILED', `535 5.7.8 Authentication failed for probe (password ${PASSWORD})`, { stage: 'auth' })]
      : [],
    stage: failing ? 'auth' : 'quit',
    completed: !failing,
    ...(failing ? { reply: `535 5.7.8 Authentication credentials invalid: ${PASSWORD}` } : {}),
    ...extra,
  };
}

function deps(now: number, overrides: Partial<ProcessAlertsDeps> = {}): ProcessAlertsDeps {
  return {
    sns: new SNSClient({ region: 'eu-west-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    topicArn: 'arn:aws:sns:eu-west-1:111122223333:mailprobe-alerts',
    namespace: 'MailProbe',
    links: LINKS,
    redact: (text) => redact(text, [PASSWORD]),
    clock: { now: () => now },
    log: (entry) => logs.push(entry),
    retry: { sleep: async () => {} },
    ...overrides,
  };
}

/** Runs processAlerts once per status, `every` apart; returns the summaries. */
async function runSequence(statuses: readonly Status[], every = 5 * MIN, overrides: Partial<ProcessAlertsDeps> = {}) {
  const summaries = [];
  for (const [i, status] of statuses.entries()) {
    const at = T0 + i * every;
    summaries.push(await processAlerts([relay(status, at)], deps(at + 2_000, overrides)));
  }
  return summaries;
}

function published(): PublishCommandInput[] {
  return sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
}

describe('processAlerts: one message per change', () => {
  it('ok -> critical (held) -> critical -> ok sends exactly two messages', async () => {
    const summaries = await runSequence(['ok', 'ok', 'critical', 'critical', 'critical', 'critical', 'ok', 'ok', 'ok']);
    expect(summaries.map((s) => s.sent)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0]);

    const [raised, resolved] = published();
    expect(published()).toHaveLength(2);
    expect(raised!.TopicArn).toBe('arn:aws:sns:eu-west-1:111122223333:mailprobe-alerts');
    expect(raised!.Subject).toBe('[CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED');
    expect(raised!.MessageStructure).toBe('json');
    expect(raised!.MessageAttributes).toEqual({
      severity: { DataType: 'String', StringValue: 'critical' },
      check: { DataType: 'String', StringValue: 'smtp' },
      target: { DataType: 'String', StringValue: 'smtp.example.com:587' },
      code: { DataType: 'String', StringValue: 'AUTH_FAILED' },
      transition: { DataType: 'String', StringValue: 'raised' },
      name: { DataType: 'String', StringValue: 'relay-eu' },
    });
    const envelope = JSON.parse(raised!.Message!) as Record<string, string>;
    expect(Object.keys(envelope).sort()).toEqual(['default', 'email', 'email-json', 'https', 'lambda', 'sms', 'sqs']);
    const body = JSON.parse(envelope['sqs']!) as Record<string, unknown>;
    expect(body).toMatchObject({
      check: 'smtp',
      target: 'smtp.example.com:587',
      status: 'critical',
      transition: 'raised',
      previousStatus: 'ok',
      // The failure began with the first of the two critical runs.
      failingSince: new Date(T0 + 2 * 5 * MIN).toISOString(),
    });
    expect(envelope['email']).toContain('Failing since: 2026-11-23T00:10:00.000Z (5 min)');
    expect(envelope['email']).toContain('Server reply: 535 5.7.8 Authentication credentials invalid: ********');
    expect(envelope['email']).toContain('What to do: The server rejected the credentials (535).');

    expect(resolved!.Subject).toBe('[RESOLVED] smtp relay-eu (smtp.example.com:587): ok again (was critical)');
    expect(resolved!.MessageAttributes!['severity']).toEqual({ DataType: 'String', StringValue: 'ok' });
    expect(resolved!.MessageAttributes!['transition']).toEqual({ DataType: 'String', StringValue: 'resolved' });
    const resolvedBody = JSON.parse((JSON.parse(resolved!.Message!) as Record<string, string>)['https']!);
    expect(resolvedBody).toMatchObject({
      status: 'ok',
      transition: 'resolved',
      previousStatus: 'critical',
      findings: [],
    });

    // One AlertState datapoint per run, in the metrics namespace, with the target's name as dimension.
    const puts = cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(9);
    expect(puts[0]).toMatchObject({
      Namespace: 'MailProbe',
      MetricData: [
        {
          MetricName: ALERT_STATE_METRIC,
          Dimensions: [
            { Name: 'Check', Value: 'smtp' },
            { Name: 'Target', Value: 'relay-eu' },
          ],
          Value: 0,
        },
      ],
    });
  });

  it('sends nothing for a flapping target', async () => {
    const summaries = await runSequence(['ok', 'critical', 'ok', 'critical', 'ok', 'critical', 'ok', 'critical']);
    expect(published()).toEqual([]);
    expect(summaries.every((s) => s.sent === 0 && s.failed === 0 && s.evaluated === 1)).toBe(true);
  });

  it('reminds once a day while critical', async () => {
    const hours = Array.from({ length: 50 }, (): Status => 'critical');
    await runSequence(hours, HOUR);
    expect(published().map((p) => p.Subject)).toEqual([
      '[CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED',
      '[STILL CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED',
      '[STILL CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED',
    ]);
    const reminder = JSON.parse((JSON.parse(published()[1]!.Message!) as Record<string, string>)['lambda']!);
    expect(reminder).toMatchObject({
      transition: 'reminder',
      previousStatus: 'critical',
      failingSince: new Date(T0).toISOString(),
    });
    // Sent at the runs 1 h (the change), 25 h and 49 h after the start.
    const sentAt = published().map(
      (p) => JSON.parse((JSON.parse(p.Message!) as Record<string, string>)['sqs']!).startedAt,
    );
    expect(sentAt).toEqual([T0 + HOUR, T0 + 25 * HOUR, T0 + 49 * HOUR].map((t) => new Date(t).toISOString()));
  });

  it('publishes one message per target when many change in the same run', async () => {
    const fleet = (at: number, status: Status) =>
      Array.from({ length: 20 }, (_, i) =>
        relay(status, at, { name: `relay-${i}`, target: `smtp${i}.example.com:587` }),
      );
    await processAlerts(fleet(T0, 'critical'), deps(T0));
    const summary = await processAlerts(fleet(T0 + 5 * MIN, 'critical'), deps(T0 + 5 * MIN));
    expect(summary).toMatchObject({ evaluated: 20, sent: 20, failed: 0 });
    const targets = published().map((p) => p.MessageAttributes!['name']!.StringValue);
    expect(new Set(targets).size).toBe(20);
    // One PutMetricData per run carries all 20 AlertState datapoints.
    expect(cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.MetricData!.length)).toEqual([20, 20]);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
  });

  it('honours per-target overrides: disabled targets are not even read', async () => {
    await runSequence(['critical', 'critical', 'critical'], 5 * MIN, { policyFor: () => ({ enabled: false }) });
    expect(published()).toEqual([]);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
    await runSequence(['critical', 'critical', 'critical'], 5 * MIN, { policyFor: () => ({ holdCount: 3 }) });
    expect(published()).toHaveLength(1);
    expect(JSON.parse((JSON.parse(published()[0]!.Message!) as Record<string, string>)['sqs']!).startedAt).toBe(
      new Date(T0 + 10 * MIN).toISOString(),
    );
  });
});

describe('processAlerts: failures never break the run', () => {
  it('retries a throttled and a 5xx publish, then succeeds', async () => {
    sns
      .on(PublishCommand)
      .rejectsOnce(new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }))
      .rejectsOnce(new InternalErrorException({ message: 'Internal error', $metadata: { httpStatusCode: 500 } }))
      .resolves({ MessageId: 'msg-2' });
    const delays: number[] = [];
    const summaries = await runSequence(['critical', 'critical'], 5 * MIN, {
      retry: { sleep: async (ms) => void delays.push(ms), random: () => 0.5, baseDelayMs: 100 },
    });
    expect(summaries[1]).toMatchObject({ sent: 1, failed: 0 });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
    // Full jitter: half of 100 ms, then half of 200 ms.
    expect(delays).toEqual([50, 100]);
    expect(logs.filter((l) => l.msg === 'alert publish failed, retrying').map((l) => l['error'])).toEqual([
      'ThrottledException',
      'InternalErrorException',
    ]);
  });

  it('does not retry a denied publish, logs it, and sends the change on the next run', async () => {
    sns
      .on(PublishCommand)
      .rejectsOnce(new AuthorizationErrorException({ message: 'not authorized', $metadata: { httpStatusCode: 403 } }))
      .resolves({ MessageId: 'msg-3' });
    const summaries = await runSequence(['critical', 'critical', 'critical', 'critical']);
    expect(summaries.map((s) => [s.sent, s.failed])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [0, 0],
    ]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
    expect(logs.some((l) => l.level === 'error' && l['error'] === 'AuthorizationErrorException')).toBe(true);
  });

  it('stays silent and resolves when the state cannot be read', async () => {
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('AccessDenied'), { name: 'AccessDeniedException' }));
    const summary = await processAlerts([relay('critical', T0)], deps(T0));
    expect(summary).toMatchObject({ sent: 0, failed: 0, stateError: 'AccessDeniedException' });
    expect(published()).toEqual([]);
  });

  it('resolves with a summary even when a dependency throws', async () => {
    const summary = await processAlerts(
      [relay('critical', T0)],
      deps(T0, {
        policyFor: () => {
          throw new TypeError(`bad override for ${PASSWORD}`);
        },
      }),
    );
    expect(summary).toEqual({ evaluated: 0, sent: 0, failed: 0, alerts: [], stateError: 'TypeError' });
    expect(logs).toEqual([
      { level: 'error', msg: 'alerting failed', error: 'TypeError', errorMessage: 'bad override for ********' },
    ]);
  });

  it('keeps a message with 500 findings under the SNS limit', async () => {
    const findings = Array.from({ length: 500 }, (_, i) =>
      finding('MTASTS_MX_CERT_INVALID', `mx${i}.example.org: certificate expired on 2026-11-20T00:00:00Z`),
    );
    const result = (at: number): AlertableResult => ({
      check: 'mta-sts',
      target: 'example.org',
      status: 'critical',
      startedAt: new Date(at).toISOString(),
      durationMs: 9_000,
      findings,
    });
    await processAlerts([result(T0)], deps(T0));
    await processAlerts([result(T0 + 5 * MIN)], deps(T0 + 5 * MIN));
    const [input] = published();
    const bytes =
      Buffer.byteLength(input!.Subject!) +
      Buffer.byteLength(input!.Message!) +
      Object.entries(input!.MessageAttributes!).reduce(
        (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType!) + Buffer.byteLength(v.StringValue!),
        0,
      );
    expect(bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    const email = (JSON.parse(input!.Message!) as Record<string, string>)['email']!;
    expect(email).toMatch(/… and \d+ more findings/);
    expect(email).toContain('Findings (500):');
  });

  it('never lets a secret into a message or a log line', async () => {
    await runSequence(['critical', 'critical', 'ok', 'ok']);
    expect(published()).toHaveLength(2);
    for (const input of published()) expect(JSON.stringify(input)).not.toContain(PASSWORD);
    expect(JSON.stringify(logs)).not.toContain(PASSWORD);
    expect(published()[0]!.Message).toContain('********');
  });
});
