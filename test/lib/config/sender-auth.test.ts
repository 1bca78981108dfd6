/** The config keys of the sender-auth check, through validation and the plan (issue 23). */
import { describe, expect, it } from 'vitest';
import type { SenderAuthCheckSpec } from '../../../lambdas/engine/checks.js';
import { ConfigError, validateConfig } from '../../../lib/config/load.js';
import { PlanError, planConfig, type Plan } from '../../../lib/config/plan.js';

const plan = (raw: unknown): Plan => planConfig(validateConfig(raw));
const senderAuthSpecs = (p: Plan): SenderAuthCheckSpec[] =>
  p.shards.flatMap((s) => s.specs).filter((s): s is SenderAuthCheckSpec => s.check === 'sender-auth');

describe('sender-auth in the config', () => {
  it('a domain with senderAuth gets the check hourly, beside its mta-sts check', () => {
    const p = plan({ domains: [{ domain: 'Example.COM.', senderAuth: { dkimSelectors: ['s1', 'google'] } }] });
    expect(senderAuthSpecs(p)).toEqual([
      { check: 'sender-auth', domain: 'example.com', dkimSelectors: ['s1', 'google'] },
    ]);
    expect(p.targets.map((t) => [t.check, t.name, t.schedule])).toEqual([
      ['sender-auth', 'example.com', 'rate(1 hour)'],
      ['mta-sts', 'example.com', 'rate(1 hour)'],
    ]);
  });

  it('mtaSts: false leaves only sender-auth; with nothing else to check it is a config problem', () => {
    const p = plan({ domains: [{ domain: 'news.example.com', mtaSts: false, senderAuth: true }] });
    expect(p.targets.map((t) => t.check)).toEqual(['sender-auth']);
    expect(() => plan({ domains: [{ domain: 'news.example.com', mtaSts: false }] })).toThrow(
      /mtaSts is false and senderAuth is not set, so nothing is checked for news\.example\.com/,
    );
  });

  it('SES identities with senderAuth: one check per domain, selectors from SES; a domain also listed is checked once with both', () => {
    const p = plan({
      domains: [{ domain: 'example.com', mtaSts: false, senderAuth: { dkimSelectors: ['s1'] } }],
      targets: [
        {
          ses: {
            region: 'eu-west-1',
            account: { identities: ['example.com', 'billing@example.org', 'news@Example.org'], senderAuth: true },
          },
        },
      ],
    });
    expect(senderAuthSpecs(p)).toEqual([
      { check: 'sender-auth', domain: 'example.com', dkimSelectors: ['s1'], ses: { region: 'eu-west-1' } },
      { check: 'sender-auth', domain: 'example.org', ses: { region: 'eu-west-1' } },
    ]);
  });

  it('refuses a selector that is not DNS labels, with the path and the fix', () => {
    expect(() =>
      validateConfig({ domains: [{ domain: 'example.com', senderAuth: { dkimSelectors: ['bad selector'] } }] }),
    ).toThrow(ConfigError);
    try {
      validateConfig({ domains: [{ domain: 'example.com', senderAuth: { dkimSelectors: ['bad selector'] } }] });
    } catch (err) {
      expect(String((err as Error).message)).toMatch(/domains\[0\].*dkimSelectors.*expected a DKIM selector/s);
    }
  });

  it('senderAuth on an SES account without identities is a config problem', () => {
    expect(() => plan({ targets: [{ ses: { region: 'eu-west-1', account: { senderAuth: true } } }] })).toThrow(
      PlanError,
    );
  });
});
