/**
 * The config's `dnssec.trustAnchors`: validated with the rest of the config, carried by the
 * plan into every shard, refused by the handlers' event check when malformed.
 */
import { describe, expect, it } from 'vitest';
import { parseShardEvent, ShardEventError } from '../../../lambdas/engine/shard/event.js';
import { ConfigError, validateConfig } from '../../../lib/config/load.js';
import { planConfig, PlanError } from '../../../lib/config/plan.js';

const ANCHOR = 'example.internal. IN DS 12345 13 2 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08';

describe('dnssec.trustAnchors', () => {
  it('reaches every shard of the plan', () => {
    const plan = planConfig(validateConfig({ domains: ['example.internal'], dnssec: { trustAnchors: ANCHOR } }));
    expect(plan.shards.map((s) => [s.check, s.trustAnchors])).toEqual([['mta-sts', ANCHOR]]);
    expect(parseShardEvent(plan.shards[0], 'mta-sts').trustAnchors).toBe(ANCHOR);
  });

  it('is absent from the shards when not configured', () => {
    const plan = planConfig(validateConfig({ domains: ['example.com'] }));
    expect(plan.shards[0]).not.toHaveProperty('trustAnchors');
  });

  it('names the path and the problem when the records are malformed', () => {
    expect(() => validateConfig({ dnssec: { trustAnchors: 'example.com IN DS 1 8 2 00' } })).toThrow(ConfigError);
    expect(() => validateConfig({ dnssec: { trustAnchors: 'example.com IN DS 1 8 2 00' } })).toThrow(
      /dnssec\.trustAnchors: invalid trust anchors: line 1: owner "example\.com" must be fully qualified/,
    );
  });

  it('a shard whose trustAnchors is not a string is refused', () => {
    const plan = planConfig(validateConfig({ domains: ['example.com'] }));
    expect(() => parseShardEvent({ ...plan.shards[0], trustAnchors: 42 }, 'mta-sts')).toThrow(ShardEventError);
  });

  it('dane: true on a port-25 target reaches the smtp spec only; other ports are refused', () => {
    const plan = planConfig(
      validateConfig({ targets: [{ name: 'mx', host: 'mx.example.com', port: 25, dane: true }] }),
    );
    expect(plan.shards.map((s) => [s.check, s.specs.map((spec) => 'dane' in spec && spec.dane)])).toEqual([
      ['smtp', [true]],
      ['tls', [false]],
    ]);
    expect(() =>
      planConfig(validateConfig({ targets: [{ host: 'relay.example.com', port: 587, dane: true }] })),
    ).toThrow(PlanError);
    expect(() =>
      planConfig(validateConfig({ targets: [{ host: 'relay.example.com', port: 587, dane: true }] })),
    ).toThrow(/targets\[0\]\.dane: DANE for SMTP \(RFC 7672\) is for port 25/);
  });
});
