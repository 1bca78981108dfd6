/**
 * The one lookup of per-target alert settings the probe function and `mailprobe run --state`
 * share (shard/alerting.ts): the shard's defaults under the target's own.
 */
import { describe, expect, it } from 'vitest';
import { targetOf } from '../../../lambdas/engine/checks.js';
import type { BaseResult } from '../../../lambdas/engine/result.js';
import { policyLookup, targetAlertPolicy } from '../../../lambdas/engine/shard/alerting.js';
import type { ShardEvent } from '../../../lambdas/engine/shard/event.js';

const alerts: ShardEvent['alerts'] = {
  holdCount: 3,
  reminderIntervalMs: 0,
  targets: { quiet: { enabled: false }, eager: { holdCount: 1 } },
};

const result = (check: BaseResult['check'], target: string, name?: string): BaseResult => ({
  check,
  target,
  ...(name !== undefined ? { name } : {}),
  status: 'critical',
  startedAt: '2026-12-05T10:00:00.000Z',
  durationMs: 1,
  findings: [],
});

describe('targetAlertPolicy', () => {
  it('puts the target’s own settings over the shard’s defaults, field by field', () => {
    expect(targetAlertPolicy(alerts, 'quiet')).toEqual({ holdCount: 3, reminderIntervalMs: 0, enabled: false });
    expect(targetAlertPolicy(alerts, 'eager')).toEqual({ holdCount: 1, reminderIntervalMs: 0 });
    expect(targetAlertPolicy(alerts, 'other')).toEqual({ holdCount: 3, reminderIntervalMs: 0 });
    expect(targetAlertPolicy(undefined, 'other')).toEqual({});
  });
});

describe('policyLookup', () => {
  const shards: Pick<ShardEvent, 'alerts' | 'specs'>[] = [
    {
      alerts,
      specs: [
        { check: 'smtp', name: 'quiet', host: 'relay.example', port: 587 },
        { check: 'smtp', host: 'plain.example', port: 25 },
      ],
    },
    { alerts: { enabled: false }, specs: [{ check: 'sender-auth', domain: 'example.com' }] },
  ];
  const lookup = policyLookup(shards, (spec) => spec.name ?? targetOf(spec));

  it('finds each result’s settings by kind and name, as its shard carried them', () => {
    expect(lookup(result('smtp', 'relay.example:587', 'quiet'))).toEqual({
      holdCount: 3,
      reminderIntervalMs: 0,
      enabled: false,
    });
    expect(lookup(result('smtp', 'plain.example:25'))).toEqual({ holdCount: 3, reminderIntervalMs: 0 });
    expect(lookup(result('sender-auth', 'example.com'))).toEqual({ enabled: false });
    // Same name, another kind: not the smtp target's settings.
    expect(lookup(result('tls', 'relay.example:587', 'quiet'))).toBeUndefined();
  });
});
