/**
 * SES receiving: a receipt event of the documented shape, the message in the S3 stand-in,
 * the flow's log in dynalite; then the flow's settle step reads it back from the same table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createToken, TOKEN_HEADER } from '../../../lambdas/engine/flow/token.js';
import { receiveFlowMail, s3ObjectGetter } from '../../../lambdas/engine/flow/ses-receiver.js';
import { arrivalFindings } from '../../../lambdas/engine/flow/arrival.js';
import {
  assertSesReceivingRegion,
  FLOW_INCOMING_PREFIX,
  MAX_SES_MESSAGE_BYTES,
  readReceiptEvent,
} from '../../../lambdas/engine/flow/ses-event.js';
import { readFlowLog, updateFlowLog } from '../../../lambdas/engine/flow/log-store.js';
import { DynamoStateStore } from '../../../lambdas/engine/state/dynamodb.js';
import { buildTestMessage } from '../../../lambdas/engine/smtp/message.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';
import { fakeAws, type FakeAws } from '../../../testkit/fixtures/tlsrpt/fake-aws.js';

const key = Buffer.alloc(32, 3);
const SENT = Date.parse('2026-12-05T14:00:00Z');

function receiptEvent(messageId: string, verdicts: Record<string, string> = {}) {
  const v = (name: string) => ({ status: verdicts[name] ?? 'PASS' });
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          mail: {
            timestamp: '2026-12-05T14:00:09.000Z',
            source: 'probe@send.example.com',
            messageId,
            destination: ['flow@in.example.com'],
            headersTruncated: false,
            headers: [],
            commonHeaders: { from: ['probe@send.example.com'], to: ['flow@in.example.com'] },
          },
          receipt: {
            timestamp: '2026-12-05T14:00:09.500Z',
            processingTimeMillis: 420,
            recipients: ['flow@in.example.com'],
            spamVerdict: v('spam'),
            virusVerdict: v('virus'),
            spfVerdict: v('spf'),
            dkimVerdict: v('dkim'),
            dmarcVerdict: v('dmarc'),
            dmarcPolicy: 'reject',
            action: {
              type: 'Lambda',
              functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:flow',
              invocationType: 'Event',
            },
          },
        },
      },
    ],
  };
}

function mime(tokenValue: string, received: string[] = []): Buffer {
  const body = buildTestMessage({
    from: 'probe@send.example.com',
    to: 'flow@in.example.com',
    target: 'flow',
    date: new Date(SENT),
    headers: [[TOKEN_HEADER, tokenValue]],
  }).data;
  return Buffer.from([...received.map((r) => `Received: ${r}`), body].join('\r\n'));
}

describe('SES receiving', () => {
  let db: RunningDynalite;
  let aws: FakeAws;
  let store: DynamoStateStore;

  beforeAll(async () => {
    db = await startDynalite();
    await db.createTable('flow-state');
    store = new DynamoStateStore({ client: db.client, tableName: 'flow-state', clock: { now: () => Date.now() } });
    aws = fakeAws();
  });
  afterAll(async () => {
    await db.close();
  });

  const deps = () => ({
    key,
    store,
    getObject: s3ObjectGetter(aws.s3, 'bucket'),
    now: () => SENT + 10_000,
  });

  it('logs an arrival with SES verdicts and the Received chain; the flow settles it from the table', async () => {
    const token = createToken(key, 'ses-flow', SENT);
    await updateFlowLog(store, 'ses-flow', SENT, (log) => ({
      log: { ...log, pending: [{ token: token.value, sentAt: SENT, reply: '250 Ok 0102abc' }] },
      value: undefined,
    }));
    aws.objects.set(`${FLOW_INCOMING_PREFIX}msg-1`, {
      body: mime(token.value, [
        'from a8-1.smtp-out.amazonses.com (a8-1.smtp-out.amazonses.com [54.240.8.1]) by inbound-smtp.eu-west-1.amazonaws.com with ESMTPS id x for flow@in.example.com; Sat, 05 Dec 2026 14:00:09 +0000',
        'from relay.example.com (relay.example.com [192.0.2.7]) by a8-1.smtp-out.amazonses.com with ESMTP id y; Sat, 05 Dec 2026 14:00:05 +0000',
      ]),
    });
    const outcomes = await receiveFlowMail(receiptEvent('msg-1', { dkim: 'FAIL', spam: 'FAIL' }), deps());
    expect(outcomes).toEqual([{ messageId: 'msg-1', outcome: 'logged', flow: 'ses-flow' }]);

    const log = await readFlowLog(store, 'ses-flow');
    expect(log.arrivals).toHaveLength(1);
    const arrival = log.arrivals[0] as unknown as Parameters<typeof arrivalFindings>[0];
    expect(arrival.arrivedAt).toBe(Date.parse('2026-12-05T14:00:09.500Z'));
    expect(arrival.verdicts).toEqual({ spf: 'pass', dkim: 'fail', dmarc: 'pass', spam: 'fail', virus: 'pass' });
    expect(
      arrivalFindings(arrival)
        .map((f) => f.code)
        .sort(),
    ).toEqual(['FLOW_DKIM_FAIL', 'FLOW_HOP_CLEAR_TEXT', 'FLOW_SPAM']);
  });

  it('ignores a message whose token was made with another key, and one without a token', async () => {
    const forged = createToken(Buffer.alloc(32, 9), 'ses-flow', SENT);
    aws.objects.set(`${FLOW_INCOMING_PREFIX}msg-2`, { body: mime(forged.value) });
    aws.objects.set(`${FLOW_INCOMING_PREFIX}msg-3`, { body: Buffer.from('Subject: hi\r\n\r\nno token\r\n') });
    expect(await receiveFlowMail(receiptEvent('msg-2'), deps())).toEqual([{ messageId: 'msg-2', outcome: 'ignored' }]);
    expect(await receiveFlowMail(receiptEvent('msg-3'), deps())).toEqual([{ messageId: 'msg-3', outcome: 'ignored' }]);
  });

  it('reads no more than the cap of a 50 MB message', async () => {
    const token = createToken(key, 'big-flow', SENT);
    const big = Buffer.concat([mime(token.value), Buffer.alloc(50 * 1024 * 1024, 0x61)]);
    aws.objects.set(`${FLOW_INCOMING_PREFIX}msg-big`, { body: big });
    const outcomes = await receiveFlowMail(receiptEvent('msg-big'), deps());
    expect(outcomes).toEqual([{ messageId: 'msg-big', outcome: 'too-large', flow: 'big-flow' }]);
    const calls = aws.s3Mock.commandCalls(GetObjectCommand);
    expect(calls.at(-1)?.args[0].input.Range).toBe(`bytes=0-${MAX_SES_MESSAGE_BYTES}`);
    expect((await readFlowLog(store, 'big-flow')).arrivals).toHaveLength(1);
  });

  it('skips receipt records of another shape and message ids that would leave the prefix', () => {
    const bad = receiptEvent('../../etc');
    expect(readReceiptEvent(bad)).toEqual([]);
    expect(readReceiptEvent({ Records: [{ ses: { mail: {}, receipt: {} } }, 42, null] })).toEqual([]);
    expect(readReceiptEvent('nonsense')).toEqual([]);
  });

  it('refuses a region without SES receiving, naming the regions that have it', () => {
    expect(() => assertSesReceivingRegion('eu-south-2')).toThrow(/not available in eu-south-2; use one of us-east-1/);
    expect(() => assertSesReceivingRegion('eu-west-1')).not.toThrow();
  });
});
