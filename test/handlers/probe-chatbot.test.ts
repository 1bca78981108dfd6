/**
 * `alerting.format: chatbot` end to end through the probe handler: a real SMTP server on
 * loopback with an expired certificate, the state in dynalite, and the exact SNS Publish
 * request at the SDK boundary, whose payload must pass the documented Chatbot schema.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHATBOT_LIMITS } from '../../lambdas/engine/alerts/chatbot.js';
import type { SmtpCheckSpec } from '../../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS } from '../../lambdas/engine/context.js';
import { runChecks } from '../../lambdas/engine/run/all.js';
import { ENV } from '../../lambdas/engine/shard/env.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { createProbeHandler } from '../../lambdas/handlers/probe.js';
import { DocumentedChatbotNotification } from '../../testkit/chatbot-schema.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:alerts';
const cw = mockClient(CloudWatchClient);
const snsMock = mockClient(SNSClient);

let pki: TestPki;
let expired: RunningSmtp;
let db: RunningDynalite;
let tables = 0;

beforeAll(async () => {
  pki = await createTestPki();
  expired = await startSmtpServer({ credentials: pki.credentials(await pki.expired()) });
  db = await startDynalite();
});
afterAll(async () => {
  await expired.close();
  await db.close();
});
beforeEach(() => {
  cw.reset();
  snsMock.reset();
  cw.on(PutMetricDataCommand).resolves({});
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

function shard(): ShardEvent {
  const specs: SmtpCheckSpec[] = [
    { check: 'smtp', name: 'expired', host: '127.0.0.1', port: expired.port, tls: 'starttls' },
  ];
  return {
    version: 1,
    shard: 'smtp-5m-1',
    check: 'smtp',
    schedule: 'rate(5 minutes)',
    specs,
    thresholds: DEFAULT_THRESHOLDS,
    allowPrivate: false,
    concurrency: 1,
    alerts: { holdCount: 1 },
  };
}

/** One run of a fresh deployment (its own state table) with this alert format. */
async function publishedBy(format: string | undefined) {
  const table = `chatbot-state-${++tables}`;
  await db.createTable(table);
  const handler = createProbeHandler('smtp', runChecks, {
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    sns: new SNSClient({ region: 'eu-west-1' }),
    dynamodb: db.client,
    env: {
      [ENV.namespace]: 'MailProbe',
      [ENV.stateTableName]: table,
      [ENV.alertTopicArn]: TOPIC,
      [ENV.dashboardName]: 'ops',
      [ENV.queryName]: 'mailprobe/failed',
      AWS_REGION: 'eu-west-1',
      ...(format === undefined ? {} : { [ENV.alertFormat]: format }),
    },
    writeLine: () => {},
    context: { extraCa: [pki.caPem], timeoutMs: 10_000 },
    publisher: { sleep: async () => {}, random: () => 0 },
  });
  const summary = await handler(shard());
  expect(summary.alerts).toMatchObject({ sent: 1, failed: 0 });
  const calls = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
  expect(calls).toHaveLength(1);
  return calls[0]!;
}

describe('probe handler with ALERT_FORMAT=chatbot', () => {
  it('publishes the documented Chatbot custom notification to HTTPS and default subscribers', async () => {
    const input = await publishedBy('chatbot');
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.MessageStructure).toBe('json');
    const envelope = JSON.parse(input.Message!) as Record<string, string>;
    expect(envelope['https']).toBe(envelope['default']);
    const payload: unknown = JSON.parse(envelope['default']!);

    const parsed = DocumentedChatbotNotification.safeParse(payload);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const target = `127.0.0.1:${expired.port}`;
    expect(payload).toMatchObject({
      version: '1.0',
      source: 'custom',
      id: expect.stringMatching(/^smtp#expired#raised#\d{4}-\d\d-\d\dT/),
      content: {
        textType: 'client-markdown',
        title: expect.stringMatching(
          new RegExp(`^:red_circle: \\[CRITICAL\\] smtp expired \\(${target}\\): CERT_EXPIRED`),
        ),
        description: expect.stringMatching(/^\*CERT_EXPIRED\* \(critical\): `/),
        keywords: expect.arrayContaining(['smtp', 'critical', 'CERT_EXPIRED']),
      },
      metadata: {
        threadId: `smtp#${target}`,
        eventType: 'raised',
        relatedResources: [target],
        additionalContext: { check: 'smtp', target, name: 'expired', status: 'critical', previousStatus: 'ok' },
      },
    });
    const { content } = parsed.data!;
    expect(content.title!.length).toBeLessThanOrEqual(CHATBOT_LIMITS.titleChars);
    expect(content.description.length).toBeLessThanOrEqual(CHATBOT_LIMITS.descriptionChars);
    expect(content.nextSteps!.length).toBeGreaterThan(0);
    expect(content.nextSteps!.length).toBeLessThanOrEqual(CHATBOT_LIMITS.nextSteps);

    // E-mail keeps the text with its links; machines keep the result JSON.
    expect(envelope['email']).toMatch(/CERT_EXPIRED/);
    expect(envelope['email']).toMatch(/dashboards\/dashboard\/ops/);
    expect(JSON.parse(envelope['sqs']!)).toMatchObject({ check: 'smtp', name: 'expired', status: 'critical' });
    expect(input.MessageAttributes?.['severity']?.StringValue).toBe('critical');
  });

  it('unset (or any other value): the text alert, with the result JSON as default', async () => {
    for (const format of [undefined, 'text']) {
      snsMock.resetHistory();
      const envelope = JSON.parse((await publishedBy(format)).Message!) as Record<string, string>;
      expect(JSON.parse(envelope['default']!)).toMatchObject({ check: 'smtp', name: 'expired', status: 'critical' });
      expect(envelope['https']).toBe(envelope['sqs']);
    }
  });
});
