/**
 * The alert's "mailprobe's own mta-sts check now" line: read from the probes' state (the store
 * itself is tested against dynalite in limits.test.ts and through the HTTPS receiver).
 */
import { describe, expect, it } from 'vitest';
import type { DayCounters, ProbeStatus } from '../../../lambdas/engine/tlsrpt/limits.js';
import { lookUpVerdicts } from '../../../lambdas/engine/tlsrpt/verdict.js';

const AT = Date.parse('2026-11-30T05:00:00Z');

function counters(states: Record<string, ProbeStatus | Error>): Pick<DayCounters, 'probeState'> & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async probeState(check, target, notBefore) {
      asked.push(`${check}#${target}@${notBefore}`);
      const s = states[target];
      if (s instanceof Error) throw s;
      return s;
    },
  };
}

describe('the mta-sts verdict in a TLS-RPT alert', () => {
  it('is the last recorded status under the target name, "not critical" for warning and ok, unknown otherwise', async () => {
    const c = counters({
      bad: { status: 'critical', at: AT },
      meh: { status: 'warning', at: AT },
      down: Object.assign(new Error('timeout'), { name: 'TimeoutError' }),
    });
    const verdicts = await lookUpVerdicts(
      [
        { domain: 'bad.example', name: 'bad', mtaSts: true },
        { domain: 'meh.example', name: 'meh', mtaSts: true },
        { domain: 'new.example', name: 'new', mtaSts: true },
        { domain: 'down.example', name: 'down', mtaSts: true },
        { domain: 'other.example', name: 'other', mtaSts: false },
      ],
      { counters: c, notBefore: 1234 },
    );
    expect(Object.fromEntries(verdicts)).toEqual({
      'bad.example': { kind: 'known', status: 'critical', at: '2026-11-30T05:00:00.000Z' },
      'meh.example': { kind: 'known', status: 'not critical', at: '2026-11-30T05:00:00.000Z' },
      'new.example': { kind: 'none', reason: 'no recent mta-sts run recorded' },
      'down.example': { kind: 'none', reason: 'could not be read (TimeoutError)' },
      'other.example': { kind: 'none', reason: 'the domain is not an mta-sts target of the config' },
    });
    // Only mta-sts targets are looked up, by their config name, no older than asked.
    expect(c.asked).toEqual(['mta-sts#bad@1234', 'mta-sts#meh@1234', 'mta-sts#new@1234', 'mta-sts#down@1234']);
  });
});
