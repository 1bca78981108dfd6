/**
 * The probe handlers end to end: real checks against SMTP servers on loopback, the
 * exact PutMetricData requests at the SDK boundary, the throttling retry, the EMF
 * fallback, and no secret in any log line.
 */
import {
  CloudWatchClient,
  PutMetricDataCommand,
  type MetricDatum,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec, TlsCheckSpec } from '../../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS } from '../../lambdas/engine/context.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { runChecks } from '../../lambdas/engine/run/all.js';
import { createProbeHandler, type ProbeHandlerDeps } from '../../lambdas/handlers/probe.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/relay-AbCdEf';
const USER = { username: 'probe-user', password: 'Hunter2-S3cr3t!' };
const SECRET_FORMS = [
  USER.password,
  Buffer.from(USER.password).toString('base64'),
  Buffer.from(`\0${USER.username}\0${USER.password}`).toString('base64'),
];

const cw = mockClient(CloudWatchClient);
const sm = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);

let pki: TestPki;
let good: RunningSmtp;
let expired: RunningSmtp;
let db: RunningDynalite;
let tables = 0;

beforeAll(async () => {
  pki = await createTestPki();
  good = await startSmtpServer({ credentials: pki.credentials(), user: USER });
  expired = await startSmtpServer({ credentials: pki.credentials(await pki.expired()), user: USER });
  db = await startDynalite();
});
afterAll(async () => {
  await good.close();
  await expired.close();
  await db.close();
});

/** A fresh state table, and the handler dependencies that use it. */
async function stateDeps(topic = true): Promise<Partial<ProbeHandlerDeps>> {
  const table = `handler-state-${++tables}`;
  await db.createTable(table);
  return {
    sns: new SNSClient({ region: 'eu-west-1' }),
    dynamodb: db.client,
    env: {
      METRIC_NAMESPACE: 'MailProbe',
      STATE_TABLE_NAME: table,
      ...(topic ? { ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts' } : {}),
    },
  };
}
beforeEach(() => {
  cw.reset();
  sm.reset();
  snsMock.reset();
  sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify(USER) });
});

function smtpShard(): ShardEvent {
  const specs: SmtpCheckSpec[] = [
    {
      check: 'smtp',
      name: 'relay',
      host: '127.0.0.1',
      port: good.port,
      tls: 'starttls',
      auth: { secretArn: SECRET_ARN },
    },
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
    concurrency: 2,
  };
}

function run(kind: 'smtp' | 'tls', event: unknown, extra: Partial<ProbeHandlerDeps> = {}) {
  const lines: string[] = [];
  const handler = createProbeHandler(kind, runChecks, {
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    env: { METRIC_NAMESPACE: 'MailProbe' },
    writeLine: (line) => lines.push(line),
    context: { extraCa: [pki.caPem], timeoutMs: 10_000 },
    publisher: { sleep: async () => {}, random: () => 0 },
    ...extra,
  });
  return { lines, invoke: () => handler(event) };
}

type Logged = {
  check?: string;
  name?: string;
  status?: string;
  durationMs?: number;
  findings?: { code: string }[];
  tls?: { earliestExpiry?: { daysToExpiry: number } };
  _aws?: unknown;
  msg?: string;
};
const parse = (lines: string[]): Logged[] => lines.map((l) => JSON.parse(l) as Logged);

function datum(name: string, target: string, value: number, unit: StandardUnit, check = 'smtp'): Partial<MetricDatum> {
  return {
    MetricName: name,
    Dimensions: [
      { Name: 'Check', Value: check },
      { Name: 'Target', Value: target },
    ],
    Value: value,
    Unit: unit,
    StorageResolution: 60,
  };
}

