/**
 * processAlerts through the real DynamoDB store (dynalite on loopback), with SNS mocked at
 * the SDK boundary (nothing real can stand in for it): the state really travels through the
 * table between runs.
 */
import {
  AuthorizationErrorException,
  InternalErrorException,
  PublishCommand,
  SNSClient,
  ThrottledException,
  type PublishCommandInput,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finding, type Status } from '../../../lambdas/engine/findings.js';
import type { AlertableResult } from '../../../lambdas/engine/alerts/alert-facts.js';
import { SNS_MAX_MESSAGE_BYTES } from '../../../lambdas/engine/alerts/format.js';
import { processAlerts, type AlertLog, type ProcessAlertsDeps } from '../../../lambdas/engine/alerts/probe-state.js';
import type { Backoff } from '../../../lambdas/engine/aws-retry.js';
import { snsNotifier } from '../../../lambdas/engine/alerts/sns.js';
import { DynamoStateStore } from '../../../lambdas/engine/state/dynamodb.js';
import { redact } from '../../../lambdas/engine/secrets.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-23T00:00:00.000Z');
const PASSWORD = 'Tr0ub4dor&3-secret';
const LINKS = { region: 'eu-west-1', dashboardName: 'MailProbe', queryName: 'mailprobe/failed' };
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:mailprobe-alerts';

const sns = mockClient(SNSClient);
let db: RunningDynalite;
let table = '';
let tables = 0;
let logs: Parameters<AlertLog>[0][];

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  sns.reset();
  db.setFault('none');
  logs = [];
  table = `alerts-process-${++tables}`;
  await db.createTable(table);
  db.requests.length = 0;
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

function deps(now: number, overrides: Partial<ProcessAlertsDeps> = {}, retry: Backoff = {}): ProcessAlertsDeps {
  const log: AlertLog = (entry) => logs.push(entry);
  return {
    store: new DynamoStateStore({
      client: db.client,
      tableName: table,
      clock: { now: () => now },
      sleep: async () => {},
      maxAttempts: 2,
    }),
    notify: snsNotifier({
      client: new SNSClient({ region: 'eu-west-1' }),
      topicArn: TOPIC,
      log,
      sleep: async () => {},
      ...retry,
    }),
    links: LINKS,
    redact: (text) => redact(text, [PASSWORD]),
    clock: { now: () => now },
    log,
    ...overrides,
  };
}

/** Runs processAlerts once per status, `every` apart; returns the summaries. */
async function runSequence(
  statuses: readonly Status[],
  every = 5 * MIN,
  overrides: Partial<ProcessAlertsDeps> = {},
  retry: Backoff = {},
) {
  const summaries = [];
  for (const [i, status] of statuses.entries()) {
    const at = T0 + i * every;
    summaries.push(await processAlerts([relay(status, at)], deps(at + 2_000, overrides, retry)));
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

    // The state after the run: the resolved status since the first ok run, the last notification.
    const stored = await new DynamoStateStore({ client: db.client, tableName: table, clock: { now: () => T0 } }).load([
      { check: 'smtp', target: 'relay-eu' },
    ]);
    expect(stored.states.get('smtp#relay-eu')).toMatchObject({
      version: 9,
      state: {
        status: 'ok',
        since: T0 + 6 * 5 * MIN,
        lastNotification: { kind: 'resolved', at: T0 + 7 * 5 * MIN },
        announced: { status: 'ok', codes: 0, lastSentAt: T0 + 7 * 5 * MIN },
      },
    });
    expect(stored.states.get('smtp#relay-eu')!.state!.runs).toHaveLength(9);
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
    // One BatchGetItem per run for the 20 targets, one conditional PutItem per target.
    expect(db.requests.filter((r) => r === 'BatchGetItem')).toHaveLength(2);
    expect(db.requests.filter((r) => r === 'PutItem')).toHaveLength(40);
  });

  it('honours per-target overrides: disabled targets send nothing', async () => {
    const off = await runSequence(['critical', 'critical', 'critical'], 5 * MIN, {
      policyFor: () => ({ enabled: false }),
    });
    expect(published()).toEqual([]);
    expect(off.map((s) => s.evaluated)).toEqual([0, 0, 0]);
    table = `alerts-process-${++tables}`;
    await db.createTable(table);
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
    const summaries = await runSequence(
      ['critical', 'critical'],
      5 * MIN,
      {},
      { sleep: async (ms) => void delays.push(ms), random: () => 0.5, baseDelayMs: 100 },
    );
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

  it('stays silent and resolves when the table is unreachable, and loses nothing stored', async () => {
    await runSequence(['critical', 'critical']);
    expect(published()).toHaveLength(1);
    db.setFault('down');
    const summary = await processAlerts([relay('ok', T0 + 10 * MIN)], deps(T0 + 10 * MIN));
    const again = await processAlerts([relay('ok', T0 + 15 * MIN)], deps(T0 + 15 * MIN));
    expect(summary).toMatchObject({ evaluated: 1, sent: 0, failed: 0, stateUnavailable: 1 });
    expect(again).toMatchObject({ sent: 0, stateUnavailable: 1 });
    expect(published()).toHaveLength(1);
    expect(
      logs.filter((l) => l.msg === 'state could not be read; no notifications for these targets this run'),
    ).toHaveLength(2);
    db.setFault('none');
    // Back up: the stored state (critical, announced) is intact, so the recovery is announced after its hold.
    await processAlerts([relay('ok', T0 + 20 * MIN)], deps(T0 + 20 * MIN));
    const back = await processAlerts([relay('ok', T0 + 25 * MIN)], deps(T0 + 25 * MIN));
    expect(back).toMatchObject({ sent: 1, stateUnavailable: 0 });
    expect(published().map((p) => p.MessageAttributes!['transition']!.StringValue)).toEqual(['raised', 'resolved']);
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
    expect(summary).toEqual({
      evaluated: 0,
      sent: 0,
      failed: 0,
      changes: 0,
      conflicts: 0,
      stateUnavailable: 0,
      corrupt: 0,
      alerts: [],
      stateError: 'TypeError',
    });
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
