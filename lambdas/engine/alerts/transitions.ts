/**
 * When to send: the pure transition decision. A status counts only once it has held for
 * `holdCount` consecutive runs, so one dropped connection does not page and a flapping
 * target (ok, critical, ok, critical…) sends nothing; each change is announced once;
 * while a target stays critical a reminder may go out every `reminderIntervalMs`.
 */
import type { Finding, Status } from '../findings.js';
import type { AlertTransition, Transition } from './format.js';
import type { AnnouncedState, Observation } from '../state/types.js';

// Stored with the state (state/types.ts); re-exported for the alert code that reads them.
export type { AnnouncedState, Observation } from '../state/types.js';

export const DEFAULT_HOLD_COUNT = 2;
export const DEFAULT_REMINDER_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** Fingerprints of the critical codes; 20 bits kept from the metric-based store, so stored values stay comparable. */
export const FINGERPRINT_BITS = 20;
/**
 * A reminder is due this much before the interval is complete: a scheduled run starts a few
 * seconds late now and then (cold start, Scheduler delivery), and a reminder must not slip a
 * whole schedule period for it (hourly runs, 24 h reminders: 23 h 59 min 50 s is a day);
 * below half the shortest schedule (1 min), so a reminder never comes a whole run early.
 */
export const REMINDER_TOLERANCE_MS = 30_000;

export interface AlertHistory {
  /** The latest runs, oldest first; only the last `holdCount` matter. */
  readonly recent: readonly Observation[];
  readonly announced?: AnnouncedState;
}

export interface AlertPolicy {
  /** Consecutive runs a new status must hold before it counts. @default 2 */
  readonly holdCount: number;
  /** Reminder interval while critical; 0 turns reminders off. @default 24 h */
  readonly reminderIntervalMs: number;
}

export interface Decision {
  readonly send: boolean;
  /** Set when `send` is true. */
  readonly transition?: AlertTransition;
  /** The state to keep once the message was published. */
  readonly state: AlertHistory;
  /** The state to keep when publishing failed: the change stays pending and is sent by a later run. */
  readonly unsentState: AlertHistory;
}

/** 20-bit FNV-1a over the sorted, de-duplicated critical codes; 0 is reserved for "none". */
export function codesFingerprint(codes: Iterable<string>): number {
  const sorted = [...new Set(codes)].sort();
  if (sorted.length === 0) return 0;
  let hash = 0x811c9dc5;
  for (const ch of sorted.join(',')) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // XOR-fold to 20 bits (the FNV authors' advice for short hashes), then avoid 0.
  const folded = ((hash >>> FINGERPRINT_BITS) ^ hash) & ((1 << FINGERPRINT_BITS) - 1);
  return folded === 0 ? 1 : folded;
}

export function observe(
  result: { readonly status: Status; readonly findings: readonly Finding[] },
  at: number,
): Observation {
  const critical = result.findings.filter((f) => f.severity === 'critical').map((f) => f.code);
  return { at, status: result.status, codes: result.status === 'critical' ? codesFingerprint(critical) : 0 };
}

const RANK: Record<Status, number> = { ok: 0, warning: 1, critical: 2 };

/** Same for alerting: same status, and for critical the same set of codes. */
function same(a: { status: Status; codes: number }, b: { status: Status; codes: number }): boolean {
  return a.status === b.status && (a.status !== 'critical' || a.codes === b.codes);
}

/** When the latest streak of failing runs (warning or critical) began; the runs are oldest first. */
function firstOfStreak(recent: readonly Observation[]): number {
  let first = recent[recent.length - 1]!.at;
  for (let i = recent.length - 1; i >= 0 && recent[i]!.status !== 'ok'; i--) first = recent[i]!.at;
  return first;
}

export function transitionKind(previous: Status, current: Status): Exclude<Transition, 'reminder'> {
  if (current === 'ok') return 'resolved';
  if (current === previous) return 'changed';
  if (RANK[current] > RANK[previous]) return previous === 'ok' ? 'raised' : 'escalated';
  return 'lowered';
}

export interface DecideOptions {
  /**
   * The run also found a change of the target's facts (a rotated certificate, another
   * policy, other MX hosts). A new status that comes with its cause is no flap: it is
   * announced at once, in one message with the change, instead of a change notice now and
   * the status alert `holdCount - 1` runs later ("rotated, TLSA not updated" as one alert).
   */
  readonly explained?: boolean;
}

/** Decides whether `current` is worth a message, given what was seen and announced before. */
export function decide(
  current: Observation,
  previous: AlertHistory | undefined,
  policy: AlertPolicy,
  options: DecideOptions = {},
): Decision {
  const hold = Math.max(1, Math.floor(policy.holdCount));
  const recent = [...(previous?.recent ?? []), current].slice(-hold);
  const announced = previous?.announced;
  // A target never seen before counts as ok, so one that fails from its first runs still pages.
  const baseline: AnnouncedState = announced ?? { status: 'ok', codes: 0 };
  const held = options.explained === true || (recent.length === hold && recent.every((o) => same(o, current)));
  const unsentState: AlertHistory = { recent, ...(announced === undefined ? {} : { announced }) };

  if (held && !same(baseline, current)) {
    // A failure starts at its first run; escalation or new codes do not restart it.
    const failingSince =
      current.status === 'ok'
        ? undefined
        : baseline.status !== 'ok'
          ? baseline.failingSince
          : firstOfStreak([...(previous?.recent ?? []), current]);
    // A recovery message tells how long the failure lasted.
    const reported = current.status === 'ok' ? baseline.failingSince : failingSince;
    const transition: AlertTransition = {
      kind: transitionKind(baseline.status, current.status),
      previousStatus: baseline.status,
      ...(reported === undefined ? {} : { failingSince: reported }),
    };
    const next: AnnouncedState = {
      status: current.status,
      codes: current.codes,
      ...(failingSince === undefined ? {} : { failingSince }),
      lastSentAt: current.at,
    };
    return { send: true, transition, state: { recent, announced: next }, unsentState };
  }

  const reminderDue =
    policy.reminderIntervalMs > 0 &&
    baseline.status === 'critical' &&
    current.status === 'critical' &&
    (baseline.lastSentAt === undefined ||
      current.at - baseline.lastSentAt >= Math.max(1, policy.reminderIntervalMs - REMINDER_TOLERANCE_MS));
  if (reminderDue) {
    const transition: AlertTransition = {
      kind: 'reminder',
      previousStatus: 'critical',
      ...(baseline.failingSince === undefined ? {} : { failingSince: baseline.failingSince }),
    };
    return {
      send: true,
      transition,
      state: { recent, announced: { ...baseline, lastSentAt: current.at } },
      unsentState,
    };
  }

  // A new target that holds ok is recorded as announced-ok without a message.
  const state: AlertHistory = announced === undefined && held ? { recent, announced: baseline } : unsentState;
  return { send: false, state, unsentState: state };
}
