/**
 * The mailto: rua receiver: SES has written the message to incoming/ (the receipt rule's
 * S3 action), the bucket notifies the function; a real MIME message goes through
 * postal-mime and the parser. S3, CloudWatch and SNS are mocked at the SDK boundary.
 */
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHttpsHandler } from '../../lambdas/handlers/tlsrpt-https.js';
import { createMailHandler } from '../../lambdas/handlers/tlsrpt-mail.js';
import { fakeAws } from '../../testkit/fixtures/tlsrpt/fake-aws.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../testkit/fixtures/tlsrpt/${name}`, import.meta.url));
const aws = fakeAws();
const logs: string[] = [];
const deps = {
  s3: aws.s3,
  cloudwatch: aws.cloudwatch,
  sns: aws.sns,
  now: () => Date.parse('2026-11-30T06:00:00Z'),
  writeLine: (line: string) => logs.push(line),
  backoff: { maxAttempts: 1 },
  env: {
    TLSRPT_BUCKET: 'reports-bucket',
    TLSRPT_DOMAINS: JSON.stringify([{ domain: 'example.com', name: 'example', mtaSts: false }]),
    METRIC_NAMESPACE: 'MailProbe',
    ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
  },
};
const handler = createMailHandler(deps);

function s3Event(key: string, size: number, bucket = 'reports-bucket') {
  return {
    Records: [
      { s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%20/g, '+'), size } } },
    ],
  };
}

beforeEach(() => {
  aws.reset();
  logs.length = 0;
});

