/**
 * How a fleet alarm group reaches its Metrics Insights alarm (issue #20). Metrics Insights
 * alarms evaluate only the latest 3 hours, so a group can be alarmed on its own runs only
 * when its alarm span fits with a margin:
 *
 * - `direct`: period × SUCCESS_EVALUATION_PERIODS ≤ 2.5 h (schedules up to 50 minutes). The
 *   Success alarm's period is the schedule's.
 * - `heartbeat`: anything slower (mta-sts hourly, tls 6-hourly, daily checks). The same probe
 *   function runs a second schedule per shard every 15 minutes that probes nothing: it reads
 *   each target's last status from the state table and republishes `Success` with the target's
 *   dimensions (lambdas/engine/metrics/heartbeat.ts). The alarm's period is the heartbeat's, so
 *   a failing target is a named contributor within two heartbeats of the run that failed,
 *   whatever the schedule.
 *
 * Why not classic alarms per target for slow checks: a 10,000-endpoint fleet has 10,000 tls
 * targets, 40 times the alarm budget of one stack (AUTO_PER_TARGET_MAX_ALARMS); classic alarms
 * stay where the plan already uses them (per-target mode, ses-account). Why from the state
 * table: it already holds each target's last status (written by every run, read by the same
 * function's role), so the heartbeat needs no new permission and no new store.
 *
 * The certificate alarm evaluates one period, so it fits when one period does.
 */
import type { ShardHeartbeat } from '../../lambdas/engine/metrics/definitions.js';
import {
  FLEET_DIRECT_MAX_SPAN_SECONDS,
  HEARTBEAT_MAX_AGE_PERIODS,
  HEARTBEAT_PERIOD_SECONDS,
  HEARTBEAT_SCHEDULE,
  SUCCESS_EVALUATION_PERIODS,
} from './defaults.js';

export type FleetRoute = 'direct' | 'heartbeat';

/** The route of a fleet group's Success alarm, from its schedule's period. */
export function fleetRouteOf(periodSeconds: number): FleetRoute {
  return periodSeconds * SUCCESS_EVALUATION_PERIODS <= FLEET_DIRECT_MAX_SPAN_SECONDS ? 'direct' : 'heartbeat';
}

/** The period of a fleet group's Success alarm. */
export function fleetAlarmPeriodSeconds(periodSeconds: number): number {
  return fleetRouteOf(periodSeconds) === 'direct' ? periodSeconds : HEARTBEAT_PERIOD_SECONDS;
}

/** Whether a one-period Metrics Insights alarm (CertDaysToExpiry) fits the window with the margin. */
export function certInsightsCapable(periodSeconds: number): boolean {
  return periodSeconds <= FLEET_DIRECT_MAX_SPAN_SECONDS;
}

/** What a heartbeat-route shard carries in its metric settings; undefined for the direct route. */
export function heartbeatOf(periodSeconds: number): ShardHeartbeat | undefined {
  if (fleetRouteOf(periodSeconds) === 'direct') return undefined;
  return {
    schedule: HEARTBEAT_SCHEDULE,
    periodSeconds: HEARTBEAT_PERIOD_SECONDS,
    maxAgeSeconds: HEARTBEAT_MAX_AGE_PERIODS * periodSeconds,
  };
}
