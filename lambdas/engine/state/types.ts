/**
 * What the probes remember between runs, per check and target, and the one interface both
 * stores implement: DynamoDB for the Lambdas (dynamodb.ts), a JSON file for the CLI (file.ts).
 * A handler imports only the store it uses, so a Lambda bundle holds no file code and the
 * CLI loads no DynamoDB client unless asked.
 */
import type { Status } from '../findings.js';
import type { Facts } from './facts.js';

/** One run of one target as the decision sees it. */
export interface Observation {
  /** Epoch ms of the run. */
  readonly at: number;
  readonly status: Status;
  /** Fingerprint of the set of critical codes (0 when there are none). */
  readonly codes: number;
}

/** The last state that was announced (or, for a new target, taken as the starting point). */
export interface AnnouncedState {
  readonly status: Status;
  readonly codes: number;
  /** Epoch ms of the first run of the current failure (undefined when ok). */
  readonly failingSince?: number;
  /** Epoch ms of the last message sent (change or reminder); undefined when unknown. */
  readonly lastSentAt?: number;
}

/** Version of the item layout; an item of another version is treated as "no history". */
export const STATE_SCHEMA = 1;
/** Runs kept per target: enough for the largest holdCount (10) the config allows. */
export const MAX_RUNS = 10;

/** One alerting subject: the same names as the metric dimensions (DESIGN.md §5). */
export interface StateKey {
  readonly check: string;
  /** The target's name from the config, else `host:port`, domain or region. */
  readonly target: string;
}

export function keyId(key: StateKey): string {
  // Check kinds never contain '#', so the first one separates check from target.
  return `${key.check}#${key.target}`;
}

/** The last message sent for the target. */
export interface LastNotification {
  /** `raised`, `resolved`, `reminder`…, or `changes` for a "changed since the last run" notice. */
  readonly kind: string;
  /** Epoch ms. */
  readonly at: number;
}

export interface TargetState {
  readonly check: string;
  readonly target: string;
  /** The status of the latest run, and since when (epoch ms of the first run with it). */
  readonly status: Status;
  readonly since: number;
  /** Epoch ms of the latest run. */
  readonly updatedAt: number;
  /** The latest runs, oldest first, at most MAX_RUNS: time, status, fingerprint of the critical codes. */
  readonly runs: readonly Observation[];
  /** The state last announced (what the next decision compares with). */
  readonly announced?: AnnouncedState;
  readonly lastNotification?: LastNotification;
  /** What change detection compares with on the next run. */
  readonly facts?: Facts;
}

/**
 * The token a conditional write compares: the item's version number, `absent` (no item:
 * the write must create it), or `invalid` (an item whose version attribute is unusable: it
 * may be replaced as long as it is still unusable).
 */
export type Version = number | 'absent' | 'invalid';

export interface StoredState {
  /** Undefined when the item was missing or unreadable ("no history"). */
  readonly state?: TargetState;
  readonly version: Version;
}

export interface CorruptItem {
  readonly key: StateKey;
  readonly reason: string;
}

export interface LoadResult {
  /** One entry per key that could be read (missing and corrupt items included, as "no history"). */
  readonly states: ReadonlyMap<string, StoredState>;
  /** Items that exist but cannot be used (manual edit, another schema, wrong types). */
  readonly corrupt: readonly CorruptItem[];
  /** Keys that could not be read in time (throttled, unreachable): no decisions for them this run. */
  readonly unavailable: readonly StateKey[];
  /** The error behind `unavailable`, for the log and the run summary. */
  readonly error?: string;
}

export interface StateWrite {
  readonly key: StateKey;
  readonly state: TargetState;
  /** The version read (or written) before: the write succeeds only if the item still has it. */
  readonly expected: Version;
}

export type WriteOutcome =
  /** Written; `version` is the new version, for a follow-up write in the same run. */
  | { readonly kind: 'saved'; readonly version: number }
  /** Another invocation wrote first: its state stands (and it sends what is to be sent). */
  | { readonly kind: 'conflict' }
  /** Throttled, unreachable or refused, after the bounded retries. */
  | { readonly kind: 'failed'; readonly error: string };

export interface StateStore {
  /** Reads the state of each key; never throws for a fault of the store (see LoadResult). */
  load(keys: readonly StateKey[]): Promise<LoadResult>;
  /** Conditional writes, one outcome per write in the same order; never throws for a store fault. */
  save(writes: readonly StateWrite[]): Promise<WriteOutcome[]>;
}

/** Epoch ms helpers shared by the stores. */
export const DAY_MS = 24 * 60 * 60 * 1000;
