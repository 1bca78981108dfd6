/**
 * Reads a stored state back, trusting nothing: an item edited by hand, written by another
 * schema version or with wrong types yields a reason instead of a state, and the caller
 * treats the target as having no history (never a crash, never a burst of notifications).
 */
import type { Status } from '../findings.js';
import type { AnnouncedState, Observation } from './types.js';
import { parseFacts } from './facts.js';
import { MAX_RUNS, type LastNotification, type TargetState } from './types.js';
import { MailprobeError } from '../errors.js';

const STATUSES: ReadonlySet<string> = new Set(['ok', 'warning', 'critical']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStatus = (v: unknown): v is Status => typeof v === 'string' && STATUSES.has(v);

export class CorruptStateError extends MailprobeError {
  override readonly name = 'CorruptStateError';
}

function fail(reason: string): never {
  throw new CorruptStateError(reason);
}

function observation(v: unknown, i: number): Observation {
  if (!isRecord(v) || !isTime(v['at']) || !isStatus(v['status']) || !isTime(v['codes'])) {
    fail(`runs[${i}] must be { at, status, codes }`);
  }
  return { at: v['at'], status: v['status'], codes: v['codes'] };
}

function announced(v: unknown): AnnouncedState {
  if (!isRecord(v) || !isStatus(v['status']) || !isTime(v['codes'])) fail('announced must hold status and codes');
  const { failingSince, lastSentAt } = v;
  if (failingSince !== undefined && !isTime(failingSince)) fail('announced.failingSince must be a time');
  if (lastSentAt !== undefined && !isTime(lastSentAt)) fail('announced.lastSentAt must be a time');
  return {
    status: v['status'],
    codes: v['codes'],
    ...(failingSince === undefined ? {} : { failingSince }),
    ...(lastSentAt === undefined ? {} : { lastSentAt }),
  };
}

function lastNotification(v: unknown): LastNotification {
  if (!isRecord(v) || typeof v['kind'] !== 'string' || !isTime(v['at'])) fail('lastNotification must be { kind, at }');
  return { kind: v['kind'], at: v['at'] };
}

/**
 * The state of `check`/`target` from its stored form; throws CorruptStateError with the
 * reason when anything is off (including an item that belongs to another key).
 */
export function decodeState(value: unknown, check: string, target: string): TargetState {
  if (!isRecord(value)) fail('not an object');
  if (value['check'] !== check || value['target'] !== target) fail('stored under another key');
  if (!isStatus(value['status'])) fail('status must be ok, warning or critical');
  if (!isTime(value['since']) || !isTime(value['updatedAt'])) fail('since and updatedAt must be times (epoch ms)');
  const runs = value['runs'];
  if (!Array.isArray(runs) || runs.length > MAX_RUNS) fail(`runs must be an array of at most ${MAX_RUNS}`);
  const facts = value['facts'] === undefined ? undefined : parseFacts(value['facts']);
  if (value['facts'] !== undefined && facts === undefined) fail('facts are not in the expected shape');
  return {
    check,
    target,
    status: value['status'],
    since: value['since'],
    updatedAt: value['updatedAt'],
    runs: runs.map(observation),
    ...(value['announced'] === undefined ? {} : { announced: announced(value['announced']) }),
    ...(value['lastNotification'] === undefined
      ? {}
      : { lastNotification: lastNotification(value['lastNotification']) }),
    ...(facts === undefined ? {} : { facts }),
  };
}
