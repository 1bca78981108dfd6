/**
 * The state under faults, through the real store (dynalite on loopback): two overlapping
 * invocations, an unreadable item, a table that throttles or stops in the middle of a run.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finding, type Status } from '../../../lambdas/engine/findings.js';
import type { AlertableResult } from '../../../lambdas/engine/alerts/alert-facts.js';
import {
  openState,
  processAlerts,
  type AlertLog,
  type ProcessAlertsDeps,
} from '../../../lambdas/engine/alerts/probe-state.js';
import { DynamoStateStore } from '../../../lambdas/engine/state/dynamodb.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-23T00:00:00.000Z');

let db: RunningDynalite;
let table = '';
let tables = 0;
let logs: Parameters<AlertLog>[0][];
let sent: string[];

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  db.setFault('none');
  logs = [];
  sent = [];
  table = `faults-${++tables}`;
  await db.createTable(table);
});

function relay(status: Status, at: number): AlertableResult {
  return {
    check: 'smtp',
    target: 'smtp.example.com:587',
    name: 'relay-eu',
    status,
    startedAt: new Date(at).toISOString(),
    durationMs: 100,
    findings: status === 'critical' ? [finding('AUTH_FAILED', '535 5.7.8 rejected')] : [],
  };
}

/** The relay's run `i` (5 minutes apart), presenting the leaf `sha256`. */
function withCert(status: Status, i: number, sha256: string): AlertableResult {
  return {
    ...relay(status, T0 + i * 5 * MIN),
    tls: {
      certificate: {
        subject: 'CN=relay',
        issuer: 'CN=CA',
        notAfter: '2027-01-01T00:00:00.000Z',
        fingerprintSha256: sha256,
      },
    },
  };
}

function deps(at: number, overrides: Partial<ProcessAlertsDeps> = {}): ProcessAlertsDeps {
  return {
    store: new DynamoStateStore({
      client: db.client,
      tableName: table,
      clock: { now: () => at },
      sleep: async () => {},
      maxAttempts: 2,
    }),
    notify: async (_message, about) => {
      sent.push(`${about.kind}@${new Date(at).toISOString().slice(11, 16)}`);
      return true;
    },
    holdCount: 2,
    reminderIntervalMs: 0,
    redact: (text) => text,
    clock: { now: () => at },
    log: (entry) => logs.push(entry),
    ...overrides,
  };
}

const run = (status: Status, i: number, overrides: Partial<ProcessAlertsDeps> = {}) =>
  processAlerts([relay(status, T0 + i * 5 * MIN)], deps(T0 + i * 5 * MIN, overrides));

