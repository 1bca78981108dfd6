/**
 * Issue #20, item 4: in fleet mode a failing 6-hourly tls target pages through its group's
 * Metrics Insights Success alarm, named as a contributor, within one alarm period. Real runs
 * of the tls handler against loopback relays (one with an expired certificate) write the
 * state to dynalite; heartbeat invocations of the same handler, 15 minutes apart on an
 * offset clock, read it back and republish; the datapoints they send (at the SDK boundary)
 * are evaluated with the synthesized alarm's own settings (testkit/alarm-eval.ts).
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runChecks } from '../../lambdas/engine/run/all.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { createProbeHandler } from '../../lambdas/handlers/probe.js';
import { validateConfig } from '../../lib/config/load.js';
import { planConfig, type Plan } from '../../lib/config/plan.js';
import { MailProbeStack } from '../../lib/mail-probe-stack.js';
import { firstAlarmAt, type AlarmRule, type Datapoint } from '../../testkit/alarm-eval.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const cw = mockClient(CloudWatchClient);
const MIN = 60_000;
const HOUR = 60 * MIN;

let pki: TestPki;
let good: RunningSmtp;
let expired: RunningSmtp;
let db: RunningDynalite;
let tables = 0;

beforeAll(async () => {
  pki = await createTestPki();
  good = await startSmtpServer({ credentials: pki.credentials() });
  expired = await startSmtpServer({ credentials: pki.credentials(await pki.expired()) });
  db = await startDynalite();
}, 60_000);
afterAll(async () => {
  await good.close();
  await expired.close();
  await db.close();
});
beforeEach(() => {
  cw.reset();
  cw.on(PutMetricDataCommand).resolves({});
});

function fleetPlan(): Plan {
  return planConfig(
    validateConfig({
      allowPrivate: true,
      alarms: { mode: 'fleet' },
      targets: [
        { name: 'relay-ok', host: '127.0.0.1', port: good.port, tls: 'starttls' },
        { name: 'relay-expired', host: '127.0.0.1', port: expired.port, tls: 'starttls' },
      ],
    }),
  );
}

/** The tls handler on a clock `offsetMs` ahead of real time, with the state table in dynalite. */
async function world(plan: Plan) {
  const table = `heartbeat-${++tables}`;
  await db.createTable(table);
  const shard = plan.shards.find((s) => s.check === 'tls')!;
  let offsetMs = 0;
  const lines: string[] = [];
  const handler = createProbeHandler('tls', runChecks, {
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    dynamodb: db.client,
    env: { METRIC_NAMESPACE: 'MailProbe', STATE_TABLE_NAME: table },
    writeLine: (line) => lines.push(line),
    context: { extraCa: [pki.caPem], timeoutMs: 10_000, clock: { now: () => Date.now() + offsetMs } },
    publisher: { sleep: async () => {}, random: () => 0 },
    stateRetry: { sleep: async () => {} },
  });
  const at = (simulatedMs: number) => {
    offsetMs = simulatedMs - Date.now();
  };
  return {
    table,
    shard,
    lines,
    run: async (simulatedMs: number, event: ShardEvent = shard) => {
      at(simulatedMs);
      return handler(event);
    },
    heartbeat: async (simulatedMs: number, event: ShardEvent = shard) => {
      at(simulatedMs);
      return handler({ ...event, heartbeat: true });
    },
  };
}

/** Every datum sent so far, flattened. */
function sent(): MetricDatum[] {
  return cw.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData ?? []);
}
const dim = (d: MetricDatum, name: string) => d.Dimensions?.find((x) => x.Name === name)?.Value;
const successOf = (target: string): Datapoint[] =>
  sent()
    .filter((d) => d.MetricName === 'Success' && dim(d, 'Target') === target)
    // Stored per minute, as CloudWatch keeps standard-resolution data: the few milliseconds the
    // publishing takes on the offset clock must not move a datapoint past the minute it was sent in.
    .map((d) => ({ atMs: Math.floor((d.Timestamp as Date).getTime() / MIN) * MIN, value: d.Value! }));

/** The start of the next UTC day: runs at T0 + k·6 h, heartbeats 1 minute past each quarter hour. */
const T0 = Math.ceil(Date.now() / (24 * HOUR)) * 24 * HOUR;

