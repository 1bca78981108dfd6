/**
 * The flow's log (state/flow-facts.ts) in either state store: read-modify-write with the
 * store's conditional write, retried a few times when another writer (the SES receiver,
 * an overlapping run) got in first, so no send and no arrival is lost to a race.
 */
import type { StateKey, StateStore, TargetState } from '../state/types.js';
import { MAX_LATENCIES, MAX_LOGGED_ARRIVALS, MAX_PENDING, type FlowLog } from '../state/flow-facts.js';
import { MailprobeError } from '../errors.js';

export const FLOW_LOG_CHECK = 'flow-log';
/** Attempts of one read-modify-write before giving up (each conflict means someone else progressed). */
const MAX_ATTEMPTS = 5;

export const EMPTY_LOG: FlowLog = { pending: [], arrivals: [], latenciesMs: [] };

export function flowLogKey(flow: string): StateKey {
  return { check: FLOW_LOG_CHECK, target: flow };
}

export class FlowLogError extends MailprobeError {
  override readonly name = 'FlowLogError';
}

function capped(log: FlowLog): FlowLog {
  return {
    pending: log.pending.slice(-MAX_PENDING),
    arrivals: log.arrivals.slice(-MAX_LOGGED_ARRIVALS),
    latenciesMs: log.latenciesMs.slice(-MAX_LATENCIES),
  };
}

export async function readFlowLog(store: StateStore, flow: string): Promise<FlowLog> {
  const key = flowLogKey(flow);
  const loaded = await store.load([key]);
  if (loaded.unavailable.length > 0)
    throw new FlowLogError(`the flow log could not be read: ${loaded.error ?? 'unavailable'}`);
  return loaded.states.get(`${key.check}#${key.target}`)?.state?.facts?.flowLog ?? EMPTY_LOG;
}

/**
 * Applies `change` to the stored log and writes it back; returns the log as written and
 * what `change` returned alongside it. Throws FlowLogError when the store fails.
 */
export async function updateFlowLog<T>(
  store: StateStore,
  flow: string,
  now: number,
  change: (log: FlowLog) => { log: FlowLog; value: T },
): Promise<{ log: FlowLog; value: T }> {
  const key = flowLogKey(flow);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const loaded = await store.load([key]);
    if (loaded.unavailable.length > 0) {
      throw new FlowLogError(`the flow log could not be read: ${loaded.error ?? 'unavailable'}`);
    }
    const stored = loaded.states.get(`${key.check}#${key.target}`) ?? { version: 'absent' as const };
    const before = stored.state?.facts?.flowLog ?? EMPTY_LOG;
    const { log, value } = change(before);
    const next = capped(log);
    const state: TargetState = {
      check: key.check,
      target: key.target,
      status: 'ok',
      since: stored.state?.since ?? now,
      updatedAt: now,
      runs: [],
      facts: { flowLog: next },
    };
    const [outcome] = await store.save([{ key, state, expected: stored.version }]);
    if (outcome?.kind === 'saved') return { log: next, value };
    if (outcome?.kind === 'failed') throw new FlowLogError(`the flow log could not be written: ${outcome.error}`);
  }
  throw new FlowLogError(`the flow log kept changing under ${MAX_ATTEMPTS} attempts to write it`);
}
