/**
 * The heartbeat of a slow fleet group (lib/config/fleet-route.ts): an invocation that probes
 * nothing, reads each target's last status from the state store and, for each target whose
 * last run was critical, republishes `Success` = 0 with the same dimensions as the run did,
 * stamped now. Metrics Insights alarms see only the latest 3 hours, so a tls target that
 * failed its 6-hourly run stays a contributor of its group's Success alarm, and is named in
 * it, until the next run says otherwise.
 *
 * Only failures are republished: a healthy target's `1` would change no alarm (the alarm
 * treats a group without data as not breaching; silence is the reporting alarm's business),
 * but it would give its metric data in every hour, and CloudWatch bills a custom metric by
 * the hours with data: up to $0.25 per 6-hourly target a month, for nothing.
 *
 * What is left out, on purpose:
 * - a target with no state yet (never run) or a state the store could not read: nothing is
 *   known, so nothing is claimed;
 * - a state older than `maxAgeSeconds`: the probe stopped, and republishing its last status
 *   would keep a stopped probe looking healthy. The series drops out and the kind's
 *   TargetsReporting alarm (published by real runs only) fires.
 * The per-kind counts are not republished either: they count runs, which a heartbeat is not.
 */
import type { StateKey, StateStore } from '../state/types.js';
import { keyId } from '../state/types.js';
import type { Datum, ShardMetrics } from './definitions.js';

export interface HeartbeatTarget extends StateKey {
  readonly check: Datum['dimensions']['Check'];
}

export interface HeartbeatOutcome {
  readonly datums: readonly Datum[];
  /** Targets whose fresh last status is not critical (nothing published) and critical (Success = 0 published). */
  readonly ok: number;
  readonly critical: number;
  /** Targets with no usable state (never run, corrupt item). */
  readonly unknown: number;
  /** Targets whose last run is older than maxAgeSeconds. */
  readonly stale: number;
  /** Targets the store could not read this time. */
  readonly unavailable: number;
  readonly error?: string;
}

/**
 * The datums a heartbeat publishes for `targets`, from what the store holds at `nowMs`.
 * Never throws for a store fault (the store reports unavailable keys instead).
 */
export async function heartbeatDatums(
  store: StateStore,
  targets: readonly HeartbeatTarget[],
  settings: ShardMetrics,
  nowMs: number,
): Promise<HeartbeatOutcome> {
  const heartbeat = settings.heartbeat;
  if (heartbeat === undefined) throw new Error('heartbeatDatums: the shard has no heartbeat settings');
  const loaded = await store.load(targets);
  const unavailable = new Set(loaded.unavailable.map(keyId));
  const timestamp = new Date(nowMs);
  const datums: Datum[] = [];
  let ok = 0;
  let critical = 0;
  let unknown = 0;
  let stale = 0;
  for (const target of targets) {
    const id = keyId(target);
    if (unavailable.has(id)) continue;
    const state = loaded.states.get(id)?.state;
    if (state === undefined) {
      unknown += 1;
      continue;
    }
    if (nowMs - state.updatedAt > heartbeat.maxAgeSeconds * 1000) {
      stale += 1;
      continue;
    }
    // The same rule as the run's own Success datum (from-result.ts): only critical is a failure.
    if (state.status !== 'critical') {
      ok += 1;
      continue;
    }
    critical += 1;
    datums.push({
      metric: 'Success',
      value: 0,
      dimensions: {
        Check: target.check,
        ...(settings.group !== undefined ? { AlarmGroup: settings.group } : {}),
        Target: target.target,
      },
      timestamp,
    });
  }
  return {
    datums,
    ok,
    critical,
    unknown,
    stale,
    unavailable: unavailable.size,
    ...(loaded.error !== undefined ? { error: loaded.error } : {}),
  };
}