describe('state faults', () => {
  it('two overlapping invocations of the same shard: exactly one notifies, the other logs a lost race', async () => {
    await run('critical', 0);
    const at = T0 + 5 * MIN;
    const a = deps(at);
    const b = deps(at);
    const key = [{ check: 'smtp', target: 'relay-eu' }];
    // Both read the same version before either writes.
    const [stateA, stateB] = await Promise.all([openState(a.store, key, a.log), openState(b.store, key, b.log)]);
    const [sumA, sumB] = await Promise.all([
      stateA.commit([relay('critical', at)], a),
      stateB.commit([relay('critical', at)], b),
    ]);
    expect(sent).toEqual(['raised@00:05']);
    expect([sumA.sent, sumB.sent].sort()).toEqual([0, 1]);
    expect([sumA.conflicts, sumB.conflicts].sort()).toEqual([0, 1]);
    expect(logs.filter((l) => l.msg.startsWith('state changed by an overlapping run'))).toHaveLength(1);
    // The winner's state stands: the next run does not raise again.
    await run('critical', 2);
    expect(sent).toEqual(['raised@00:05']);
  });

  it('an unreadable item is logged and treated as no history: no burst, and it is rewritten', async () => {
    await run('critical', 0);
    await run('critical', 1);
    expect(sent).toEqual(['raised@00:05']);
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: 'smtp#relay-eu' }, v: { N: '2' }, schema: { N: '1' }, doc: { S: '{"runs": "garbage' } },
      }),
    );
    const summary = await run('ok', 2);
    // No history: an ok target is new and ok, so no "resolved" goes out; nothing crashes.
    expect(summary).toMatchObject({ sent: 0, corrupt: 1, stateUnavailable: 0 });
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'state item unreadable; treated as no history', reason: 'doc is not JSON' }),
    );
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'smtp#relay-eu' } } }));
    expect(item.Item?.['v']).toEqual({ N: '3' });
    expect(JSON.parse(item.Item!['doc']!.S!)).toMatchObject({ status: 'ok', runs: [{ status: 'ok' }] });
    expect(sent).toEqual(['raised@00:05']);
  });

  it('throttled writes: no notification that run (counted), checks keep their results, the next run sends', async () => {
    await run('critical', 0);
    db.setFault('throttle', 'PutItem');
    const throttled = await run('critical', 1);
    expect(throttled).toMatchObject({
      sent: 0,
      stateUnavailable: 1,
      stateError: 'ProvisionedThroughputExceededException (HTTP 400)',
    });
    expect(sent).toEqual([]);
    db.setFault('none');
    await run('critical', 2);
    expect(sent).toEqual(['raised@00:10']);
  });

  it('the table stops between the read and the write: nothing sent, nothing stored lost', async () => {
    await run('critical', 0);
    const at = T0 + 5 * MIN;
    const d = deps(at);
    const state = await openState(d.store, [{ check: 'smtp', target: 'relay-eu' }], d.log);
    db.setFault('down');
    const summary = await state.commit([relay('critical', at)], d);
    expect(summary).toMatchObject({ sent: 0, stateUnavailable: 1 });
    expect(sent).toEqual([]);
    db.setFault('none');
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'smtp#relay-eu' } } }));
    expect(item.Item?.['v']).toEqual({ N: '1' });
    await run('critical', 2);
    expect(sent).toEqual(['raised@00:10']);
  });

  it('a status alert and a change in the same run: one message that lists the change', async () => {
    const messages: string[] = [];
    const capture: Partial<ProcessAlertsDeps> = {
      notify: async (message, about) => {
        messages.push(`${about.kind}|${message.subject}|${message.text.includes('Changed since the last run (1):')}`);
        return true;
      },
    };
    await processAlerts([withCert('critical', 0, 'AA')], deps(T0, capture));
    const summary = await processAlerts([withCert('critical', 1, 'BB')], deps(T0 + 5 * MIN, capture));
    expect(summary).toMatchObject({ sent: 1, changes: 1 });
    expect(messages).toEqual([
      'raised|[CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED after CERT_ROTATED|true',
    ]);
  });

  it('a rotation that breaks the target pages at once with the change; with change notices off, after the hold', async () => {
    const runs = async (overrides: Partial<ProcessAlertsDeps>) => {
      for (const [i, status, sha] of [
        [0, 'ok', 'AA'],
        [1, 'ok', 'AA'],
        [2, 'critical', 'BB'],
        [3, 'critical', 'BB'],
        [4, 'critical', 'BB'],
      ] as const) {
        await processAlerts([withCert(status, i, sha)], deps(T0 + i * 5 * MIN, overrides));
      }
    };
    await runs({});
    expect(sent).toEqual(['raised@00:10']);
    // Another target state: a fresh table.
    table = `faults-${++tables}`;
    await db.createTable(table);
    sent = [];
    await runs({ notifyChanges: false });
    expect(sent).toEqual(['raised@00:15']);
  });

  it('a publish that fails is taken back out of the state, so the next run sends it', async () => {
    await run('critical', 0);
    const failing = await run('critical', 1, { notify: async () => false });
    expect(failing).toMatchObject({ sent: 0, failed: 1 });
    await run('critical', 2);
    expect(sent).toEqual(['raised@00:10']);
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'smtp#relay-eu' } } }));
    // Claim (v2), take back (v3), claim at 00:10 (v4).
    expect(item.Item?.['v']).toEqual({ N: '4' });
  });
});