describe('the heartbeat route of a 6-hourly tls group in fleet mode', () => {
  it('plans a heartbeat on the tls shard and a 15-minute Success alarm that names the target', () => {
    const plan = fleetPlan();
    const tls = plan.alarmGroups.find((g) => g.check === 'tls')!;
    expect(tls).toMatchObject({ route: 'heartbeat', alarmPeriodSeconds: 900, periodSeconds: 21_600 });
    const smtp = plan.alarmGroups.find((g) => g.check === 'smtp')!;
    expect(smtp).toMatchObject({ route: 'direct', alarmPeriodSeconds: 300 });
    const shard = plan.shards.find((s) => s.check === 'tls')!;
    expect(shard.metrics?.heartbeat).toEqual({
      schedule: 'rate(15 minutes)',
      periodSeconds: 900,
      maxAgeSeconds: 43_200,
    });
    expect(plan.shards.find((s) => s.check === 'smtp')!.metrics?.heartbeat).toBeUndefined();

    const app = new App();
    const stack = new MailProbeStack(app, 'MailProbe', {
      plan,
      code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
      env: { account: '123456789012', region: 'us-east-1' },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `MailProbe-${tls.id}-Success`,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: [
        {
          Id: 'expr_1',
          Expression: `SELECT MIN(Success) FROM SCHEMA("MailProbe", Check, AlarmGroup, Target) WHERE Check = 'tls' AND AlarmGroup = '${tls.id}' GROUP BY Target`,
          Period: 900,
          ReturnData: true,
        },
      ],
    });
    // The heartbeat schedule: the same reference as the 6-hourly one, marked, every 15 minutes.
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as {
      Properties: { ScheduleExpression: string; Target: { Input: string } };
    }[];
    const inputs = schedules.map((s) => [s.Properties.ScheduleExpression, JSON.parse(s.Properties.Target.Input)]);
    const run = inputs.find(([e, i]) => e === 'rate(6 hours)' && i.shard === shard.shard)!;
    const beat = inputs.find(([e, i]) => e === 'rate(15 minutes)' && i.shard === shard.shard)!;
    expect(beat[1]).toEqual({ ...run[1], heartbeat: true });
    expect(inputs.filter(([e]) => e === 'rate(15 minutes)')).toHaveLength(1);
    // A target that stops reporting: the classic reporting alarm of tls every 6 h, silence breaching.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailProbe-tls-6h-TargetsReporting',
      MetricName: 'TargetsReporting',
      Period: 21_600,
      Threshold: 2,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  }, 120_000);

  it('republishes Success=0 for the failing target only, so its alarm fires within one alarm period of the run', async () => {
    const plan = fleetPlan();
    const w = await world(plan);
    const group = w.shard.metrics!.group!;
    const first = await w.run(T0);
    expect(first).toMatchObject({ checks: 2, critical: 1 });

    // A heartbeat every 15 minutes until the next run, 6 hours later.
    for (let k = 0; k < 24; k += 1) {
      const summary = await w.heartbeat(T0 + k * 15 * MIN + MIN);
      expect(summary.checks).toBe(0);
      expect(summary.heartbeat).toMatchObject({ ok: 1, critical: 1, unknown: 0, stale: 0, unavailable: 0 });
    }
    const beats = cw.commandCalls(PutMetricDataCommand).slice(1);
    expect(beats).toHaveLength(24);
    for (const [k, call] of beats.entries()) {
      // Exactly the failing target, with the dimensions its alarm queries, stamped at the heartbeat.
      expect(call.args[0].input.MetricData).toEqual([
        {
          MetricName: 'Success',
          Dimensions: [
            { Name: 'Check', Value: 'tls' },
            { Name: 'AlarmGroup', Value: group },
            { Name: 'Target', Value: 'relay-expired' },
          ],
          Timestamp: expect.any(Date),
          Value: 0,
          Unit: 'Count',
          StorageResolution: 60,
        },
      ]);
      // Stamped at the heartbeat (the offset clock runs on: the same minute).
      const stamped = (call.args[0].input.MetricData![0]!.Timestamp as Date).getTime();
      expect(Math.floor(stamped / MIN)).toBe((T0 + k * 15 * MIN + MIN) / MIN);
    }

    const rule: AlarmRule = {
      periodSeconds: 900,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      threshold: 1,
      comparison: 'LessThanThreshold',
      treatMissingData: 'notBreaching',
      statistic: 'Minimum',
    };
    // The run's own 0 (and the heartbeat a minute later, in the same 15-minute period), then the
    // heartbeat of the next period: 2 of 3 as it lands, 16 minutes after the run.
    expect(firstAlarmAt(rule, successOf('relay-expired'), T0, T0 + 6 * HOUR)).toBe(T0 + 16 * MIN);
    // Only the run's datapoint ever exists for the healthy target: never a contributor.
    expect(successOf('relay-ok').map((p) => p.value)).toEqual([1]);
    expect(firstAlarmAt(rule, successOf('relay-ok'), T0, T0 + 6 * HOUR)).toBeUndefined();
    // Without the heartbeat (the runs alone, 6 hours apart) the 3-hour window never holds 2 of them.
    const runsOnly = successOf('relay-expired').filter((p) => p.atMs === T0);
    expect(firstAlarmAt(rule, [...runsOnly, { atMs: T0 + 6 * HOUR, value: 0 }], T0, T0 + 12 * HOUR)).toBeUndefined();
    // Heartbeats publish no per-kind counts: TargetsReporting counts runs only.
    expect(sent().filter((d) => d.MetricName === 'TargetsReporting')).toHaveLength(1);
  }, 120_000);

  it('stops republishing once the target recovers, and when its probe stopped (stale state), leaving it to TargetsReporting', async () => {
    const plan = fleetPlan();
    const w = await world(plan);
    await w.run(T0);
    await w.heartbeat(T0 + 16 * MIN);
    expect(successOf('relay-expired').map((p) => p.value)).toEqual([0, 0]);

    // The next run finds the relay fixed (same name, now the relay with a valid certificate).
    const fixed: ShardEvent = {
      ...w.shard,
      specs: w.shard.specs.map((s) => (s.name === 'relay-expired' ? { ...s, port: good.port } : s)),
    };
    expect(await w.run(T0 + 6 * HOUR, fixed)).toMatchObject({ critical: 0 });
    const after = await w.heartbeat(T0 + 6 * HOUR + 16 * MIN, fixed);
    expect(after.heartbeat).toMatchObject({ ok: 2, critical: 0 });
    expect(after.metrics.datums).toBe(0);

    // The relay breaks again, then the probe stops: heartbeats republish the failure for two
    // periods after the last run, then leave the target out as stale.
    const broken = await world(plan);
    await broken.run(T0);
    const within = await broken.heartbeat(T0 + 12 * HOUR - MIN);
    expect(within.heartbeat).toMatchObject({ critical: 1, stale: 0 });
    const stale = await broken.heartbeat(T0 + 12 * HOUR + 15 * MIN);
    expect(stale.heartbeat).toMatchObject({ ok: 0, critical: 0, stale: 2 });
    expect(stale.metrics.datums).toBe(0);
    expect(broken.lines.some((l) => l.includes('"msg":"heartbeat finished"'))).toBe(true);
  }, 120_000);

  it('claims nothing it cannot read: a corrupt item is unknown, a throttled table leaves every target unavailable', async () => {
    const plan = fleetPlan();
    const w = await world(plan);
    await w.run(T0);
    // A hand-edited item: not this schema, so "no history" for that target.
    await db.client.send(
      new PutItemCommand({
        TableName: w.table,
        Item: { pk: { S: 'tls#relay-expired' }, v: { N: '99' }, doc: { S: '{"not":"a state"' } },
      }),
    );
    const corrupt = await w.heartbeat(T0 + 16 * MIN);
    expect(corrupt.heartbeat).toMatchObject({ ok: 1, critical: 0, unknown: 1, unavailable: 0 });
    expect(corrupt.metrics.datums).toBe(0);

    db.setFault('throttle', 'BatchGetItem');
    try {
      const throttled = await w.heartbeat(T0 + 31 * MIN);
      expect(throttled.heartbeat).toMatchObject({ ok: 0, critical: 0, unknown: 0, unavailable: 2 });
      expect(throttled.heartbeat?.error).toMatch(/ProvisionedThroughputExceeded/);
      expect(throttled.metrics.datums).toBe(0);
    } finally {
      db.setFault('none');
    }
  }, 60_000);

  it('refuses a heartbeat for a shard without heartbeat settings (a deployment bug, into the dead-letter queue)', async () => {
    const plan = fleetPlan();
    const w = await world(plan);
    const { heartbeat: _unused, ...metrics } = w.shard.metrics!;
    await expect(w.heartbeat(T0, { ...w.shard, metrics })).rejects.toThrowError(/has no heartbeat settings/);
  }, 60_000);
});
