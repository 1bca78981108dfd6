/**
 * The HTTPS rua receiver, driven by real HTTP requests: a loopback server plays API
 * Gateway's part (HTTP API payload 2.0 event, binary bodies base64, its 10 MB payload
 * limit) and hands each request to the handler. S3, CloudWatch and SNS are mocked at the
 * SDK boundary (testkit/fixtures/tlsrpt/fake-aws.ts); the daily counters and the probes'
 * state are a real DynamoDB-compatible table (dynalite).
 */
import { GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpsHandler, type HttpApiEvent } from '../../lambdas/handlers/tlsrpt-https.js';
import { parseReportText } from '../../lambdas/engine/tlsrpt/parse.js';
import { fakeAws } from '../../testkit/fixtures/tlsrpt/fake-aws.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { putProbeState } from '../../testkit/fixtures/tlsrpt/probe-state.js';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { counterKey, DynamoDayCounters } from '../../lambdas/engine/tlsrpt/limits.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../testkit/fixtures/tlsrpt/${name}`, import.meta.url));
/** API Gateway HTTP API's maximum payload (its quota page): larger requests never reach the function. */
const API_GATEWAY_MAX_PAYLOAD = 10 * 1024 * 1024;
const NOW = Date.parse('2026-11-30T06:00:00Z');

const aws = fakeAws();
const logs: string[] = [];
let db: RunningDynalite;
let table = 0;
let handler: ReturnType<typeof createHttpsHandler>;
const makeHandler = (tableName: string, extraEnv: Record<string, string> = {}) =>
  createHttpsHandler({
    s3: aws.s3,
    dynamodb: db.client,
    cloudwatch: aws.cloudwatch,
    sns: aws.sns,
    now: () => NOW,
    writeLine: (line) => logs.push(line),
    backoff: { maxAttempts: 2, sleep: async () => {} },
    env: {
      TLSRPT_BUCKET: 'reports-bucket',
      TLSRPT_DOMAINS: JSON.stringify([
        { domain: 'example.com', name: 'example', mtaSts: true },
        { domain: 'company-y.example', name: 'company-y.example', mtaSts: false },
      ]),
      METRIC_NAMESPACE: 'MailProbe',
      ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      STATE_TABLE_NAME: tableName,
      ...extraEnv,
    },
  });

let server: Server;
let url: string;

beforeAll(async () => {
  db = await startDynalite();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > API_GATEWAY_MAX_PAYLOAD) {
        refused = true;
        res.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Entity Too Large"}');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const body = Buffer.concat(chunks);
      const event: HttpApiEvent = {
        requestContext: {
          http: { method: req.method ?? 'GET', sourceIp: req.socket.remoteAddress ?? '' },
          requestId: 'req-1',
        },
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
        ),
        // HTTP APIs base64-encode bodies that are not text (gzip), and may do so for any body.
        body: body.toString('base64'),
        isBase64Encoded: true,
      };
      void handler(event).then((out) => res.writeHead(out.statusCode, out.headers).end(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/tlsrpt`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await db.close();
});
beforeEach(async () => {
  aws.reset();
  logs.length = 0;
  // A fresh table (and handler, which keeps its deps warm) per test: counters never leak between tests.
  table += 1;
  await db.createTable(`state-${table}`);
  handler = makeHandler(`state-${table}`);
});

async function post(body: Uint8Array | string, contentType: string, method = 'POST') {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': contentType },
    ...(method === 'POST' ? { body } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, text };
}

