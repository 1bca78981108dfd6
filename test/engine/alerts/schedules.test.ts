/**
 * Alert decisions from the stored history, for every schedule from 1 minute to 1 day,
 * holdCount 1–10 and reminders on or off: each row is a sequence of runs (status and
 * time) run through processAlerts and the real DynamoDB store (dynalite on loopback),
 * and the exact messages that go out. The expected columns are worked out by hand from
 * the rules in docs/alerting.md, not computed by the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finding, type Finding, type FindingCode, type Status } from '../../../lambdas/engine/findings.js';
import type { AlertableResult } from '../../../lambdas/engine/alerts/alert-facts.js';
import type { AlertMessage } from '../../../lambdas/engine/alerts/format.js';
import { processAlerts, type ProcessAlertsDeps } from '../../../lambdas/engine/alerts/probe-state.js';
import { DynamoStateStore } from '../../../lambdas/engine/state/dynamodb.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';

const S = 1_000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-23T00:00:00.000Z');

let db: RunningDynalite;
let tables = 0;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

/** `ok`, `W` (warning), `C` (critical, AUTH_FAILED), `X` (critical, CERT_EXPIRED). */
type Run = 'ok' | 'W' | 'C' | 'X';

interface Row {
  readonly name: string;
  readonly everyMs: number;
  readonly holdCount: number;
  /** 0: reminders off. */
  readonly reminderHours: number;
  readonly runs: string;
  /** Seconds each run starts late, by run index (Scheduler delivery, cold starts). */
  readonly lateS?: Readonly<Record<number, number>>;
  /** Extra gaps: the run at this index comes this much later than the schedule (missed runs). */
  readonly gapMs?: Readonly<Record<number, number>>;
  /** `kind@run index`. */
  readonly sent: readonly string[];
}

const repeat = (run: Run, n: number) => Array.from({ length: n }, () => run).join(' ');

const ROWS: readonly Row[] = [
  // The measurement: five critical runs six hours apart. The metric store sent nothing.
  {
    name: '6 h, hold 2, reminders off',
    everyMs: 6 * HOUR,
    holdCount: 2,
    reminderHours: 0,
    runs: repeat('C', 5),
    sent: ['raised@1'],
  },
  {
    name: '6 h, hold 2, reminders 24 h',
    everyMs: 6 * HOUR,
    holdCount: 2,
    reminderHours: 24,
    runs: repeat('C', 7),
    // Raised at 6 h, reminded 24 h later (30 h).
    sent: ['raised@1', 'reminder@5'],
  },
  // holdCount 1 used to see no previous run and page on every run.
  {
    name: '5 min, hold 1, reminders off',
    everyMs: 5 * MIN,
    holdCount: 1,
    reminderHours: 0,
    runs: 'ok C C C ok ok',
    sent: ['raised@1', 'resolved@4'],
  },
  // A daily schedule with holdCount >= 3 never alerted.
  {
    name: '1 day, hold 3, reminders 24 h',
    everyMs: DAY,
    holdCount: 3,
    reminderHours: 24,
    runs: repeat('C', 5),
    sent: ['raised@2', 'reminder@3', 'reminder@4'],
  },
  {
    name: '1 day, hold 10, reminders off',
    everyMs: DAY,
    holdCount: 10,
    reminderHours: 0,
    runs: `${repeat('C', 10)} ${repeat('ok', 10)}`,
    sent: ['raised@9', 'resolved@19'],
  },
  {
    name: '1 min, hold 2, reminders 1 h',
    everyMs: MIN,
    holdCount: 2,
    reminderHours: 1,
    runs: repeat('C', 62),
    // Raised at minute 1, reminded at minute 61.
    sent: ['raised@1', 'reminder@61'],
  },
  {
    name: '1 min, hold 5, reminders off, flapping then steady',
    everyMs: MIN,
    holdCount: 5,
    reminderHours: 0,
    runs: `ok C ok C C C C ok C ${repeat('C', 4)} ${repeat('ok', 5)}`,
    sent: ['raised@12', 'resolved@17'],
  },
  {
    name: '5 min, hold 2, reminders 24 h, flapping',
    everyMs: 5 * MIN,
    holdCount: 2,
    reminderHours: 24,
    runs: 'ok C ok C ok C ok C',
    sent: [],
  },
  {
    name: '15 min, hold 3, warning then critical',
    everyMs: 15 * MIN,
    holdCount: 3,
    reminderHours: 24,
    runs: 'ok W W W C C C ok ok ok',
    sent: ['raised@3', 'escalated@6', 'resolved@9'],
  },
  {
    name: '1 h, hold 2, reminders 24 h, runs starting late',
    everyMs: HOUR,
    holdCount: 2,
    reminderHours: 24,
    runs: repeat('C', 50),
    // The change goes out 30 s late, the next day's run starts on time: 23 h 59 min 30 s is a day.
    lateS: { 1: 30, 25: 0, 49: 20 },
    sent: ['raised@1', 'reminder@25', 'reminder@49'],
  },
  {
    name: '30 min, hold 2, reminders off, a different reason',
    everyMs: 30 * MIN,
    holdCount: 2,
    reminderHours: 0,
    runs: 'C C X X X ok ok',
    sent: ['raised@1', 'changed@3', 'resolved@6'],
  },
  {
    name: '5 min, hold 2, reminders 2 h, the probe stopped for 3 h',
    everyMs: 5 * MIN,
    holdCount: 2,
    reminderHours: 2,
    runs: 'C C C ok ok',
    // After the gap the target is still critical and the reminder is due; then it recovers.
    gapMs: { 2: 3 * HOUR },
    sent: ['raised@1', 'reminder@2', 'resolved@4'],
  },
  {
    name: '1 day, hold 1, reminders 24 h',
    everyMs: DAY,
    holdCount: 1,
    reminderHours: 24,
    runs: 'C C W ok',
    sent: ['raised@0', 'reminder@1', 'lowered@2', 'resolved@3'],
  },
];

