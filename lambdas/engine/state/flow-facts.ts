/**
 * What a flow remembers. Two items per flow, so that no two writers share one:
 * - the flow's log (`flow-log#<name>`, written by the flow run and the SES receiver): the
 *   tokens sent and not yet settled, SES arrivals not yet settled, recent latencies;
 * - the alerting item (`flow#<name>`, written by the alert pipeline like every check's): the
 *   facts change detection compares (each hop's TLS, the DKIM result, the latency).
 * Both are kept in the stores' TargetState.facts, so the DynamoDB and file stores hold them
 * without a new layout. Everything is read back defensively and capped.
 */
import { FINDINGS, type FindingCode } from '../findings.js';
import type { Change } from '../result.js';

/** Unsettled sends kept; at one send per 15 minutes this is 12 hours, far past any maxSeconds. */
export const MAX_PENDING = 48;
/** SES arrivals kept until the next run settles them (a DynamoDB item holds 64 KB: state/dynamodb.ts). */
export const MAX_LOGGED_ARRIVALS = 12;
/** Latencies kept for the median. */
export const MAX_LATENCIES = 20;
/** Hops kept per arrival in the log (the chain of a normal message is under ten). */
export const MAX_LOGGED_HOPS = 12;

export interface PendingSend {
  readonly token: string;
  readonly sentAt: number;
  /** The relay's reply to the end of DATA (queue id), reported when the message is lost. */
  readonly reply?: string;
}

/** An SES arrival as the receiver logs it (the Arrival of flow/arrival.ts, JSON-safe). */
export type LoggedArrival = Readonly<Record<string, unknown>> & { readonly token: string; readonly arrivedAt: number };

export interface FlowLog {
  readonly pending: readonly PendingSend[];
  readonly arrivals: readonly LoggedArrival[];
  /** Delivery latencies in ms, oldest first. */
  readonly latenciesMs: readonly number[];
}

export interface FlowFacts {
  /** Each hop of the last arrival as `by:transport` (tls, none, local, unknown), oldest first. */
  readonly hops?: readonly string[];
  readonly dkim?: string;
  readonly latencyMs?: number;
  /** The median of the flow's recent latencies before this one. */
  readonly medianMs?: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const shortString = (v: unknown, max = 512): v is string => typeof v === 'string' && v.length <= max;

export function parseFlowLog(value: unknown): FlowLog | undefined {
  if (!isRecord(value)) return undefined;
  const { pending, arrivals, latenciesMs } = value;
  if (!Array.isArray(pending) || !Array.isArray(arrivals) || !Array.isArray(latenciesMs)) return undefined;
  const sends: PendingSend[] = [];
  for (const p of pending.slice(-MAX_PENDING)) {
    if (!isRecord(p) || !shortString(p['token'], 256) || !isTime(p['sentAt'])) return undefined;
    if (p['reply'] !== undefined && typeof p['reply'] !== 'string') return undefined;
    sends.push({
      token: p['token'],
      sentAt: p['sentAt'],
      ...(typeof p['reply'] === 'string' ? { reply: p['reply'].slice(0, 512) } : {}),
    });
  }
  const logged: LoggedArrival[] = [];
  for (const a of arrivals.slice(-MAX_LOGGED_ARRIVALS)) {
    if (!isRecord(a) || !shortString(a['token'], 256) || !isTime(a['arrivedAt'])) return undefined;
    const hops = Array.isArray(a['hops']) ? a['hops'].slice(-MAX_LOGGED_HOPS) : [];
    logged.push({ ...a, hops, token: a['token'], arrivedAt: a['arrivedAt'] });
  }
  if (!latenciesMs.every(isTime)) return undefined;
  return { pending: sends, arrivals: logged, latenciesMs: (latenciesMs as number[]).slice(-MAX_LATENCIES) };
}

export function parseFlowFacts(value: unknown): FlowFacts | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, unknown> = {};
  if (value['hops'] !== undefined) {
    if (!Array.isArray(value['hops']) || !value['hops'].every((h) => shortString(h))) return undefined;
    out['hops'] = value['hops'].slice(-MAX_LOGGED_HOPS);
  }
  if (value['dkim'] !== undefined) {
    if (!shortString(value['dkim'], 32)) return undefined;
    out['dkim'] = value['dkim'];
  }
  for (const field of ['latencyMs', 'medianMs'] as const) {
    if (value[field] === undefined) continue;
    if (!isTime(value[field])) return undefined;
    out[field] = value[field];
  }
  return out as FlowFacts;
}

/** The flow facts of a flow result (`arrival` and `latency` fields), or undefined when nothing arrived. */
export function flowFactsOf(result: Record<string, unknown>): FlowFacts | undefined {
  const latest = result['latest'];
  if (!isRecord(latest)) return undefined;
  const hops = Array.isArray(latest['hops'])
    ? latest['hops'].filter(isRecord).map((h) => `${String(h['by'] ?? '?')}:${String(h['transport'] ?? 'unknown')}`)
    : undefined;
  const verdicts = isRecord(latest['verdicts']) ? latest['verdicts'] : {};
  const out: Record<string, unknown> = {};
  if (hops !== undefined) out['hops'] = hops.slice(-MAX_LOGGED_HOPS);
  if (typeof verdicts['dkim'] === 'string') out['dkim'] = verdicts['dkim'];
  if (isTime(latest['latencyMs'])) out['latencyMs'] = latest['latencyMs'];
  if (isTime(result['medianLatencyMs'])) out['medianMs'] = result['medianLatencyMs'];
  return out as FlowFacts;
}

function change(code: FindingCode, message: string, before: unknown, after: unknown): Change {
  return { code, severity: FINDINGS[code].severity, message, hint: FINDINGS[code].hint, before, after };
}

/** A hop that lost TLS, a DKIM result that changed, a latency over twice the recent median. */
export function flowChanges(previous: FlowFacts | undefined, current: FlowFacts | undefined): Change[] {
  if (previous === undefined || current === undefined) return [];
  const out: Change[] = [];
  if (previous.hops !== undefined && current.hops !== undefined) {
    const before = new Map(previous.hops.map((h) => splitHop(h)));
    for (const hop of current.hops) {
      const [by, transport] = splitHop(hop);
      if (transport === 'none' && before.get(by) === 'tls') {
        out.push(
          change(
            'FLOW_HOP_TLS_CHANGED',
            `The hop into ${by} used TLS on the last run and now carried the message in clear text.`,
            previous.hops,
            current.hops,
          ),
        );
      }
    }
  }
  if (previous.dkim !== undefined && current.dkim !== undefined && previous.dkim !== current.dkim) {
    out.push(
      change(
        'FLOW_DKIM_CHANGED',
        `The DKIM result went from ${previous.dkim} to ${current.dkim}.`,
        previous.dkim,
        current.dkim,
      ),
    );
  }
  if (
    current.latencyMs !== undefined &&
    current.medianMs !== undefined &&
    current.medianMs > 0 &&
    current.latencyMs > 2 * current.medianMs
  ) {
    out.push(
      change(
        'FLOW_LATENCY_DOUBLED',
        `Delivery took ${(current.latencyMs / 1000).toFixed(1)} s, more than twice the recent median of ${(current.medianMs / 1000).toFixed(1)} s.`,
        { medianMs: current.medianMs },
        { latencyMs: current.latencyMs },
      ),
    );
  }
  return out;
}

function splitHop(hop: string): [string, string] {
  const i = hop.lastIndexOf(':');
  return i < 0 ? [hop, 'unknown'] : [hop.slice(0, i), hop.slice(i + 1)];
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