describe('accepted reports', () => {
  it('application/tlsrpt+gzip: 201, the canonical report stored once under a conditional put, metrics per domain', async () => {
    const body = fixture('google-ok.json.gz');
    const res = await post(body, 'application/tlsrpt+gzip');
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ status: 'accepted', reportId: '2026-11-29T00:00:00Z_example.com' });

    const puts = aws.s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    const input = puts[0]!.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'reports-bucket',
      IfNoneMatch: '*',
      ContentType: 'application/json',
      Metadata: { source: 'https', organization: 'Google Inc.' },
    });
    expect(input.Key).toMatch(/^reports\/example\.com\/[0-9a-f]{64}$/);
    // What was counted, re-serialised (issue 25): never the received bytes, which an attacker pads.
    expect(input.Body).toBe(JSON.stringify(parseReportText(fixture('google-ok.json').toString())));

    const metrics = aws.cwMock.commandCalls(PutMetricDataCommand);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]!.args[0].input).toEqual({
      Namespace: 'MailProbe',
      MetricData: [
        expect.objectContaining({
          MetricName: 'TlsRptSuccessfulSessions',
          Value: 1873,
          Unit: 'Count',
          Timestamp: new Date(NOW),
          // Over HTTPS nothing is authenticated: outside the alarm's series (issue 21).
          Dimensions: [
            { Name: 'Check', Value: 'tlsrpt' },
            { Name: 'Target', Value: 'example' },
            { Name: 'Evidence', Value: 'uncorroborated' },
          ],
        }),
        expect.objectContaining({ MetricName: 'TlsRptFailedSessions', Value: 0 }),
      ],
    });
    // No failed session: no message.
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('application/tlsrpt+json with failures, corroborated by the mta-sts probe being critical: one SNS message that reads at 3 a.m.', async () => {
    // The mta-sts check's last run (05:00) recorded critical: it corroborates the report and is the alert's verdict.
    await putProbeState(db.client, `state-${table}`, 'mta-sts', 'example', 'critical', NOW - 60 * 60 * 1000);
    const res = await post(fixture('microsoft-failures.json'), 'application/tlsrpt+json; charset=utf-8');
    expect(res.status).toBe(201);
    const publishes = aws.snsMock.commandCalls(PublishCommand);
    expect(publishes).toHaveLength(1);
    const input = publishes[0]!.args[0].input;
    expect(input.TopicArn).toBe('arn:aws:sns:eu-west-1:123456789012:alerts');
    expect(input.Subject).toBe('[CRITICAL] TLS-RPT example.com: 1,234 failed sessions (from "Microsoft Corporation")');
    expect(input.MessageAttributes).toEqual({
      check: { DataType: 'String', StringValue: 'tlsrpt' },
      severity: { DataType: 'String', StringValue: 'critical' },
      target: { DataType: 'String', StringValue: 'example.com' },
    });
    const text = (JSON.parse(input.Message!) as { email: string }).email;
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      '"Microsoft Corporation" reported 1,234 failed sessions to mx1.example.com (certificate-expired and 1 other type) between 2026-11-29 00:00 and 2026-11-29 23:59 UTC.',
    );
    expect(text).toContain(
      'example.com (sts, mode enforce, mx mx1.example.com, mx2.example.com): 9,120 successful, 1,234 failed (11.9 %).',
    );
    expect(text).toContain('these messages were NOT delivered');
    expect(text).toContain(
      '    1,230  certificate-expired to mx1.example.com (192.0.2.25)\n        4  sts-webpki-invalid to mx2.example.com\n',
    );
    expect(text).toContain('Sending MTAs: 40.107.22.101, 40.107.22.102');
    expect(text).toContain('  certificate-expired: The MX certificate has expired.');
    expect(text).toContain('  sts-webpki-invalid: The MTA-STS policy host’s HTTPS certificate did not validate.');
    expect(text).toContain('  example.com: critical (last run 2026-11-30 05:00 UTC)');
    expect(text).toMatch(/stored report: s3:\/\/reports-bucket\/reports\/example\.com\/[0-9a-f]{64}\.$/m);
    // The verdict comes from the probes' state table, as corroboration's does, never from metrics
    // (which have no per-target series with metrics: aggregate).
    expect(aws.cwMock.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it('failures over HTTPS that nothing corroborates: stored and counted apart from the alarm series, no message (issue 21)', async () => {
    const res = await post(fixture('rfc8460-example.json'), 'application/tlsrpt+json');
    expect(res.status).toBe(201);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    const datums = aws.cwMock.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData!;
    expect(datums.find((d) => d.MetricName === 'TlsRptFailedSessions')).toMatchObject({
      Value: 303,
      Dimensions: [
        { Name: 'Check', Value: 'tlsrpt' },
        { Name: 'Target', Value: 'company-y.example' },
        { Name: 'Evidence', Value: 'uncorroborated' },
      ],
    });
    const stored = JSON.parse(logs.find((l) => l.includes('tlsrpt report stored'))!) as Record<string, unknown>;
    expect(stored).toMatchObject({ alert: 'uncorroborated', authenticated: false, source: 'https' });
    expect(aws.objects.size).toBe(1);
    expect([...aws.objects.values()][0]!.metadata).toMatchObject({ source: 'https', authenticated: 'false' });

    // The next morning's scheduled run sends the day's unpaged reports in one digest message.
    expect(await handler({ tlsrptDigest: 'yesterday' })).toEqual({
      day: '2026-11-29',
      reports: 0,
      sent: 'nothing to send',
    });
    expect(await handler({ tlsrptDigest: '2026-11-30' })).toEqual({ day: '2026-11-30', reports: 1, sent: 'sent' });
    const digest = aws.snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(digest.Subject).toBe('[DIGEST] TLS-RPT 2026-11-30: 1 uncorroborated report with failures');
    expect(digest.MessageAttributes?.severity?.StringValue).toBe('info');
    const text = (JSON.parse(digest.Message!) as { default: string }).default;
    expect(text).toMatch(
      /^ {8}303 failed {2}company-y\.example {2}from "Company-X" {2}reports\/company-y\.example\/[0-9a-f]{64}$/m,
    );
  });

  it.each([
    ['no probe state', undefined],
    ['the probe says ok', { status: 'ok', ageMs: 60_000 }],
    ['the probe was critical 3 days ago (stale)', { status: 'critical', ageMs: 3 * 86_400_000 }],
  ] as const)('the same failures unsigned over HTTPS do not page when %s', async (_, probe) => {
    if (probe) await putProbeState(db.client, `state-${table}`, 'mta-sts', 'example', probe.status, NOW - probe.ageMs);
    expect((await post(fixture('microsoft-failures.json'), 'application/tlsrpt+json')).status).toBe(201);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('the same report twice is stored and counted once (201, then 200)', async () => {
    const body = fixture('google-ok.json.gz');
    expect((await post(body, 'application/tlsrpt+gzip')).status).toBe(201);
    const again = await post(fixture('google-ok.json'), 'application/tlsrpt+json');
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ status: 'duplicate', reportId: '2026-11-29T00:00:00Z_example.com' });
    expect(aws.objects.size).toBe(1);
    expect(aws.cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(1);
    expect(logs.some((l) => l.includes('already received; not counted again'))).toBe(true);
  });

  it("a forged clean report under Google's predictable report-id does not suppress the real one (issue 25)", async () => {
    const forged = fixture('google-ok.json');
    const real = JSON.parse(forged.toString()) as { policies: { summary: Record<string, number> }[] };
    real.policies[0]!.summary['total-failure-session-count'] = 5000;
    expect((await post(forged, 'application/tlsrpt+json')).status).toBe(201);
    const genuine = await post(JSON.stringify(real), 'application/tlsrpt+json');
    expect(genuine.status).toBe(201);
    expect(genuine.json).toEqual({ status: 'accepted', reportId: '2026-11-29T00:00:00Z_example.com' });
    expect(aws.objects.size).toBe(2);
    const failed = aws.cwMock
      .commandCalls(PutMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricData!)
      .filter((d) => d.MetricName === 'TlsRptFailedSessions')
      .map((d) => d.Value);
    expect(failed).toContain(5000);
  });

  it('a whitespace-padded report is stored as the few bytes it means (issue 25)', async () => {
    const padded = fixture('google-ok.json')
      .toString()
      .replace('{', `{${' '.repeat(500_000)}`);
    expect((await post(padded, 'application/tlsrpt+json')).status).toBe(201);
    const [stored] = [...aws.objects.values()];
    expect(stored!.body.length).toBeLessThan(2_000);
  });

  it('metrics that cannot be published go out as EMF log lines; the report is still accepted', async () => {
    aws.cwMock
      .on(PutMetricDataCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const res = await post(fixture('google-ok.json.gz'), 'application/tlsrpt+gzip');
    expect(res.status).toBe(201);
    const emf = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => '_aws' in l);
    expect(emf).toMatchObject({
      Check: 'tlsrpt',
      Target: 'example',
      TlsRptSuccessfulSessions: 1873,
      TlsRptFailedSessions: 0,
    });
  });
});

describe('alerts and digest through the shared publishers', () => {
  it('SNS failing: the report still counts (201), the shared publisher retries, then logs', async () => {
    await putProbeState(db.client, `state-${table}`, 'mta-sts', 'example', 'critical', NOW - 60_000);
    aws.snsMock
      .on(PublishCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }));
    expect((await post(fixture('microsoft-failures.json'), 'application/tlsrpt+json')).status).toBe(201);
    // backoff maxAttempts 2: one retry.
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(2);
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l['msg'] === 'tlsrpt alert publish failed')).toMatchObject({ error: 'Throttling' });
    expect(lines.find((l) => l['msg'] === 'tlsrpt report stored')).toMatchObject({ alert: 'failed', level: 'warn' });
  });

  it('hostile digest input: a listed report that is gone or not JSON is named as unreadable, the rest still sent', async () => {
    expect((await post(fixture('rfc8460-example.json'), 'application/tlsrpt+json')).status).toBe(201);
    const [key] = [...aws.objects.keys()];
    aws.objects.set(key!, { body: Buffer.from('{"organization-name": ') });
    const counters = new DynamoDayCounters({ client: db.client, tableName: `state-${table}`, maxAttempts: 1 });
    await counters.addToSet('digest', '2026-11-30', 'reports/company-y.example/gone');
    expect(await handler({ tlsrptDigest: '2026-11-30' })).toEqual({ day: '2026-11-30', reports: 2, sent: 'sent' });
    const text = (
      JSON.parse(aws.snsMock.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as { default: string }
    ).default;
    expect(text).toContain('  (unreadable: NoSuchKey) reports/company-y.example/gone');
    expect(text).toContain(`  (unreadable: SyntaxError) ${key!}`);
  });
});