const CODES: Record<Exclude<Run, 'ok'>, FindingCode> = { W: 'CERT_EXPIRING', C: 'AUTH_FAILED', X: 'CERT_EXPIRED' };
const STATUS: Record<Run, Status> = { ok: 'ok', W: 'warning', C: 'critical', X: 'critical' };

function result(run: Run, at: number): AlertableResult {
  const findings: Finding[] =
    run === 'ok' ? [] : [finding(CODES[run], `${CODES[run]} observed`, run === 'W' ? { severity: 'warning' } : {})];
  return {
    check: 'smtp',
    target: 'smtp.example.com:587',
    name: 'relay-eu',
    status: STATUS[run],
    startedAt: new Date(at).toISOString(),
    durationMs: 120,
    findings,
  };
}

describe('alert decisions for every schedule (real store: dynalite)', () => {
  it.each(ROWS)('$name: $runs', async (row) => {
    const table = `schedules-${++tables}`;
    await db.createTable(table);
    const runs = row.runs.split(' ') as Run[];
    const sent: string[] = [];
    const times: number[] = [];
    let at = T0;
    for (const [i, run] of runs.entries()) {
      if (i > 0) at += row.everyMs + (row.gapMs?.[i] ?? 0);
      const startedAt = at + (row.lateS?.[i] ?? 0) * S;
      times.push(startedAt);
      const deps: ProcessAlertsDeps = {
        store: new DynamoStateStore({ client: db.client, tableName: table, clock: { now: () => startedAt + 5 * S } }),
        notify: async (message: AlertMessage, about) => {
          sent.push(`${about.kind}@${times.indexOf(Date.parse(String(message.json['startedAt'])))}`);
          return true;
        },
        holdCount: row.holdCount,
        reminderIntervalMs: row.reminderHours * HOUR,
        redact: (text) => text,
        clock: { now: () => startedAt + 5 * S },
        log: () => {},
      };
      const summary = await processAlerts([result(run, startedAt)], deps);
      expect(summary.stateUnavailable).toBe(0);
    }
    expect(sent).toEqual(row.sent);
  });
});
