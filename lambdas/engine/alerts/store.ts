/**
 * Where the previous alert state lives: in CloudWatch, as one small metric per target.
 *
 * Why a metric and not the existing ones: `Success` tells critical from not-critical but
 * not warning from ok, and no existing metric holds the set of critical codes or whether
 * a message went out. Why not `DescribeAlarms`: the alarm has its own evaluation window
 * and only two states. Why not a table or an SSM parameter: it would add a resource, a
 * client to every bundle and write traffic, for a few bits per run. So each run writes
 * one datapoint `AlertState` (dimensions Check, Target) whose value packs
 *
 *     value = codesFingerprint * 8 + sent * 4 + statusRank      (statusRank: ok 0, warning 1, critical 2)
 *
 * (below 2^23, exact even in a float32), and the next run reads the last hours back with
 * `GetMetricData` and rebuilds the state: the last runs for the hold count, the last
 * message sent (change or reminder) as the announced state and `lastSentAt`. A publish
 * that failed is written with sent = 0, so the next run sends the change again.
 *
 * Costs and limits, stated so they can be weighed: one custom metric per target
 * (0.30 USD a month in the first tier); `GetMetricData` cannot be limited to a resource,
 * so its IAM statement names `*`; a 20-bit fingerprint means one code-set change in about
 * a million goes unannounced; CloudWatch makes a datapoint readable within about a minute,
 * so with schedules shorter than ~2 minutes a change may be announced twice.
 */