describe('refused requests', () => {
  it('a gzip bomb stops at the cap: 413, nothing stored', async () => {
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024));
    const res = await post(bomb, 'application/tlsrpt+gzip');
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: 'TLSRPT_REPORT_TOO_LARGE', message: 'inflates to more than 5242880 bytes' });
    expect(aws.s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('a 10 MB body: 413 before decoding', async () => {
    const res = await post(Buffer.alloc(10_000_000, 0x20), 'application/tlsrpt+json');
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      error: 'TLSRPT_REPORT_TOO_LARGE',
      message: 'the body is 10000000 bytes, over the 5242880-byte cap',
    });
  });

  it('a 2 MB gzip body: 413 (compressed cap 1 MiB)', async () => {
    const res = await post(
      Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(2_000_000)]),
      'application/tlsrpt+gzip',
    );
    expect(res.status).toBe(413);
    expect(res.json.error).toBe('TLSRPT_REPORT_TOO_LARGE');
  });

  it.each([['application/json'], ['text/plain'], ['application/gzip'], ['']])('Content-Type %j: 415', async (type) => {
    const res = await post(fixture('google-ok.json'), type);
    expect(res.status).toBe(415);
    expect(res.json.error).toBe('TLSRPT_CONTENT_TYPE');
  });

  it('invalid JSON: 400 TLSRPT_REPORT_NOT_JSON', async () => {
    const res = await post('{"organization-name": "x",', 'application/tlsrpt+json');
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('TLSRPT_REPORT_NOT_JSON');
  });

  it('JSON that is not a report: 400 naming the field', async () => {
    const res = await post(
      gzipSync(JSON.stringify({ 'organization-name': 'x', 'report-id': 'y', 'date-range': {} })),
      'application/tlsrpt+gzip',
    );
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: 'TLSRPT_REPORT_INVALID',
      message: 'date-range.start-datetime: expected an RFC 3339 date-time, got nothing',
    });
  });

  it('a report for a domain not in the config: 403, not stored, not counted', async () => {
    const report = JSON.parse(fixture('google-ok.json').toString()) as {
      policies: { policy: Record<string, string> }[];
    };
    report.policies[0]!.policy['policy-domain'] = 'stranger.example';
    const res = await post(JSON.stringify(report), 'application/tlsrpt+json');
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      error: 'TLSRPT_DOMAIN_UNKNOWN',
      message: 'policy domain stranger.example not configured on this receiver',
    });
    expect(aws.s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(aws.cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  it('GET: 405 with Allow: POST', async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('S3 failing: 500 without internals in the answer; the stack goes to the log only', async () => {
    aws.s3Mock.on(PutObjectCommand).rejects(
      Object.assign(new Error('Access Denied by bucket policy xyz'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const res = await post(fixture('google-ok.json'), 'application/tlsrpt+json');
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: 'INTERNAL', message: 'the report was not stored; please retry later' });
    expect(res.text).not.toMatch(/at |AccessDenied|bucket/);
    const line = JSON.parse(logs.find((l) => l.includes('tlsrpt receiver failed'))!) as Record<string, string>;
    expect(line.error).toBe('AccessDenied');
    expect(line.stack).toContain('Access Denied by bucket policy xyz');
  });
});

describe('limits that hold under attack (issue 21 (3), issue 25 item 8)', () => {
  /** A distinct forged report with failures: each one a new S3 key if nothing stopped it. */
  function forged(i: number): string {
    const report = JSON.parse(fixture('microsoft-failures.json').toString()) as Record<string, unknown>;
    report['organization-name'] = `Forger ${i % 3}`;
    report['report-id'] = `forged-${i}`;
    return JSON.stringify(report);
  }
  const dropped = (reason: string) =>
    logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => '_aws' in l && l['Reason'] === reason && l['TlsRptDropped'] === 1).length;

  it('a flood of 40 distinct forged reports: at most 5 stored, 1 message, the other 35 refused with 429 and counted', async () => {
    handler = makeHandler(`state-${table}`, {
      TLSRPT_LIMITS: JSON.stringify({
        reportsPerDomainPerDay: 5,
        reportsPerSubmitterPerDay: 1000,
        requestsPerSourcePerDay: 1000,
      }),
    });
    // Even with the probe agreeing (so every one of them would page), the flood pages once.
    await putProbeState(db.client, `state-${table}`, 'mta-sts', 'example', 'critical', NOW - 60_000);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await post(forged(i), 'application/tlsrpt+json')).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    expect(aws.objects.size).toBe(5);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(1);
    expect(dropped('reports-per-domain')).toBe(35);
    expect(dropped('alerts-per-domain')).toBe(4);
    // The counter in the table has seen all 40 (5 within the limit, 35 beyond), and expires.
    const item = await db.client.send(
      new GetItemCommand({
        TableName: `state-${table}`,
        Key: { pk: { S: counterKey('reports-per-domain#unauthenticated#example.com', '2026-11-30') } },
      }),
    );
    expect(item.Item?.['n']?.N).toBe('40');
    expect(Number(item.Item?.['expiresAt']?.N)).toBe(Date.parse('2026-12-04T00:00:00Z') / 1000);
    const refused = await post(forged(99), 'application/tlsrpt+json');
    expect(refused.json).toEqual({
      error: 'TLSRPT_RATE_LIMITED',
      message: 'daily limit reports-per-domain (5) reached',
    });
  });

  it('one source cannot starve the others: its requests stop at its own budget, another address still gets in', async () => {
    handler = makeHandler(`state-${table}`, { TLSRPT_LIMITS: JSON.stringify({ requestsPerSourcePerDay: 3 }) });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await post(forged(i), 'application/tlsrpt+json')).status);
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429, 429, 429, 429, 429]);
    expect(dropped('requests-per-source')).toBe(7);
    // A real sender from another address (API Gateway's requestContext.http.sourceIp).
    const other = await handler({
      requestContext: { http: { method: 'POST', sourceIp: '198.51.100.7' } },
      headers: { 'content-type': 'application/tlsrpt+json' },
      body: fixture('google-ok.json').toString(),
    });
    expect(other.statusCode).toBe(201);
    // Payload 1.0 (REST API) puts the address in requestContext.identity.
    const rest = await handler({
      requestContext: { identity: { sourceIp: '127.0.0.1' } },
      headers: { 'content-type': 'application/tlsrpt+json' },
      body: forged(50),
    });
    expect(rest.statusCode).toBe(429);
  });

  it('the counters unreachable: 500, the report is not stored (the sender retries), nothing pages', async () => {
    db.setFault('throttle', 'UpdateItem');
    try {
      const res = await post(fixture('microsoft-failures.json'), 'application/tlsrpt+json');
      expect(res.status).toBe(500);
    } finally {
      db.setFault('none');
    }
    expect(aws.objects.size).toBe(0);
    expect(aws.snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
