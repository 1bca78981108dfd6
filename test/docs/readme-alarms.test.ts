/**
 * Issue #20, item 5: the table of which alarm pages for a failing target and for a target
 * that stops reporting, over schedule × alarm mode × metric mode, computed from the plan and
 * the synthesized alarms (scripts/alarm-coverage.ts); the README's copy is current, and the
 * guarantees of item 4 hold in every cell.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { periodSecondsOf } from '../../lib/config/plan.js';
import { coverageTable, SCHEDULES, type CoverageRow } from '../../scripts/alarm-coverage.js';
import { withAlarmSection } from '../../scripts/alarm-doc.js';

let rows: CoverageRow[];
beforeAll(() => {
  rows = coverageTable();
}, 300_000);

describe('which alarm pages, and when', () => {
  it('is in the README as generated (run `npx tsx scripts/alarm-doc.ts --write`)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withAlarmSection(readme, rows)).toBe(readme);
  });

  it('covers every schedule × alarm mode × metric mode', () => {
    expect(rows).toHaveLength(SCHEDULES.length * 2 * 3);
  });

  it('pages for every failing target within one schedule period of the failure being confirmed, naming it unless metrics are aggregate', () => {
    for (const r of rows) {
      const periodMin = periodSecondsOf(r.schedule) / 60;
      const where = `${r.schedule} ${r.alarmMode} ${r.metricsMode}`;
      expect(r.failing, where).toBeDefined();
      expect(r.failing!.namesTarget, where).toBe(r.metricsMode !== 'aggregate');
      // The second failing run (2 of 3) lands one period after the first, plus the Scheduler's
      // spread; the heartbeat pages after one 15-minute heartbeat whatever the schedule.
      if (r.route === 'heartbeat') expect(r.failing!.minutes, where).toBeLessThanOrEqual(16);
      else expect(r.failing!.minutes, where).toBeLessThanOrEqual(periodMin + 1);
    }
  });

  it('takes the heartbeat route exactly for fleet groups whose 3 periods reach past 2.5 hours', () => {
    for (const r of rows) {
      const slow = periodSecondsOf(r.schedule) * 3 > 2.5 * 3600;
      const fleet = r.alarmMode === 'fleet' && r.metricsMode !== 'aggregate';
      expect(r.route, `${r.schedule} ${r.alarmMode} ${r.metricsMode}`).toBe(
        fleet ? (slow ? 'heartbeat' : 'direct') : 'classic',
      );
      if (r.route === 'heartbeat') expect(r.failing!.alarm).toMatch(/^<stack>-smtp-\d+[mhd]-g1-Success$/);
    }
  });

  it('pages for a target that stops reporting within two periods: its own alarm (per-target) or TargetsReporting', () => {
    for (const r of rows) {
      const periodMin = periodSecondsOf(r.schedule) / 60;
      const where = `${r.schedule} ${r.alarmMode} ${r.metricsMode}`;
      expect(r.stopped, where).toBeDefined();
      expect(r.stopped!.minutes, where).toBeLessThanOrEqual(2 * periodMin);
      if (r.alarmMode === 'fleet' || r.metricsMode === 'aggregate') {
        // A Metrics Insights contributor that stops publishing drops out: the reporting alarm pages.
        expect(r.stopped!.alarm, where).toMatch(/-TargetsReporting$/);
      } else {
        expect(r.stopped!.alarm, where).toBe('<stack>-smtp-<target>-Success');
      }
    }
  });
});
