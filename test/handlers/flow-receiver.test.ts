/**
 * SES receiving end to end, minus SES: the flow function sends through a loopback relay; the
 * test plays SES (the message as received, a Received line prepended, into the S3 stand-in the
 * TLS-RPT tests use, then a receipt event of the documented shape with SES's verdicts); the
 * receiver logs the arrival in dynalite; the flow function's next run, 15 minutes later,
 * settles it from the table: delivered, with SES's verdicts and the findings they make.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FlowCheckSpec } from '../../lambdas/engine/checks.js';
import { readFlowLog } from '../../lambdas/engine/flow/log-store.js';
import { FLOW_INCOMING_PREFIX } from '../../lambdas/engine/flow/ses-event.js';
import { createToken, TOKEN_HEADER } from '../../lambdas/engine/flow/token.js';
import { DnsResolver } from '../../lambdas/engine/net/resolver.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { flowShardEvent } from '../../testkit/flow-shard.js';
import { DynamoStateStore } from '../../lambdas/engine/state/dynamodb.js';
import { createFlowHandler } from '../../lambdas/handlers/flow.js';
import { createFlowReceiverHandler } from '../../lambdas/handlers/flow-receiver.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { fakeAws, type FakeAws } from '../../testkit/fixtures/tlsrpt/fake-aws.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/flow-key-AbCdEf';
const KEY_TEXT = 'Zp3Lq8Vw1Nx6Rt0Yb4Kc7Hm2Js9Fd5Ga8Ue3Wo1Ti6Qr0Xy4Ln7Mb2Vc5Sk9Dh3E';
const RECIPIENT = 'flow@in.example.com';
const FIFTEEN_MINUTES = 15 * 60_000;

const cw = mockClient(CloudWatchClient);
const sm = mockClient(SecretsManagerClient);

function receiptEvent(messageId: string, receivedAt: Date, verdicts: Record<string, string>) {
  const v = (name: string) => ({ status: verdicts[name] ?? 'PASS' });
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          mail: {
            timestamp: receivedAt.toISOString(),
            source: 'probe@send.example.test',
            messageId,
            destination: [RECIPIENT],
            headersTruncated: false,
            headers: [],
            commonHeaders: { from: ['probe@send.example.test'], to: [RECIPIENT] },
          },
          receipt: {
            timestamp: receivedAt.toISOString(),
            processingTimeMillis: 380,
            recipients: [RECIPIENT],
            spamVerdict: v('spam'),
            virusVerdict: v('virus'),
            spfVerdict: v('spf'),
            dkimVerdict: v('dkim'),
            dmarcVerdict: v('dmarc'),
            dmarcPolicy: 'none',
            action: {
              type: 'Lambda',
              functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:flow-receiver',
              invocationType: 'Event',
            },
          },
        },
      },
    ],
  };
}

describe('flow receiver (SES) and the flow run that settles from it', () => {
  let pki: TestPki;
  let relay: RunningSmtp;
  let dns: DnsTestServer;
  let db: RunningDynalite;
  let aws: FakeAws;
  const accepted: Buffer[] = [];

  beforeAll(async () => {
    pki = await createTestPki();
    relay = await startSmtpServer({ credentials: pki.credentials(), onMessage: (raw) => void accepted.push(raw) });
    dns = await startDnsServer({});
    db = await startDynalite();
    aws = fakeAws();
  }, 60_000);
  afterAll(async () => {
    await relay?.close();
    await dns?.close();
    await db?.close();
  });
  beforeEach(() => {
    accepted.length = 0;
    cw.reset();
    sm.reset();
    cw.on(PutMetricDataCommand).resolves({});
    sm.on(GetSecretValueCommand, { SecretId: KEY_ARN }).resolves({ SecretString: KEY_TEXT });
  });

  const env = (table: string) => ({
    METRIC_NAMESPACE: 'MailProbe',
    STATE_TABLE_NAME: table,
    FLOW_KEY_SECRET_ARN: KEY_ARN,
    FLOW_BUCKET: 'flow-bucket',
  });

  function shard(): ShardEvent {
    const spec: FlowCheckSpec = {
      check: 'flow',
      name: 'ses-inbound',
      via: { host: '127.0.0.1', port: relay.port, tls: 'starttls' },
      from: 'probe@send.example.test',
      to: RECIPIENT,
      receive: { ses: { region: 'eu-west-1' } },
    };
    return flowShardEvent('flow-ses-inbound', spec);
  }

  const flowRun = (table: string, offsetMs: number, lines: string[]) =>
    createFlowHandler({
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
      secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
      dynamodb: db.client,
      env: env(table),
      writeLine: (line) => lines.push(line),
      context: {
        extraCa: [pki.caPem],
        timeoutMs: 10_000,
        resolver: new DnsResolver({ server: dns.server }),
        clock: { now: () => Date.now() + offsetMs },
      },
      publisher: { sleep: async () => {}, random: () => 0 },
    })(shard());

  const receiver = (table: string, lines: string[]) =>
    createFlowReceiverHandler({
      s3: aws.s3,
      dynamodb: db.client,
      secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
      env: env(table),
      writeLine: (line) => lines.push(line),
    });

  it('logs the arrival with SES verdicts; the next run reports it delivered with FLOW_SPAM and FLOW_DKIM_FAIL', async () => {
    const table = 'flow-receiver-1';
    await db.createTable(table);

    const lines1: string[] = [];
    await flowRun(table, 0, lines1);
    expect(accepted).toHaveLength(1);
    // SES: stores the message as received (its Received line on top), then invokes the receiver.
    const asReceived = Buffer.concat([
      Buffer.from(
        `Received: from relay.send.example.test (relay.send.example.test [192.0.2.7]) by inbound-smtp.eu-west-1.amazonaws.com with SMTP id ses-msg-1 for ${RECIPIENT}; ${new Date().toUTCString()}\r\n`,
      ),
      accepted[0]!,
    ]);
    aws.objects.set(`${FLOW_INCOMING_PREFIX}ses-msg-1`, { body: asReceived });
    const receiverLines: string[] = [];
    const outcomes = await receiver(
      table,
      receiverLines,
    )(receiptEvent('ses-msg-1', new Date(), { spam: 'FAIL', dkim: 'FAIL' }));
    expect(outcomes).toEqual([{ messageId: 'ses-msg-1', outcome: 'logged', flow: 'ses-inbound' }]);
    const store = new DynamoStateStore({ client: db.client, tableName: table, clock: { now: () => Date.now() } });
    expect((await readFlowLog(store, 'ses-inbound')).arrivals).toHaveLength(1);

    const lines2: string[] = [];
    const summary = await flowRun(table, FIFTEEN_MINUTES, lines2);
    // Arrived (Delivered 1), but SES judged it spam with a failing DKIM signature: critical all the same.
    expect(summary).toMatchObject({ checks: 1, critical: 1 });
    const result = lines2.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['check'] === 'flow')!;
    expect(result['latest']).toMatchObject({
      source: 'ses',
      folder: 'inbox',
      verdicts: { spf: 'pass', dkim: 'fail', dmarc: 'pass', spam: 'fail', virus: 'pass' },
    });
    expect((result['findings'] as { code: string }[]).map((f) => f.code).sort()).toEqual(
      expect.arrayContaining(['FLOW_DKIM_FAIL', 'FLOW_SPAM']),
    );
    const delivered = cw
      .commandCalls(PutMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricData ?? [])
      .filter((d) => d.MetricName === 'Delivered');
    expect(delivered.map((d) => d.Value)).toEqual([1, 1]);
    // The arrival is settled: gone from the log, run 2's own send now pending.
    const after = await readFlowLog(store, 'ses-inbound');
    expect(after.arrivals).toEqual([]);
    expect(after.pending).toHaveLength(1);
    for (const line of [...lines1, ...lines2, ...receiverLines]) expect(line).not.toContain(KEY_TEXT);
  }, 60_000);

  it('ignores mail to the flow address whose token another key made, and logs nothing for it', async () => {
    const table = 'flow-receiver-2';
    await db.createTable(table);
    const forged = createToken(Buffer.alloc(48, 7), 'ses-inbound', Date.now());
    aws.objects.set(`${FLOW_INCOMING_PREFIX}ses-forged`, {
      body: Buffer.from(
        `From: <probe@send.example.test>\r\nTo: <${RECIPIENT}>\r\nSubject: x\r\n${TOKEN_HEADER}: ${forged.value}\r\n\r\nforged\r\n`,
      ),
    });
    const outcomes = await receiver(table, [])(receiptEvent('ses-forged', new Date(), {}));
    expect(outcomes).toEqual([{ messageId: 'ses-forged', outcome: 'ignored' }]);
    const store = new DynamoStateStore({ client: db.client, tableName: table, clock: { now: () => Date.now() } });
    expect((await readFlowLog(store, 'ses-inbound')).arrivals).toEqual([]);
  });

  it('fails the invocation (Lambda retries, then the dead-letter queue) when its bucket is not configured', async () => {
    const handler = createFlowReceiverHandler({ env: { STATE_TABLE_NAME: 't', FLOW_KEY_SECRET_ARN: KEY_ARN } });
    await expect(handler(receiptEvent('x', new Date(), {}))).rejects.toThrow(/FLOW_BUCKET/);
  });
});
