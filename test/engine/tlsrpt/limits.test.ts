/**
 * The receivers' daily counters against a real DynamoDB-compatible table (dynalite): atomic
 * under concurrency, expiring, and the probes' state read as the probes wrote it.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterKey, dayOf, DynamoDayCounters } from '../../../lambdas/engine/tlsrpt/limits.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';
import { putProbeState } from '../../../testkit/fixtures/tlsrpt/probe-state.js';

let db: RunningDynalite;
let counters: DynamoDayCounters;
const NOW = Date.parse('2026-11-30T06:00:00Z');

beforeAll(async () => {
  db = await startDynalite();
  await db.createTable('limits-state');
  counters = new DynamoDayCounters({ client: db.client, tableName: 'limits-state', maxAttempts: 1 });
});
afterAll(async () => {
  await db.close();
});

describe('DynamoDayCounters', () => {
  it('60 concurrent increments see each value from 1 to 60 exactly once (one atomic ADD each)', async () => {
    const values = await Promise.all(Array.from({ length: 60 }, () => counters.increment('burst', '2026-11-30')));
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // Another day is another counter.
    expect(await counters.increment('burst', '2026-12-01')).toBe(1);
    expect(db.requests.filter((op) => op === 'UpdateItem').length).toBeGreaterThanOrEqual(61);
  });

  it('a day set counts distinct members only', async () => {
    expect(await counters.addToSet('orgs', '2026-11-30', 'google.com')).toBe(1);
    expect(await counters.addToSet('orgs', '2026-11-30', 'google.com')).toBe(1);
    expect(await counters.addToSet('orgs', '2026-11-30', 'microsoft.com')).toBe(2);
  });

  it('hostile identifiers are kept printable and bounded in the key', () => {
    const key = counterKey(`reports-per-submitter#org:${'\u202e'.repeat(10)}${'x'.repeat(5000)}`, '2026-11-30');
    expect(key.startsWith('tlsrpt-day#2026-11-30#reports-per-submitter#org:??????????x')).toBe(true);
    expect(key.length).toBeLessThan(250);
    expect(dayOf(NOW)).toBe('2026-11-30');
  });

  it('reads the status a probe run wrote; a stale, missing or unreadable state is unknown', async () => {
    await putProbeState(db.client, 'limits-state', 'mta-sts', 'fresh', 'critical', NOW - 60_000);
    await putProbeState(db.client, 'limits-state', 'mta-sts', 'stale', 'critical', NOW - 5 * 86_400_000);
    await db.client.send(
      new PutItemCommand({
        TableName: 'limits-state',
        Item: { pk: { S: 'mta-sts#garbage' }, doc: { S: '{"status":' } },
      }),
    );
    const notBefore = NOW - 48 * 3_600_000;
    expect(await counters.probeState('mta-sts', 'fresh', notBefore)).toEqual({ status: 'critical', at: NOW - 60_000 });
    expect(await counters.probeState('mta-sts', 'stale', notBefore)).toBeUndefined();
    expect(await counters.probeState('mta-sts', 'absent', notBefore)).toBeUndefined();
    expect(await counters.probeState('mta-sts', 'garbage', notBefore)).toBeUndefined();
  });

  it('throttled: the error reaches the caller (the report is retried later, never let through uncounted)', async () => {
    db.setFault('throttle', 'UpdateItem');
    try {
      await expect(counters.increment('t', '2026-11-30')).rejects.toMatchObject({
        name: 'ProvisionedThroughputExceededException',
      });
    } finally {
      db.setFault('none');
    }
  });
});