import type { CloudWatchClient, MetricDataQuery, MetricDatum } from '@aws-sdk/client-cloudwatch';
import { GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { Status } from '../findings.js';
import { DIMENSION_CHECK, DIMENSION_TARGET } from '../metrics/definitions.js';
import type { Backoff } from './retry.js';
import { withRetries } from './retry.js';
import type { AlertState, AnnouncedState, Observation } from './state.js';

export const ALERT_STATE_METRIC = 'AlertState';
/** Standard-resolution metrics keep 1-minute datapoints for 15 days; read no further back. */
export const MAX_LOOKBACK_MS = 14 * 24 * 60 * 60 * 1000;
/** CloudWatch API limits: queries per GetMetricData call, datums per PutMetricData call. */
const MAX_QUERIES_PER_CALL = 500;
const MAX_DATUMS_PER_CALL = 1000;
const PERIOD_SECONDS = 60;

const STATUS_RANK: Record<Status, number> = { ok: 0, warning: 1, critical: 2 };
const RANK_STATUS: readonly Status[] = ['ok', 'warning', 'critical'];

/** One alerting subject: the same dimensions as the other metrics (DESIGN.md §5). */
export interface AlertKey {
  readonly check: string;
  /** The target's name from the config, else `host:port`, domain or region. */
  readonly target: string;
}

export interface SaveEntry {
  readonly key: AlertKey;
  readonly observation: Observation;
  /** True when this run's message was published. */
  readonly sent: boolean;
  /** The full new state, for stores that keep it as such. */
  readonly state: AlertState;
}

export interface AlertStateStore {
  /** The state of each key before the run at `before` (epoch ms); throws when it cannot be read. */
  load(keys: readonly AlertKey[], before: number): Promise<Map<string, AlertState>>;
  save(entries: readonly SaveEntry[]): Promise<void>;
}

export function keyId(key: AlertKey): string {
  return `${key.check}\u0000${key.target}`;
}

export function encodeState(observation: Observation, sent: boolean): number {
  return observation.codes * 8 + (sent ? 4 : 0) + STATUS_RANK[observation.status];
}

export interface DecodedState {
  readonly status: Status;
  readonly codes: number;
  readonly sent: boolean;
}

export function decodeState(value: number): DecodedState | undefined {
  if (!Number.isInteger(value) || value < 0) return undefined;
  const status = RANK_STATUS[value % 4];
  if (status === undefined) return undefined;
  return { status, codes: Math.floor(value / 8), sent: (value & 4) !== 0 };
}

function sameState(a: DecodedState, b: DecodedState): boolean {
  return a.status === b.status && (a.status !== 'critical' || a.codes === b.codes);
}

/** Rebuilds the state from datapoints (any order); pure, so it is tested without AWS. */
export function stateFromHistory(points: readonly { at: number; value: number }[], holdCount: number): AlertState {
  const runs = points
    .map((p) => ({ at: p.at, state: decodeState(p.value) }))
    .filter((r): r is { at: number; state: DecodedState } => r.state !== undefined)
    .sort((a, b) => a.at - b.at);
  const hold = Math.max(1, Math.floor(holdCount));
  const recent: Observation[] = runs
    .slice(-hold)
    .map((r) => ({ at: r.at, status: r.state.status, codes: r.state.codes }));

  let announced: AnnouncedState | undefined;
  const lastSent = runs.findLastIndex((r) => r.state.sent);
  if (lastSent >= 0) {
    const sent = runs[lastSent]!;
    let start = lastSent;
    while (start > 0 && runs[start - 1]!.state.status !== 'ok') start -= 1;
    announced = {
      status: sent.state.status,
      codes: sent.state.codes,
      ...(sent.state.status === 'ok' ? {} : { failingSince: runs[start]!.at }),
      lastSentAt: sent.at,
    };
  } else {
    // Nothing sent within the window: the state that held at its start was announced earlier
    // (or never needed a message), so take the oldest one that held for the hold count.
    for (let i = 0; i + hold <= runs.length; i += 1) {
      const block = runs.slice(i, i + hold);
      if (block.every((r) => sameState(r.state, block[0]!.state))) {
        const s = block[0]!.state;
        announced = { status: s.status, codes: s.codes, ...(s.status === 'ok' ? {} : { failingSince: runs[0]!.at }) };
        break;
      }
    }
  }
  return { recent, ...(announced === undefined ? {} : { announced }) };
}

export interface CloudWatchAlertStoreProps {
  readonly client: CloudWatchClient;
  /** The metrics namespace (DESIGN.md §5). */
  readonly namespace: string;
  readonly holdCount: number;
  /** How far back to read; must exceed the reminder interval. Capped at MAX_LOOKBACK_MS. */
  readonly lookbackMs: number;
  /** Retries on throttling and 5xx. @default withRetries' defaults */
  readonly backoff?: Backoff;
}

function dimensions(key: AlertKey) {
  return [
    { Name: DIMENSION_CHECK, Value: key.check },
    { Name: DIMENSION_TARGET, Value: key.target },
  ];
}

export class CloudWatchAlertStore implements AlertStateStore {
  private readonly props: CloudWatchAlertStoreProps;

  constructor(props: CloudWatchAlertStoreProps) {
    this.props = props;
  }

  async load(keys: readonly AlertKey[], before: number): Promise<Map<string, AlertState>> {
    // End at the start of this run's minute: this run's own datapoint must not count as history.
    const end = Math.floor(before / 60_000) * 60_000;
    const start = end - Math.min(this.props.lookbackMs, MAX_LOOKBACK_MS);
    const points = new Map<string, { at: number; value: number }[]>();
    const unique = [...new Map(keys.map((k) => [keyId(k), k])).values()];

    for (let offset = 0; offset < unique.length; offset += MAX_QUERIES_PER_CALL) {
      const chunk = unique.slice(offset, offset + MAX_QUERIES_PER_CALL);
      const queries: MetricDataQuery[] = chunk.map((key, i) => ({
        Id: `q${i}`,
        MetricStat: {
          Metric: { Namespace: this.props.namespace, MetricName: ALERT_STATE_METRIC, Dimensions: dimensions(key) },
          Period: PERIOD_SECONDS,
          // Maximum: if two runs share a minute, prefer the one that recorded a sent message.
          Stat: 'Maximum',
        },
        ReturnData: true,
      }));
      let nextToken: string | undefined;
      do {
        const token = nextToken;
        const page = await withRetries(
          () =>
            this.props.client.send(
              new GetMetricDataCommand({
                MetricDataQueries: queries,
                StartTime: new Date(start),
                EndTime: new Date(end),
                NextToken: token,
              }),
            ),
          this.props.backoff,
        );
        for (const series of page.MetricDataResults ?? []) {
          const key = chunk[Number((series.Id ?? '').slice(1))];
          if (key === undefined) continue;
          const list = points.get(keyId(key)) ?? [];
          const timestamps = series.Timestamps ?? [];
          const values = series.Values ?? [];
          timestamps.forEach((t, i) => {
            const value = values[i];
            if (value !== undefined) list.push({ at: t.getTime(), value });
          });
          points.set(keyId(key), list);
        }
        nextToken = page.NextToken;
      } while (nextToken !== undefined);
    }

    const states = new Map<string, AlertState>();
    for (const key of unique)
      states.set(keyId(key), stateFromHistory(points.get(keyId(key)) ?? [], this.props.holdCount));
    return states;
  }

  async save(entries: readonly SaveEntry[]): Promise<void> {
    const data: MetricDatum[] = entries.map((e) => ({
      MetricName: ALERT_STATE_METRIC,
      Dimensions: dimensions(e.key),
      Timestamp: new Date(e.observation.at),
      Value: encodeState(e.observation, e.sent),
      Unit: 'None',
    }));
    for (let offset = 0; offset < data.length; offset += MAX_DATUMS_PER_CALL) {
      const batch = data.slice(offset, offset + MAX_DATUMS_PER_CALL);
      await withRetries(
        () => this.props.client.send(new PutMetricDataCommand({ Namespace: this.props.namespace, MetricData: batch })),
        this.props.backoff,
      );
    }
  }
}
