/**
 * The mailto: rua receiver: SES has written the message to incoming/ (the receipt rule's
 * S3 action), the bucket notifies the function; a real MIME message goes through
 * postal-mime and the parser, DKIM is verified by mailauth against keys in a loopback DNS
 * zone, counters live in dynalite. S3, CloudWatch and SNS are mocked at the SDK boundary.
 */
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemDkimResolver } from '../../lambdas/engine/tlsrpt/authenticate.js';
import { createHttpsHandler } from '../../lambdas/handlers/tlsrpt-https.js';
import { createMailHandler } from '../../lambdas/handlers/tlsrpt-mail.js';
import { fakeAws } from '../../testkit/fixtures/tlsrpt/fake-aws.js';
import { putProbeState } from '../../testkit/fixtures/tlsrpt/probe-state.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../testkit/fixtures/tlsrpt/${name}`, import.meta.url));
const aws = fakeAws();
const logs: string[] = [];
const NOW = Date.parse('2026-11-30T06:00:00Z');
let db: RunningDynalite;
let dns: DnsTestServer;
let table = 0;
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dkimRecord = `v=DKIM1; k=rsa; p=${keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

const depsFor = (tableName: string) => ({
  s3: aws.s3,
  dynamodb: db.client,
  dkimResolver: systemDkimResolver(500, [dns.server]),
  cloudwatch: aws.cloudwatch,
  sns: aws.sns,
  now: () => NOW,
  writeLine: (line: string) => logs.push(line),
  backoff: { maxAttempts: 1 },
  env: {
    TLSRPT_BUCKET: 'reports-bucket',
    TLSRPT_DOMAINS: JSON.stringify([{ domain: 'example.com', name: 'example', mtaSts: false }]),
    METRIC_NAMESPACE: 'MailProbe',
    ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
    STATE_TABLE_NAME: tableName,
    TLSRPT_TRUSTED_SUBMITTERS: JSON.stringify(['google.com', 'microsoft.com']),
  },
});
let deps: ReturnType<typeof depsFor>;
let handler: ReturnType<typeof createMailHandler>;

/** The fixture's report, signed by `signingDomain` (selector `sel`) as it arrives, From `from`. */
async function signedReport(signingDomain: string, from = 'tlsrpt-noreply@microsoft.com'): Promise<Buffer> {
  const message = fixture('microsoft-report.eml')
    .toString('latin1')
    .replace(/^From: .*$/m, `From: <${from}>`);
  const out = await dkimSign(message, {
    signatureData: [{ signingDomain, selector: 'sel', privateKey, signTime: new Date(NOW - 3_600_000) }],
  } as never);
  return Buffer.from(out.signatures + message, 'latin1');
}

function s3Event(key: string, size: number, bucket = 'reports-bucket') {
  return {
    Records: [
      { s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%20/g, '+'), size } } },
    ],
  };
}

beforeAll(async () => {
  db = await startDynalite();
  const chunks = (text: string) => text.match(/.{1,255}/g)!;
  dns = await startDnsServer({
    'sel._domainkey.microsoft.com': { TXT: [chunks(dkimRecord)] },
    'sel._domainkey.small-sender.example': { TXT: [chunks(dkimRecord)] },
    'sel._domainkey.other-sender.example': { TXT: [chunks(dkimRecord)] },
  });
});
afterAll(async () => {
  await dns.close();
  await db.close();
});
beforeEach(async () => {
  aws.reset();
  logs.length = 0;
  table += 1;
  await db.createTable(`state-${table}`);
  deps = depsFor(`state-${table}`);
  handler = createMailHandler(deps);
});

describe('tlsrpt-mail handler', () => {
  it('a DKIM-signed report from a trusted submitter (microsoft.com): stored, authenticated, metrics in the alarm series, one alert', async () => {
    const eml = await signedReport('microsoft.com');
    aws.objects.set('incoming/msg 1', { body: eml });
    const outcomes = await handler(s3Event('incoming/msg 1', eml.length));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      object: 'incoming/msg 1',
      outcome: 'stored',
      failedSessions: 1234,
      authenticated: true,
      corroboration: 'authenticated submitter microsoft.com is trusted',
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
    expect(stored.metadata).toMatchObject({ source: 'mail', authenticated: 'true' });
    expect(key).toMatch(/^reports\/example\.com\/[0-9a-f]{64}\.authenticated$/);
    const datums = aws.cwMock.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData!;
    expect(datums.map((d) => [d.MetricName, d.Value])).toEqual([
      ['TlsRptSuccessfulSessions', 9120],
      ['TlsRptFailedSessions', 1234],
    ]);
    // Exactly the alarm's dimensions: no Evidence=uncorroborated.
    expect(datums[1]!.Dimensions).toEqual([
      { Name: 'Check', Value: 'tlsrpt' },
      { Name: 'Target', Value: 'example' },
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

  it('the same content unsigned (forged From) does not page unless the probe agrees (issue 21, issue 25 item 6)', async () => {
    const eml = fixture('microsoft-report.eml');
    aws.objects.set('incoming/unsigned', { body: eml });
    const [unsigned] = await handler(s3Event('incoming/unsigned', eml.length));
    expect(unsigned).toMatchObject({ outcome: 'stored', authenticated: false, alert: 'uncorroborated' });
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    const auth = JSON.parse(logs.find((l) => l.includes('tlsrpt mail authentication'))!) as Record<string, unknown>;
    expect(auth).toMatchObject({ authenticated: false, reason: 'no DKIM signature' });

    // Signed by the attacker's own domain under Microsoft's From: valid, but not aligned.
    const forged = await signedReport('small-sender.example');
    aws.objects.set('incoming/forged', { body: forged });
    const [outcome] = await handler(s3Event('incoming/forged', forged.length));
    expect(outcome).toMatchObject({ outcome: 'duplicate', authenticated: false });
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("SES's receipt verdicts are used: a DKIM FAIL there overrules a passing signature, and both verdicts are logged", async () => {
    aws.objects.set('incoming/ses-fail', { body: await signedReport('microsoft.com') });
    const [outcome] = await handler({
      Records: [
        {
          ses: {
            mail: { messageId: 'ses-fail' },
            receipt: {
              spfVerdict: { status: 'PASS' },
              dkimVerdict: { status: 'FAIL' },
              spamVerdict: { status: 'PASS' },
            },
          },
        },
      ],
    });
    expect(outcome).toMatchObject({ outcome: 'stored', authenticated: false, alert: 'uncorroborated' });
    const auth = JSON.parse(logs.find((l) => l.includes('tlsrpt mail authentication'))!) as Record<string, unknown>;
    expect(auth).toMatchObject({ reason: 'SES DKIM verdict FAIL', ses: { spf: 'PASS', dkim: 'FAIL' } });
  });

  it('two distinct authenticated organisations reporting failures for a domain the same day corroborate each other', async () => {
    const report = (org: string) => {
      const json = JSON.parse(fixture('microsoft-failures.json').toString()) as Record<string, unknown>;
      json['organization-name'] = org;
      return json;
    };
    const mailFrom = async (domain: string) => {
      const message = [
        `From: <tlsrpt@${domain}>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=tlsrpt; boundary="b"',
        '',
        '--b',
        'Content-Type: application/tlsrpt+json',
        '',
        JSON.stringify(report(domain)),
        '--b--',
        '',
      ].join('\r\n');
      const out = await dkimSign(message, {
        signatureData: [{ signingDomain: domain, selector: 'sel', privateKey, signTime: new Date(NOW - 3_600_000) }],
      } as never);
      return Buffer.from(out.signatures + message);
    };
    const first = await mailFrom('small-sender.example');
    aws.objects.set('incoming/first', { body: first });
    expect((await handler(s3Event('incoming/first', first.length)))[0]).toMatchObject({
      authenticated: true,
      alert: 'uncorroborated',
    });
    // The same organisation again does not count twice.
    const again = Buffer.from(
      first
        .toString()
        .replace('"organization-name":"small-sender.example"', '"organization-name":"small-sender.example "'),
    );
    aws.objects.set('incoming/again', { body: again });
    expect((await handler(s3Event('incoming/again', again.length)))[0]).toMatchObject({ alert: 'uncorroborated' });
    const second = await mailFrom('other-sender.example');
    aws.objects.set('incoming/second', { body: second });
    expect((await handler(s3Event('incoming/second', second.length)))[0]).toMatchObject({
      authenticated: true,
      corroboration: '2 authenticated organisations reported failures for example.com today',
      alert: 'sent',
    });
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('an unsigned mailed report pages when the probe agrees: the mta-sts target is critical in the state table', async () => {
    await putProbeState(db.client, `state-${table}`, 'mta-sts', 'example', 'critical', NOW - 600_000);
    // example is an mta-sts target in this test's config.
    const probeDeps = {
      ...deps,
      env: { ...deps.env, TLSRPT_DOMAINS: JSON.stringify([{ domain: 'example.com', name: 'example', mtaSts: true }]) },
    };
    const probed = createMailHandler(probeDeps);
    const eml = fixture('microsoft-report.eml');
    aws.objects.set('incoming/probe', { body: eml });
    expect((await probed(s3Event('incoming/probe', eml.length)))[0]).toMatchObject({
      authenticated: false,
      corroboration: "mailprobe's mta-sts check of example.com is critical",
      alert: 'sent',
    });
  });

  it('an HTTPS copy first does not make the signed mail copy a duplicate: the signed one still pages', async () => {
    const https = createHttpsHandler(deps);
    const res = await https({
      requestContext: { http: { method: 'POST', sourceIp: '192.0.2.1' } },
      headers: { 'content-type': 'application/tlsrpt+json' },
      body: fixture('microsoft-failures.json').toString(),
    });
    expect(res.statusCode).toBe(201);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    const eml = await signedReport('microsoft.com');
    aws.objects.set('incoming/signed', { body: eml });
    expect((await handler(s3Event('incoming/signed', eml.length)))[0]).toMatchObject({
      outcome: 'stored',
      alert: 'sent',
    });
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
    // Neither copy is authenticated and nothing corroborates them: no page.
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
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
