/**
 * The DynamoDB state store against dynalite on loopback, through the real SDK client:
 * batched reads, conditional writes, the TTL attribute, unreadable items, and a table
 * that throttles or goes away.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../../lambdas/engine/state/dynamodb.js';
import { STATE_TTL_DAYS } from '../../../lambdas/engine/state/table.js';
import { keyId, type StateKey, type TargetState } from '../../../lambdas/engine/state/types.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';

const T0 = Date.parse('2026-11-23T00:00:00.000Z');
let db: RunningDynalite;
let table = '';
let n = 0;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  db.setFault('none');
  table = `mailprobe-state-${++n}`;
  await db.createTable(table);
  db.requests.length = 0;
});

function store(overrides: Partial<ConstructorParameters<typeof DynamoStateStore>[0]> = {}) {
  return new DynamoStateStore({
    client: db.client,
    tableName: table,
    clock: { now: () => T0 },
    sleep: async () => {},
    ...overrides,
  });
}

function state(key: StateKey, status: TargetState['status'] = 'ok'): TargetState {
  return {
    check: key.check,
    target: key.target,
    status,
    since: T0,
    updatedAt: T0,
    runs: [{ at: T0, status, codes: 0 }],
  };
}

const relay: StateKey = { check: 'smtp', target: 'relay-eu' };

describe('DynamoStateStore', () => {
  it('reads a missing item as absent, writes it, and reads it back with its version', async () => {
    const s = store();
    const first = await s.load([relay]);
    expect(first.states.get(keyId(relay))).toEqual({ version: 'absent' });
    expect(await s.save([{ key: relay, expected: 'absent', state: state(relay, 'critical') }])).toEqual([
      { kind: 'saved', version: 1 },
    ]);
    const again = await s.load([relay]);
    expect(again.states.get(keyId(relay))).toEqual({ version: 1, state: state(relay, 'critical') });
    expect(again.corrupt).toEqual([]);
    expect(again.unavailable).toEqual([]);
  });

  it('reads 250 targets in 3 BatchGetItem round trips (100 keys each)', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => ({ check: 'smtp', target: `relay-${i}` }));
    const s = store();
    const saved = await s.save(keys.map((key) => ({ key, expected: 'absent' as const, state: state(key) })));
    expect(saved.every((o) => o.kind === 'saved')).toBe(true);
    db.requests.length = 0;
    const loaded = await s.load(keys);
    expect(db.requests.filter((r) => r === 'BatchGetItem')).toHaveLength(3);
    expect([...loaded.states.values()].filter((v) => v.version === 1)).toHaveLength(250);
  });

  it('writes conditionally: the second writer from the same version loses', async () => {
    const s = store();
    await s.save([{ key: relay, expected: 'absent', state: state(relay) }]);
    const [a, b] = await Promise.all([
      s.save([{ key: relay, expected: 1, state: state(relay, 'critical') }]),
      s.save([{ key: relay, expected: 1, state: state(relay, 'warning') }]),
    ]);
    expect([a![0]!.kind, b![0]!.kind].sort()).toEqual(['conflict', 'saved']);
    expect(await s.save([{ key: relay, expected: 'absent', state: state(relay) }])).toEqual([{ kind: 'conflict' }]);
  });

  it('a write whose response was lost is retried, and its own first write is not taken for a lost race', async () => {
    const s = store();
    db.loseResponses('PutItem', 1);
    expect(await s.save([{ key: relay, expected: 'absent', state: state(relay, 'critical') }])).toEqual([
      { kind: 'saved', version: 1 },
    ]);
    expect(db.requests.filter((r) => r === 'PutItem')).toHaveLength(2);
    // Someone else's write (same new version, another document) is still a conflict after a lost response.
    await store().save([{ key: relay, expected: 1, state: state(relay, 'ok') }]);
    db.loseResponses('PutItem', 1);
    expect(await s.save([{ key: relay, expected: 1, state: state(relay, 'warning') }])).toEqual([{ kind: 'conflict' }]);
  });

  it(`sets the TTL attribute expiresAt to the run plus ${STATE_TTL_DAYS} days, in epoch seconds`, async () => {
    await store().save([{ key: relay, expected: 'absent', state: state(relay) }]);
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'smtp#relay-eu' } } }));
    expect(item.Item?.['expiresAt']).toEqual({ N: String(T0 / 1000 + STATE_TTL_DAYS * 86_400) });
    expect(item.Item?.['v']).toEqual({ N: '1' });
    expect(item.Item?.['status']).toEqual({ S: 'ok' });
  });

  it('treats an item past its TTL as no history, but keeps its version for the next write', async () => {
    const s = store();
    await s.save([{ key: relay, expected: 'absent', state: state(relay, 'critical') }]);
    const later = store({ clock: { now: () => T0 + (STATE_TTL_DAYS + 1) * 86_400_000 } });
    const loaded = await later.load([relay]);
    expect(loaded.states.get(keyId(relay))).toEqual({ version: 1 });
    expect(await later.save([{ key: relay, expected: 1, state: state(relay) }])).toEqual([
      { kind: 'saved', version: 2 },
    ]);
  });

  it.each([
    ['a doc that is not JSON', { doc: { S: '{nope' } }, 'doc is not JSON'],
    ['another schema', { schema: { N: '7' } }, 'schema 7, expected 1'],
    [
      'wrong types',
      { doc: { S: JSON.stringify({ check: 'smtp', target: 'relay-eu', status: 'bad' }) } },
      'status must',
    ],
    ['a version that is not a number', { v: { S: 'one' } }, 'v is not a positive integer'],
  ])('reports %s as corrupt (no history) and can replace it', async (_what, patch, reason) => {
    const s = store();
    await s.save([{ key: relay, expected: 'absent', state: state(relay) }]);
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'smtp#relay-eu' } } }));
    await db.client.send(new PutItemCommand({ TableName: table, Item: { ...item.Item!, ...patch } }));
    const loaded = await s.load([relay]);
    expect(loaded.corrupt).toEqual([{ key: relay, reason: expect.stringContaining(reason) }]);
    const stored = loaded.states.get(keyId(relay))!;
    expect(stored.state).toBeUndefined();
    expect(await s.save([{ key: relay, expected: stored.version, state: state(relay, 'warning') }])).toEqual([
      { kind: 'saved', version: stored.version === 'invalid' ? 1 : 2 },
    ]);
    expect((await s.load([relay])).states.get(keyId(relay))?.state?.status).toBe('warning');
  });

  it('retries a throttled read a bounded number of times, then reports the keys as unavailable', async () => {
    db.setFault('throttle');
    const loaded = await store({ maxAttempts: 3 }).load([relay, { check: 'tls', target: 'relay-eu' }]);
    expect(loaded.unavailable).toHaveLength(2);
    expect(loaded.error).toBe('ProvisionedThroughputExceededException (HTTP 400)');
    expect(db.requests.filter((r) => r === 'BatchGetItem')).toHaveLength(3);
  });

  it('reports a failed write (throttled) without throwing, and a write to a stopped table', async () => {
    db.setFault('throttle', 'PutItem');
    expect(await store({ maxAttempts: 2 }).save([{ key: relay, expected: 'absent', state: state(relay) }])).toEqual([
      { kind: 'failed', error: 'ProvisionedThroughputExceededException (HTTP 400)' },
    ]);
    db.setFault('down');
    const [out] = await store({ maxAttempts: 2 }).save([{ key: relay, expected: 'absent', state: state(relay) }]);
    expect(out!.kind).toBe('failed');
    db.setFault('none');
    expect((await store().load([relay])).states.get(keyId(relay))).toEqual({ version: 'absent' });
  });

  it('asks again for UnprocessedKeys, and gives them up as unavailable after the bounded rounds', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => ({ check: 'tls', target: `relay-${i}` }));
    const s = store({ maxAttempts: 3, concurrency: 1 });
    await s.save(keys.map((key) => ({ key, expected: 'absent' as const, state: state(key) })));
    db.requests.length = 0;
    db.leaveUnprocessed(2);
    const loaded = await s.load(keys);
    // Batch 1 (100 keys): unprocessed, unprocessed, answered; batch 2 (50 keys): answered.
    expect(db.requests.filter((r) => r === 'BatchGetItem')).toHaveLength(4);
    expect(loaded.unavailable).toEqual([]);
    expect([...loaded.states.values()].filter((v) => v.version === 1)).toHaveLength(150);

    db.requests.length = 0;
    db.leaveUnprocessed(10);
    const starved = await store({ maxAttempts: 3 }).load(keys.slice(0, 10));
    expect(db.requests.filter((r) => r === 'BatchGetItem')).toHaveLength(3);
    expect(starved.unavailable).toHaveLength(10);
    expect(starved.error).toBe('UnprocessedKeys');
    db.leaveUnprocessed(0);
  });

  it('stops retrying when the time budget is spent', async () => {
    db.setFault('throttle');
    let now = T0;
    const s = store({
      maxAttempts: 100,
      budgetMs: 1_000,
      clock: { now: () => now },
      sleep: async (ms) => {
        now += ms + 400;
      },
      random: () => 1,
    });
    const loaded = await s.load([relay]);
    expect(loaded.unavailable).toEqual([relay]);
    expect(db.requests.filter((r) => r === 'BatchGetItem').length).toBeLessThan(5);
  });
});
