/**
 * Settling: every earlier send is matched with its arrival (by token), or stays pending
 * until maxSeconds, or is declared lost. Pure; the runner reads and writes the log.
 */
import type { PendingSend } from '../state/flow-facts.js';

export interface Delivery<A> {
  readonly send: PendingSend;
  readonly arrival: A;
  /** Arrival time minus send time, never negative (clocks of two machines). */
  readonly latencyMs: number;
}

export interface Settlement<A> {
  readonly delivered: readonly Delivery<A>[];
  /** Not arrived, still within maxSeconds: checked again next run. */
  readonly waiting: readonly PendingSend[];
  /** Not arrived after maxSeconds. */
  readonly lost: readonly PendingSend[];
  /** Arrivals whose token matches no send (already settled, or from another run's log): ignored. */
  readonly unmatched: readonly A[];
}

export function settle<A extends { readonly token: string; readonly arrivedAt: number }>(
  pending: readonly PendingSend[],
  arrivals: readonly A[],
  now: number,
  maxMs: number,
): Settlement<A> {
  const byToken = new Map<string, A>();
  for (const a of arrivals) if (!byToken.has(a.token)) byToken.set(a.token, a);
  const delivered: Delivery<A>[] = [];
  const waiting: PendingSend[] = [];
  const lost: PendingSend[] = [];
  const used = new Set<string>();
  for (const send of pending) {
    const arrival = byToken.get(send.token);
    if (arrival !== undefined) {
      used.add(send.token);
      delivered.push({ send, arrival, latencyMs: Math.max(0, arrival.arrivedAt - send.sentAt) });
    } else if (now - send.sentAt >= maxMs) {
      // At maxSeconds exactly it is lost: a CLI run that waited maxSeconds gets its answer, not "still waiting".
      lost.push(send);
    } else waiting.push(send);
  }
  return { delivered, waiting, lost, unmatched: arrivals.filter((a) => !used.has(a.token)) };
}