describe('smtp handler', () => {
  it('runs the shard, logs one result line each, publishes the exact metrics and returns the summary', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const { lines, invoke } = run('smtp', smtpShard());
    const summary = await invoke();

    expect(summary).toEqual({
      shard: 'smtp-5m-1',
      check: 'smtp',
      checks: 2,
      ok: 1,
      warning: 0,
      critical: 1,
      metrics: { datums: 8, requests: 1, retries: 0, published: 8, emfFallback: 0, errors: [] },
    });

    const logged = parse(lines);
    // Logged as each check finishes (completion order), so sort by name to compare.
    const results = logged
      .filter((l) => l.check === 'smtp' && l.findings)
      .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['expired', 'critical'],
      ['relay', 'ok'],
    ]);
    expect(results[0]!.findings!.map((f) => f.code)).toContain('CERT_EXPIRED');
    expect(logged.at(-1)).toMatchObject({ msg: 'probe run finished', shard: 'smtp-5m-1', critical: 1 });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    const [old, relay] = results as [Logged, Logged];
    const calls = cw.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.Namespace).toBe('MailProbe');
    const withoutTimestamps = input.MetricData!.map(({ Timestamp: _t, ...rest }) => rest);
    expect(withoutTimestamps).toEqual([
      datum('Success', 'relay', 1, 'Count'),
      datum('Duration', 'relay', relay.durationMs!, 'Milliseconds'),
      datum('FindingCount', 'relay', 0, 'Count'),
      datum('CertDaysToExpiry', 'relay', relay.tls!.earliestExpiry!.daysToExpiry, 'None'),
      datum('Success', 'expired', 0, 'Count'),
      datum('Duration', 'expired', old.durationMs!, 'Milliseconds'),
      datum('FindingCount', 'expired', old.findings!.length, 'Count'),
      datum('CertDaysToExpiry', 'expired', old.tls!.earliestExpiry!.daysToExpiry, 'None'),
    ]);
    // The expired leaf ended 10 days ago; the intermediate lasts years: the earliest is the leaf.
    expect(old.tls!.earliestExpiry!.daysToExpiry).toBeLessThanOrEqual(-10);
    expect(relay.tls!.earliestExpiry!.daysToExpiry).toBeGreaterThan(30);
  });

  it('never writes a secret to any log line or request', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const { lines, invoke } = run('smtp', smtpShard());
    await invoke();
    const everything = [
      ...lines,
      ...cw.commandCalls(PutMetricDataCommand).map((c) => JSON.stringify(c.args[0].input)),
    ].join('\n');
    for (const secret of SECRET_FORMS) expect(everything).not.toContain(secret);
    expect(good.authAttempts).toContainEqual(USER);
  });

  it('masks each target’s secret in its own result only: a one-letter password cannot garble a neighbour', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const shortArn = `${SECRET_ARN}-short`;
    sm.on(GetSecretValueCommand, { SecretId: shortArn }).resolves({
      SecretString: JSON.stringify({ username: 'u', password: 'e' }),
    });
    const shard = smtpShard();
    const specs = shard.specs.map((spec) =>
      spec.check === 'smtp' && spec.name === 'relay' ? { ...spec, auth: { secretArn: shortArn } } : spec,
    );
    const { lines, invoke } = run('smtp', { ...shard, specs });
    await invoke();
    const expiredLine = lines.find((l) => l.includes('"name":"expired"')) ?? '';
    const expiredResult = JSON.parse(expiredLine) as { findings: { code: string; message: string }[] };
    expect(expiredResult.findings[0]?.code).toBe('CERT_EXPIRED');
    expect(expiredResult.findings[0]?.message).toContain('expired on');
    expect(expiredLine).not.toContain('********');
  });

  it('retries a throttled PutMetricData and reports the retry', async () => {
    cw.on(PutMetricDataCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
      )
      .resolves({});
    const { lines, invoke } = run('smtp', smtpShard());
    const summary = await invoke();
    expect(summary.metrics).toEqual({ datums: 8, requests: 2, retries: 1, published: 8, emfFallback: 0, errors: [] });
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(2);
    expect(parse(lines).filter((l) => l._aws)).toEqual([]);
  });

  it('writes the metrics as EMF log lines when PutMetricData keeps failing', async () => {
    cw.on(PutMetricDataCommand).rejects(
      Object.assign(new Error('down'), { name: 'InternalServiceFault', $metadata: { httpStatusCode: 500 } }),
    );
    const { lines, invoke } = run('smtp', smtpShard());
    const summary = await invoke();
    expect(summary.metrics).toMatchObject({
      datums: 8,
      requests: 4,
      retries: 3,
      published: 0,
      emfFallback: 8,
      errors: ['InternalServiceFault (HTTP 500) after 4 attempts'],
    });
    const emf = parse(lines).filter((l) => l._aws) as (Logged & Record<string, unknown>)[];
    expect(emf.map((l) => [l['Check'], l['Target'], l['Success']])).toEqual([
      ['smtp', 'relay', 1],
      ['smtp', 'expired', 0],
    ]);
    expect(emf[0]!._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'MailProbe', Dimensions: [['Check', 'Target']] }],
    });
    expect(parse(lines).at(-1)).toMatchObject({ msg: 'probe run finished', metrics: { emfFallback: 8 } });
  });

  it('keeps state in the table and notifies once the failure held, with no secret in the message', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const deps = await stateDeps();
    const first = await run('smtp', { ...smtpShard(), alerts: { holdCount: 2 } }, deps).invoke();
    expect(first.alerts).toMatchObject({ evaluated: 2, sent: 0, stateUnavailable: 0, corrupt: 0 });
    expect(first.alerts?.stateError).toBeUndefined();
    const second = await run('smtp', { ...smtpShard(), alerts: { holdCount: 2 } }, deps).invoke();
    expect(second.alerts).toMatchObject({ evaluated: 2, sent: 1 });
    const published = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published.map((p) => p.Subject)).toEqual([
      expect.stringMatching(/^\[CRITICAL\] smtp expired \(127\.0\.0\.1:\d+\): CERT_EXPIRED/),
    ]);
    for (const secret of SECRET_FORMS) expect(JSON.stringify(published)).not.toContain(secret);
    // Two state items, read in one BatchGetItem per run and written with one PutItem each.
    expect(db.requests.filter((r) => r === 'BatchGetItem').length).toBeGreaterThanOrEqual(2);
  });

  it('with the table unreachable: checks and metrics still run, no notifications, counted in the summary', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const deps = await stateDeps();
    db.setFault('down');
    try {
      const { lines, invoke } = run(
        'smtp',
        { ...smtpShard(), alerts: { holdCount: 1 } },
        {
          ...deps,
          stateRetry: { sleep: async () => {}, maxAttempts: 2 },
        },
      );
      const summary = await invoke();
      expect(summary).toMatchObject({ checks: 2, ok: 1, critical: 1 });
      expect(summary.alerts).toMatchObject({ sent: 0, stateUnavailable: 2 });
      expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(1);
      expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
      expect(
        parse(lines).some((l) => l.msg === 'state could not be read; no notifications for these targets this run'),
      ).toBe(true);
      // Without state the result lines carry no `changes` (nothing to compare with).
      expect(
        parse(lines)
          .filter((l) => l.check === 'smtp')
          .every((l) => !('changes' in l)),
      ).toBe(true);
    } finally {
      db.setFault('none');
    }
  });

  it('records state without a topic (change detection in the logs), and sends nothing', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const deps = await stateDeps(false);
    const { lines, invoke } = run('smtp', smtpShard(), deps);
    const summary = await invoke();
    expect(summary.alerts).toMatchObject({ evaluated: 0, sent: 0, stateUnavailable: 0 });
    expect(
      parse(lines)
        .filter((l) => l.check === 'smtp' && 'startedAt' in l)
        .map((l) => (l as { changes?: unknown }).changes),
    ).toEqual([[], []]);
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('a replaced certificate: CERT_ROTATED in the log line and one "changed since the last run" notice, once', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const deps = await stateDeps();
    let relay = await startSmtpServer({ credentials: pki.credentials(await pki.issueLeaf()) });
    const shard = (): ShardEvent => ({
      ...smtpShard(),
      specs: [{ check: 'smtp', name: 'rotating', host: '127.0.0.1', port: relay.port, tls: 'starttls' }],
    });
    try {
      await run('smtp', shard(), deps).invoke();
      await relay.close();
      relay = await startSmtpServer({ credentials: pki.credentials(await pki.issueLeaf()) });
      const { lines, invoke } = run('smtp', shard(), deps);
      const summary = await invoke();
      expect(summary.alerts).toMatchObject({ sent: 1, changes: 1 });
      const logged = parse(lines).find((l) => l.check === 'smtp' && 'startedAt' in l) as {
        changes?: { code: string }[];
      };
      expect(logged.changes?.map((c) => c.code)).toEqual(['CERT_ROTATED']);
      const [notice] = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
      expect(notice!.Subject).toBe(`[CHANGED] smtp rotating (127.0.0.1:${relay.port}): CERT_ROTATED`);
      expect(notice!.MessageAttributes!['transition']).toEqual({ DataType: 'String', StringValue: 'changes' });
      expect(notice!.MessageAttributes!['code']).toEqual({ DataType: 'String', StringValue: 'CERT_ROTATED' });
      const email = (JSON.parse(notice!.Message!) as Record<string, string>)['email']!;
      expect(email).toContain('changed since the last run');
      expect(email).toMatch(/1\. \[INFO\] CERT_ROTATED: The leaf certificate changed: was "CN=localhost"/);
      // Reported once: the next run sees the same certificate.
      const again = await run('smtp', shard(), deps).invoke();
      expect(again.alerts).toMatchObject({ sent: 0, changes: 0 });
      expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });

  it('honours the notification settings of the shard: off for one target, or for all', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const deps = await stateDeps();
    const oneOff = await run(
      'smtp',
      { ...smtpShard(), alerts: { holdCount: 1, targets: { expired: { enabled: false } } } },
      deps,
    ).invoke();
    expect(oneOff.alerts?.evaluated).toBe(1);
    const allOff = await run('smtp', { ...smtpShard(), alerts: { enabled: false } }, deps).invoke();
    expect(allOff.alerts?.evaluated).toBe(0);
    await expect(run('smtp', { ...smtpShard(), alerts: { holdCount: 0 } }, deps).invoke()).rejects.toThrowError(
      /alerts must hold/,
    );
  });

  it('refuses an event that is not an smtp shard, so it fails into the dead-letter queue', async () => {
    await expect(run('smtp', { ...smtpShard(), check: 'tls' }).invoke()).rejects.toThrowError(
      /this is the smtp function, but the shard is for "tls"/,
    );
    await expect(run('smtp', { hello: 'world' }).invoke()).rejects.toThrowError(/unsupported event version/);
  });
});

describe('tls handler', () => {
  it('publishes no DhKeyBits for a server without DHE suites (issue 24), with CertDaysToExpiry', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const specs: TlsCheckSpec[] = [
      { check: 'tls', name: 'relay', host: '127.0.0.1', port: good.port, tls: 'starttls' },
    ];
    const event: ShardEvent = {
      version: 1,
      shard: 'tls-6h-1',
      check: 'tls',
      schedule: 'rate(6 hours)',
      specs,
      thresholds: DEFAULT_THRESHOLDS,
      allowPrivate: false,
      concurrency: 1,
    };
    const { invoke } = run('tls', event);
    const summary = await invoke();
    expect(summary.checks).toBe(1);
    const names = cw
      .commandCalls(PutMetricDataCommand)[0]!
      .args[0].input.MetricData!.map((d) => [d.MetricName, d.Dimensions![0]!.Value]);
    expect(names).toEqual([
      ['Success', 'tls'],
      ['Duration', 'tls'],
      ['FindingCount', 'tls'],
      ['CertDaysToExpiry', 'tls'],
    ]);
  });
});