describe('tlsrpt-mail handler', () => {
  it('a multipart/report message from incoming/: report stored under reports/, metrics, one alert', async () => {
    const eml = fixture('microsoft-report.eml');
    aws.objects.set('incoming/msg 1', { body: eml });
    const outcomes = await handler(s3Event('incoming/msg 1', eml.length));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      object: 'incoming/msg 1',
      outcome: 'stored',
      failedSessions: 1234,
      alert: 'sent',
    });
    expect(aws.s3Mock.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'reports-bucket',
      Key: 'incoming/msg 1',
    });
    const key = (outcomes[0] as { key: string }).key;
    const stored = aws.objects.get(key)!;
    // The canonical report as counted, not the received bytes (issue 25).
    expect(stored.contentType).toBe('application/json');
    expect((JSON.parse(Buffer.from(stored.body).toString()) as { reportId: string }).reportId).toBe(
      '134088480000000000+example.com',
    );
    expect(stored.metadata?.source).toBe('mail');
    const datums = aws.cwMock.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData!;
    expect(datums.map((d) => [d.MetricName, d.Value])).toEqual([
      ['TlsRptSuccessfulSessions', 9120],
      ['TlsRptFailedSessions', 1234],
    ]);
    const text = (JSON.parse(aws.snsMock.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as { email: string })
      .email;
    expect(text).toContain('example.com: unknown (the domain is not an mta-sts target of the config)');
  });

  it('the receipt rule Lambda action event (SES): reads incoming/<messageId>', async () => {
    aws.objects.set('incoming/o3hvcb0d5ta0k6ulc1g4m1', { body: fixture('microsoft-report.eml') });
    const outcomes = await handler({
      Records: [{ ses: { mail: { messageId: 'o3hvcb0d5ta0k6ulc1g4m1' } } }],
    });
    expect(outcomes[0]).toMatchObject({ object: 'incoming/o3hvcb0d5ta0k6ulc1g4m1', outcome: 'stored' });
    expect(await handler({ Records: [{ ses: { mail: { messageId: '../reports/x' } } }] })).toEqual([
      { object: 'incoming/../reports/x', outcome: 'skipped' },
    ]);
  });

  it('the same report by HTTPS and then by mail is counted once', async () => {
    const https = createHttpsHandler(deps);
    const res = await https({
      requestContext: { http: { method: 'POST' } },
      headers: { 'content-type': 'application/tlsrpt+json' },
      body: fixture('microsoft-failures.json').toString(),
    });
    expect(res.statusCode).toBe(201);
    const eml = fixture('microsoft-report.eml');
    aws.objects.set('incoming/msg2', { body: eml });
    const [outcome] = await handler(s3Event('incoming/msg2', eml.length));
    expect(outcome).toMatchObject({ outcome: 'duplicate' });
    expect(aws.cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(1);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('a report SES judged spam or infected is refused unread, whatever it claims (issue 25)', async () => {
    const eml = fixture('microsoft-report.eml');
    for (const [id, receipt] of [
      ['msg-virus', { virusVerdict: { status: 'FAIL' }, spamVerdict: { status: 'PASS' } }],
      ['msg-spam', { virusVerdict: { status: 'PASS' }, spamVerdict: { status: 'FAIL' } }],
    ] as const) {
      aws.objects.set(`incoming/${id}`, { body: eml });
      const outcomes = await handler({ Records: [{ ses: { mail: { messageId: id }, receipt } }] });
      expect(outcomes).toEqual([{ object: `incoming/${id}`, outcome: 'refused', code: 'TLSRPT_MAIL_INVALID' }]);
    }
    expect(aws.s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(aws.cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    // A clean verdict is read as before.
    aws.objects.set('incoming/msg-clean', { body: eml });
    const [clean] = await handler({
      Records: [
        {
          ses: {
            mail: { messageId: 'msg-clean' },
            receipt: { spamVerdict: { status: 'PASS' }, virusVerdict: { status: 'PASS' } },
          },
        },
      ],
    });
    expect(clean).toMatchObject({ outcome: 'stored' });
  });

  it('spam and over-size messages are refused with their code, without throwing', async () => {
    aws.objects.set('incoming/spam', { body: Buffer.from('From: a@b.example\r\nSubject: win\r\n\r\nhello\r\n') });
    expect(await handler(s3Event('incoming/spam', 40))).toEqual([
      { object: 'incoming/spam', outcome: 'refused', code: 'TLSRPT_MAIL_NO_REPORT' },
    ]);
    expect(await handler(s3Event('incoming/huge', 50 * 1024 * 1024))).toEqual([
      { object: 'incoming/huge', outcome: 'refused', code: 'TLSRPT_MAIL_INVALID' },
    ]);
    // The size in the event is not trusted alone: the read is capped too.
    aws.objects.set('incoming/liar', { body: Buffer.alloc(5 * 1024 * 1024) });
    expect(await handler(s3Event('incoming/liar', 10))).toEqual([
      { object: 'incoming/liar', outcome: 'refused', code: 'TLSRPT_MAIL_INVALID' },
    ]);
    expect(aws.cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  it('a report for an unconfigured domain is refused', async () => {
    // The RFC example is about company-y.example, which this receiver is not configured for.
    const json = fixture('rfc8460-example.json').toString();
    const message = `From: r@x.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=tlsrpt; boundary="b"\r\n\r\n--b\r\nContent-Type: application/tlsrpt+json\r\n\r\n${json}\r\n--b--\r\n`;
    aws.objects.set('incoming/other', { body: Buffer.from(message) });
    expect(await handler(s3Event('incoming/other', message.length))).toEqual([
      { object: 'incoming/other', outcome: 'refused', code: 'TLSRPT_DOMAIN_UNKNOWN' },
    ]);
  });

  it('objects outside incoming/ or in another bucket are skipped', async () => {
    expect(await handler(s3Event('reports/example.com/abc', 10))).toEqual([
      { object: 'reports/example.com/abc', outcome: 'skipped' },
    ]);
    expect(await handler(s3Event('incoming/x', 10, 'other-bucket'))).toEqual([
      { object: 'incoming/x', outcome: 'skipped' },
    ]);
    expect(aws.s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('S3 unavailable: throws, so Lambda retries the event and then dead-letters it', async () => {
    aws.s3Mock
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }));
    await expect(handler(s3Event('incoming/m', 100))).rejects.toMatchObject({ name: 'SlowDown' });
  });
});
