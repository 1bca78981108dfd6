import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { codesFingerprint } from '../lambdas/engine/alerts/state.js';
import { ALERT_STATE_METRIC, CloudWatchAlertStore, encodeState, keyId } from '../lambdas/engine/alerts/store.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-23T06:00:00.000Z');
const AUTH = codesFingerprint(['AUTH_FAILED']);
const cw = mockClient(CloudWatchClient);

beforeEach(() => cw.reset());

function store() {
  return new CloudWatchAlertStore({
    client: new CloudWatchClient({ region: 'eu-west-1' }),
    namespace: 'MailProbe',
    holdCount: 2,
    lookbackMs: 25 * HOUR,
  });
}

describe('CloudWatchAlertStore', () => {
  it('reads the window before this run, follows NextToken and rebuilds the state', async () => {
    const crit = (sent: boolean) => encodeState({ at: 0, status: 'critical', codes: AUTH }, sent);
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(T0 - 5 * MIN)], Values: [crit(false)] }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'q0', Timestamps: [new Date(T0 - 10 * MIN), new Date(T0 - 15 * MIN)], Values: [crit(true), 0] },
        ],
      });
    const key = { check: 'smtp', target: 'relay-eu' };
    const states = await store().load([key, key], T0 + 30_000);

    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.EndTime).toEqual(new Date(T0));
    expect(calls[0]!.StartTime).toEqual(new Date(T0 - 25 * HOUR));
    expect(calls[1]!.NextToken).toBe('page-2');
    // The duplicate key is queried once.
    expect(calls[0]!.MetricDataQueries).toEqual([
      {
        Id: 'q0',
        MetricStat: {
          Metric: {
            Namespace: 'MailProbe',
            MetricName: ALERT_STATE_METRIC,
            Dimensions: [
              { Name: 'Check', Value: 'smtp' },
              { Name: 'Target', Value: 'relay-eu' },
            ],
          },
          Period: 60,
          Stat: 'Maximum',
        },
        ReturnData: true,
      },
    ]);
    expect(states.get(keyId(key))).toEqual({
      recent: [
        { at: T0 - 10 * MIN, status: 'critical', codes: AUTH },
        { at: T0 - 5 * MIN, status: 'critical', codes: AUTH },
      ],
      announced: { status: 'critical', codes: AUTH, failingSince: T0 - 10 * MIN, lastSentAt: T0 - 10 * MIN },
    });
  });

  it('retries a throttled GetMetricData and PutMetricData', async () => {
    const throttled = () =>
      Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    cw.on(GetMetricDataCommand).rejectsOnce(throttled()).resolves({ MetricDataResults: [] });
    cw.on(PutMetricDataCommand).rejectsOnce(throttled()).resolves({});
    const key = { check: 'tls', target: 'mx1' };
    const quick = new CloudWatchAlertStore({
      client: new CloudWatchClient({ region: 'eu-west-1' }),
      namespace: 'MailProbe',
      holdCount: 2,
      lookbackMs: HOUR,
      backoff: { sleep: async () => {} },
    });
    expect((await quick.load([key], T0)).get(keyId(key))).toEqual({ recent: [] });
    await quick.save([{ key, observation: { at: T0, status: 'ok', codes: 0 }, sent: false, state: { recent: [] } }]);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(2);
  });

  it('splits 1,200 targets into API-sized calls', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    cw.on(PutMetricDataCommand).resolves({});
    const keys = Array.from({ length: 1_200 }, (_, i) => ({ check: 'mta-sts', target: `d${i}.example` }));
    const states = await store().load(keys, T0);
    expect(cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries!.length)).toEqual([
      500, 500, 200,
    ]);
    expect(states.get(keyId(keys[1_199]!))).toEqual({ recent: [] });

    await store().save(
      keys.map((key) => ({
        key,
        observation: { at: T0, status: 'ok' as const, codes: 0 },
        sent: false,
        state: { recent: [] },
      })),
    );
    expect(cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.MetricData!.length)).toEqual([1000, 200]);
  });
});
