/**
 * The CLI's state: one JSON file, so `mailprobe run --state FILE` makes the same alert
 * decisions and shows the same changes as the Lambda. The file is read once, and written
 * atomically (a temporary file in the same directory, then rename), so an interrupted run
 * leaves the old state intact. A file that is not valid JSON, or not a mailprobe state
 * file, is refused with a StateFileError that names it, and is never overwritten.
 *
 * Versions work as in DynamoDB: before writing, the file is read again and a target whose
 * version moved (another run wrote it meanwhile) is a conflict, not overwritten.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CorruptStateError, decodeState } from './codec.js';
import {
  STATE_SCHEMA,
  keyId,
  type CorruptItem,
  type LoadResult,
  type StateKey,
  type StateStore,
  type StateWrite,
  type StoredState,
  type Version,
  type WriteOutcome,
} from './types.js';
import { MailprobeError } from '../errors.js';

/** The marker that tells a state file from any other JSON file. */
export const STATE_FILE_KIND = 'mailprobe-state';
/** A state file is a few hundred bytes per target; refuse to parse anything absurd. */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

export class StateFileError extends MailprobeError {
  override readonly name = 'StateFileError';
}

interface FileItem {
  readonly version: number;
  readonly state: unknown;
}

interface StateDocument {
  readonly kind: typeof STATE_FILE_KIND;
  readonly schema: number;
  readonly targets: Record<string, FileItem>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks the whole file; a missing file is an empty state. */
function readDocument(path: string): StateDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { kind: STATE_FILE_KIND, schema: STATE_SCHEMA, targets: {} };
    throw new StateFileError(`--state ${path}: cannot read it (${(err as Error).message})`);
  }
  if (Buffer.byteLength(text) > MAX_STATE_FILE_BYTES) {
    throw new StateFileError(`--state ${path}: larger than ${MAX_STATE_FILE_BYTES} bytes; not a mailprobe state file`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(
      `--state ${path}: not valid JSON (${(err as Error).message}); fix or remove the file (it was left unchanged)`,
    );
  }
  if (!isRecord(parsed) || parsed['kind'] !== STATE_FILE_KIND || !isRecord(parsed['targets'])) {
    throw new StateFileError(
      `--state ${path}: not a mailprobe state file (expected {"kind": "${STATE_FILE_KIND}", "targets": {...}}); it was left unchanged`,
    );
  }
  if (parsed['schema'] !== STATE_SCHEMA) {
    throw new StateFileError(
      `--state ${path}: state schema ${JSON.stringify(parsed['schema'])}, this mailprobe reads ${STATE_SCHEMA}; use another file`,
    );
  }
  return parsed as unknown as StateDocument;
}

function versionOf(item: unknown): Version {
  const v = isRecord(item) ? item['version'] : undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : 'invalid';
}

export class FileStateStore implements StateStore {
  readonly path: string;

  /** Reads the file at once, so a bad file fails before any check runs. Throws StateFileError. */
  constructor(path: string) {
    this.path = path;
    readDocument(path);
  }

  load(keys: readonly StateKey[]): Promise<LoadResult> {
    const doc = readDocument(this.path);
    const states = new Map<string, StoredState>();
    const corrupt: CorruptItem[] = [];
    for (const key of keys) {
      const id = keyId(key);
      const item = Object.prototype.hasOwnProperty.call(doc.targets, id) ? doc.targets[id] : undefined;
      if (item === undefined) {
        states.set(id, { version: 'absent' });
        continue;
      }
      const version = versionOf(item);
      try {
        if (version === 'invalid') throw new CorruptStateError('version is not a positive integer');
        states.set(id, { version, state: decodeState((item as FileItem).state, key.check, key.target) });
      } catch (err) {
        if (!(err instanceof CorruptStateError)) throw err;
        corrupt.push({ key, reason: err.message });
        states.set(id, { version });
      }
    }
    return Promise.resolve({ states, corrupt, unavailable: [] });
  }

  save(writes: readonly StateWrite[]): Promise<WriteOutcome[]> {
    let doc: StateDocument;
    try {
      doc = readDocument(this.path);
    } catch (err) {
      const error = (err as Error).message;
      return Promise.resolve(writes.map(() => ({ kind: 'failed' as const, error })));
    }
    const targets: Record<string, FileItem> = { ...doc.targets };
    const outcomes: WriteOutcome[] = writes.map((write) => {
      const id = keyId(write.key);
      const current = Object.prototype.hasOwnProperty.call(targets, id) ? targets[id] : undefined;
      const actual: Version = current === undefined ? 'absent' : versionOf(current);
      if (actual !== write.expected) return { kind: 'conflict' };
      const version = typeof actual === 'number' ? actual + 1 : 1;
      targets[id] = { version, state: write.state };
      return { kind: 'saved', version };
    });
    if (outcomes.every((o) => o.kind !== 'saved')) return Promise.resolve(outcomes);
    const text = `${JSON.stringify({ kind: STATE_FILE_KIND, schema: STATE_SCHEMA, targets }, null, 1)}\n`;
    // Same directory, so rename is atomic (same file system); a unique name, so two runs do not collide.
    const tmp = join(
      dirname(this.path),
      `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      const error = `--state ${this.path}: cannot write it (${(err as Error).message})`;
      return Promise.resolve(writes.map(() => ({ kind: 'failed' as const, error })));
    }
    return Promise.resolve(outcomes);
  }
}
