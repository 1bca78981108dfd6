/**
 * The deployed flow function across runs: a relay on loopback that queues what it accepts
 * (as an MTA's queue would) and delivers into a real Dovecot when the test says so, the
 * flow log in dynalite, three invocations 15 minutes apart: run 1's send is settled by run 2
 * (Delivered 1, DeliverySeconds), run 2's is never delivered and run 3 declares it lost
 * (Delivered 0, FLOW_NOT_DELIVERED). The token key and the IMAP login come from Secrets
 * Manager (aws-sdk-client-mock); CloudWatch and SNS are mocked at the SDK boundary.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FlowCheckSpec } from '../../lambdas/engine/checks.js';
import { readFlowLog } from '../../lambdas/engine/flow/log-store.js';
import { DnsResolver } from '../../lambdas/engine/net/resolver.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { flowShardEvent } from '../../testkit/flow-shard.js';
import { DynamoStateStore } from '../../lambdas/engine/state/dynamodb.js';
import { createFlowHandler } from '../../lambdas/handlers/flow.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';
import { startDovecot, type DovecotInstance } from '../../testkit/system/dovecot.js';
import { systemRequirements } from '../../testkit/system/requirements.js';

const requirements = systemRequirements('dovecot', 'doveadm');

const KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/flow-key-AbCdEf';
const IMAP_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/imap-GhIjKl';
/** As CDK's generated secret string holds it: 64 letters and digits (read as base64: 48 bytes). */
const KEY_TEXT = 'q7Rz2VbN8xKp4LmW0cTy6HdJ3sFg9AeU1oPiQ5nXrYk7MwZtB2vCj8DlE4hGfS6a';
const FROM = 'probe@send.example.test';
const FIFTEEN_MINUTES = 15 * 60_000;

const cw = mockClient(CloudWatchClient);
const sm = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);

