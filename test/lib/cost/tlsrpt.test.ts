/**
 * `mailprobe cost` counts the TLS-RPT receivers: two metrics and one alarm per domain, one alarm
 * per receiver, and the Dropped alarm (one alarm metric per data limit: 3).
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../lib/config/load.js';
import { planConfig } from '../../../lib/config/plan.js';
import { estimateCost } from '../../../lib/cost/model.js';

describe('cost of the TLS-RPT receivers', () => {
  it('per domain 2 metrics (data in ~90 hours a month) and 1 alarm, plus 1 alarm per receiver and the Dropped alarm', () => {
    const domains = [{ domain: 'example.com', name: 'example' }, 'example.org'];
    const base = estimateCost(planConfig(validateConfig({ domains })));
    const both = estimateCost(
      planConfig(validateConfig({ domains, tlsRpt: { https: true, mail: { recipients: ['r@reports.example.com'] } } })),
    );
    const item = both.fixedItems.find((i) => i.item === 'TLS-RPT metrics and alarms');
    // 2 × (2 × 0.30 × 90/730 + 0.10) + 2 × 0.10 + 3 × 0.10 = 0.8479…
    expect(item?.usd).toBeCloseTo(2 * (2 * 0.3 * (90 / 730) + 0.1) + 2 * 0.1 + 3 * 0.1, 6);
    expect(base.fixedItems.some((i) => i.item.startsWith('TLS-RPT'))).toBe(false);
    const httpsOnly = estimateCost(
      planConfig(validateConfig({ domains, tlsRpt: { https: true, domains: ['example.com'] } })),
    );
    // 1 × (0.0740 + 0.10) + 0.10 + 3 × 0.10
    expect(httpsOnly.fixedItems.find((i) => i.item === 'TLS-RPT metrics and alarms')?.usd).toBeCloseTo(
      2 * 0.3 * (90 / 730) + 0.1 + 0.1 + 3 * 0.1,
      6,
    );
  });
});