describe.skipIf(requirements.skip)(requirements.title('flow handler across runs'), () => {
  requirements.enforce();

  let pki: TestPki;
  let dovecot: DovecotInstance;
  let relay: RunningSmtp;
  let dns: DnsTestServer;
  let db: RunningDynalite;
  /** What the relay accepted and has not delivered yet. */
  const queue: Buffer[] = [];

  beforeAll(async () => {
    pki = await createTestPki();
    dovecot = await startDovecot({ tls: pki.credentials() });
    relay = await startSmtpServer({ credentials: pki.credentials(), onMessage: (raw) => void queue.push(raw) });
    dns = await startDnsServer({ 'send.example.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] } });
    db = await startDynalite();
  }, 60_000);
  afterAll(async () => {
    await relay?.close();
    await dovecot?.stop();
    await dns?.close();
    await db?.close();
  });
  beforeEach(() => {
    queue.length = 0;
    cw.reset();
    sm.reset();
    snsMock.reset();
    cw.on(PutMetricDataCommand).resolves({});
    sm.on(GetSecretValueCommand, { SecretId: KEY_ARN }).resolves({ SecretString: KEY_TEXT });
    sm.on(GetSecretValueCommand, { SecretId: IMAP_ARN }).resolves({
      SecretString: JSON.stringify({ username: dovecot.user, password: dovecot.password }),
    });
  });

  function shard(): ShardEvent {
    const spec: FlowCheckSpec = {
      check: 'flow',
      name: 'relay-to-inbox',
      via: { host: '127.0.0.1', port: relay.port, tls: 'starttls' },
      from: FROM,
      to: 'probe@in.example.test',
      receive: { imap: { host: '127.0.0.1', port: dovecot.imapsPort, auth: { secretArn: IMAP_ARN } } },
      warnSeconds: 120,
      maxSeconds: 600,
    };
    return flowShardEvent('flow-relay-to-inbox', spec);
  }

  /** The handler with a clock `offsetMs` ahead of real time (Dovecot stamps arrivals in real time). */
  function handlerAt(table: string, offsetMs: number, lines: string[]) {
    return createFlowHandler({
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
      sns: new SNSClient({ region: 'eu-west-1' }),
      secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
      dynamodb: db.client,
      env: { METRIC_NAMESPACE: 'MailProbe', STATE_TABLE_NAME: table, FLOW_KEY_SECRET_ARN: KEY_ARN },
      writeLine: (line) => lines.push(line),
      context: {
        extraCa: [pki.caPem],
        timeoutMs: 10_000,
        resolver: new DnsResolver({ server: dns.server }),
        clock: { now: () => Date.now() + offsetMs },
      },
      publisher: { sleep: async () => {}, random: () => 0 },
    });
  }

  const flowData = (): MetricDatum[] =>
    cw
      .commandCalls(PutMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricData ?? [])
      .filter((d) => d.MetricName === 'Delivered' || d.MetricName === 'DeliverySeconds');
  type Logged = { check?: string; status?: string; delivered?: number; findings?: { code: string }[]; msg?: string };
  const resultLine = (lines: string[]) =>
    lines.map((l) => JSON.parse(l) as Logged).find((l) => l.check === 'flow' && l.msg === undefined)!;

  it("settles run 1's send in run 2 and declares run 2's lost in run 3, through the state table", async () => {
    const table = 'flow-handler-1';
    await db.createTable(table);

    // Run 1: sent and queued at the relay, not delivered yet: pending in the log.
    const lines1: string[] = [];
    const first = await handlerAt(table, 0, lines1)(shard());
    expect(first).toMatchObject({ check: 'flow', checks: 1, ok: 1 });
    expect(queue).toHaveLength(1);
    const store = new DynamoStateStore({ client: db.client, tableName: table, clock: { now: () => Date.now() } });
    const afterRun1 = await readFlowLog(store, 'relay-to-inbox');
    expect(afterRun1.pending).toHaveLength(1);
    expect(resultLine(lines1)).toMatchObject({ status: 'ok', delivered: 1 });

    // The relay delivers run 1's message; run 2 (15 minutes later) finds and settles it.
    dovecot.save(queue.shift()!);
    cw.resetHistory();
    const lines2: string[] = [];
    await handlerAt(table, FIFTEEN_MINUTES, lines2)(shard());
    const run2 = resultLine(lines2) as Logged & { latest?: { token: string; source: string }; waiting?: number };
    expect(run2.latest?.token).toBe(afterRun1.pending[0]!.token);
    expect(run2.latest?.source).toBe('imap');
    expect(run2.waiting).toBe(1);
    const data2 = flowData();
    expect(data2.find((d) => d.MetricName === 'Delivered')).toMatchObject({
      Value: 1,
      Unit: 'Count',
      Dimensions: [
        { Name: 'Check', Value: 'flow' },
        { Name: 'Target', Value: 'relay-to-inbox' },
      ],
    });
    const seconds = data2.find((d) => d.MetricName === 'DeliverySeconds');
    expect(seconds?.Unit).toBe('Seconds');
    expect(seconds?.Value).toBeGreaterThanOrEqual(0);
    // Run 1 sent at real time and Dovecot stamped its arrival in real time: well under the clock offset.
    expect(seconds?.Value).toBeLessThan(FIFTEEN_MINUTES / 1000);

    // Run 2's message is dropped by the relay; run 3 (another 15 minutes, past maxSeconds) declares it lost.
    queue.length = 0;
    cw.resetHistory();
    const lines3: string[] = [];
    const third = await handlerAt(table, 2 * FIFTEEN_MINUTES, lines3)(shard());
    expect(third.critical).toBe(1);
    const run3 = resultLine(lines3);
    expect(run3.findings?.map((f) => f.code)).toContain('FLOW_NOT_DELIVERED');
    expect(flowData().find((d) => d.MetricName === 'Delivered')?.Value).toBe(0);
    // Run 3's own send is the only one still waiting.
    expect((await readFlowLog(store, 'relay-to-inbox')).pending).toHaveLength(1);

    // The key and the mailbox password never reach a log line.
    for (const line of [...lines1, ...lines2, ...lines3]) {
      expect(line).not.toContain(KEY_TEXT);
      expect(line).not.toContain(dovecot.password);
    }
  }, 60_000);

  it('fails the invocation (dead-letter queue, Errors alarm) when the token key is not configured', async () => {
    const table = 'flow-handler-2';
    await db.createTable(table);
    const handler = createFlowHandler({
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
      dynamodb: db.client,
      env: { METRIC_NAMESPACE: 'MailProbe', STATE_TABLE_NAME: table },
      writeLine: () => {},
    });
    await expect(handler(shard())).rejects.toThrow(/FLOW_KEY_SECRET_ARN/);
    expect(queue).toHaveLength(0);
  });

  it('fails when the key secret is too short to be a key, and sends nothing', async () => {
    const table = 'flow-handler-3';
    await db.createTable(table);
    sm.on(GetSecretValueCommand, { SecretId: KEY_ARN }).resolves({ SecretString: 'abcd' });
    const lines: string[] = [];
    await expect(handlerAt(table, 0, lines)(shard())).rejects.toThrow(/at least 32 are needed/);
    expect(queue).toHaveLength(0);
  });
});
