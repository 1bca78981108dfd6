/**
 * The probes' state in DynamoDB: one item per check and target (current state, the last
 * runs, the last notification, the facts for change detection), read with BatchGetItem
 * (100 keys per round trip, strongly consistent) and written with PutItem conditional on
 * the version read, so that of two overlapping invocations exactly one wins and notifies.
 *
 * Faults stay inside: throttling and network errors are retried a bounded number of times
 * within a time budget, then the keys concerned are reported as unavailable (load) or the
 * write as failed (save); nothing here throws into the probe run.
 */
import {
  BatchGetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type PutItemCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../deadline.js';
import { errorFacts, isRetryable } from '../aws-retry.js';
import { CorruptStateError, decodeState } from './codec.js';
import { STATE_TABLE, STATE_TTL_DAYS } from './table.js';
import {
  DAY_MS,
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

/** BatchGetItem takes at most 100 keys per request (DynamoDB API reference). */
export const MAX_KEYS_PER_BATCH = 100;
/** Items are a few hundred bytes; refuse to store one that a hostile answer has grown past this. */
export const MAX_DOC_BYTES = 64 * 1024;

export interface DynamoStateStoreProps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly clock: Clock;
  /** Attempts per request, the first included (throttling, 5xx, network errors). @default 4 */
  readonly maxAttempts?: number;
  /** First backoff cap; doubles per attempt, capped at 2 s, full jitter. @default 100 */
  readonly baseDelayMs?: number;
  /** No retry starts later than this many ms after the load or save began. @default 8000 */
  readonly budgetMs?: number;
  /** Batches and writes in flight at once. @default 8 */
  readonly concurrency?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function pk(key: StateKey): string {
  return keyId(key);
}

function versionOf(item: Record<string, AttributeValue>): Version {
  const raw = item[STATE_TABLE.version]?.N;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(n) && n >= 1 ? n : 'invalid';
}

async function inPool<T>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

export class DynamoStateStore implements StateStore {
  private readonly props: DynamoStateStoreProps;

  constructor(props: DynamoStateStoreProps) {
    this.props = props;
  }

  /** Runs `work` with bounded retries inside the budget that started at `startedAt`; rethrows the last error. */
  private async retrying<T>(startedAt: number, work: (attempt: number) => Promise<T>): Promise<T> {
    const maxAttempts = Math.max(1, this.props.maxAttempts ?? 4);
    const base = this.props.baseDelayMs ?? 100;
    const budget = this.props.budgetMs ?? 8_000;
    const sleep = this.props.sleep ?? defaultSleep;
    const random = this.props.random ?? Math.random;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work(attempt);
      } catch (err) {
        const delay = Math.floor(random() * Math.min(2_000, base * 2 ** (attempt - 1)));
        const late = this.props.clock.now() + delay - startedAt > budget;
        if (attempt >= maxAttempts || late || !isRetryable(err)) throw err;
        await sleep(delay);
      }
    }
  }

  async load(keys: readonly StateKey[]): Promise<LoadResult> {
    const startedAt = this.props.clock.now();
    const unique = [...new Map(keys.map((k) => [pk(k), k])).values()];
    const states = new Map<string, StoredState>();
    const corrupt: CorruptItem[] = [];
    const unavailable: StateKey[] = [];
    let error: string | undefined;
    const nowSeconds = Math.floor(this.props.clock.now() / 1000);

    const batches: StateKey[][] = [];
    for (let i = 0; i < unique.length; i += MAX_KEYS_PER_BATCH) batches.push(unique.slice(i, i + MAX_KEYS_PER_BATCH));

    await inPool(batches, this.props.concurrency ?? 8, async (batch) => {
      const byPk = new Map(batch.map((k) => [pk(k), k]));
      let pending = batch.map((k) => ({ [STATE_TABLE.partitionKey]: { S: pk(k) } }));
      const found = new Set<string>();
      try {
        // UnprocessedKeys (throttling inside a batch) are asked for again, within the same bounds.
        for (let round = 1; pending.length > 0; round += 1) {
          const request = pending;
          const out = await this.retrying(startedAt, () =>
            this.props.client.send(
              new BatchGetItemCommand({
                RequestItems: { [this.props.tableName]: { Keys: request, ConsistentRead: true } },
              }),
            ),
          );
          for (const item of out.Responses?.[this.props.tableName] ?? []) {
            const id = item[STATE_TABLE.partitionKey]?.S;
            const key = id === undefined ? undefined : byPk.get(id);
            if (key === undefined) continue;
            found.add(id!);
            states.set(id!, this.decodeItem(key, item, nowSeconds, corrupt));
          }
          pending = (out.UnprocessedKeys?.[this.props.tableName]?.Keys ?? []) as typeof pending;
          if (pending.length > 0) {
            const late = this.props.clock.now() - startedAt > (this.props.budgetMs ?? 8_000);
            if (round >= (this.props.maxAttempts ?? 4) || late) {
              const err = new Error(`${pending.length} key(s) still unprocessed after ${round} BatchGetItem round(s)`);
              err.name = 'UnprocessedKeys';
              throw err;
            }
            const base = this.props.baseDelayMs ?? 100;
            await (this.props.sleep ?? defaultSleep)(
              Math.floor((this.props.random ?? Math.random)() * Math.min(2_000, base * 2 ** (round - 1))),
            );
          }
        }
        for (const key of batch) if (!found.has(pk(key))) states.set(pk(key), { version: 'absent' });
      } catch (err) {
        const facts = errorFacts(err);
        error ??= facts.status === undefined ? facts.name : `${facts.name} (HTTP ${facts.status})`;
        // Whatever was read stands; the rest of the batch has no decisions this run.
        for (const key of batch) if (!found.has(pk(key))) unavailable.push(key);
      }
    });
    return { states, corrupt, unavailable, ...(error === undefined ? {} : { error }) };
  }

  /** True when the item holds exactly this version and document (read with the BatchGetItem already granted). */
  private async isOwnWrite(key: StateKey, version: number, doc: string): Promise<boolean> {
    try {
      const out = await this.props.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [this.props.tableName]: { Keys: [{ [STATE_TABLE.partitionKey]: { S: pk(key) } }], ConsistentRead: true },
          },
        }),
      );
      const item = out.Responses?.[this.props.tableName]?.[0];
      return item?.[STATE_TABLE.version]?.N === String(version) && item['doc']?.S === doc;
    } catch {
      return false;
    }
  }

  private decodeItem(
    key: StateKey,
    item: Record<string, AttributeValue>,
    nowSeconds: number,
    corrupt: CorruptItem[],
  ): StoredState {
    const version = versionOf(item);
    const expiresAt = Number(item[STATE_TABLE.ttl]?.N);
    // TTL deletion runs in the background (up to days late): an expired item is no history.
    if (Number.isFinite(expiresAt) && expiresAt < nowSeconds) return { version };
    try {
      if (version === 'invalid') throw new CorruptStateError(`${STATE_TABLE.version} is not a positive integer`);
      const schema = item['schema']?.N;
      if (schema !== String(STATE_SCHEMA))
        throw new CorruptStateError(`schema ${schema ?? 'missing'}, expected ${STATE_SCHEMA}`);
      const doc = item['doc']?.S;
      if (doc === undefined) throw new CorruptStateError('doc is missing or not a string');
      let parsed: unknown;
      try {
        parsed = JSON.parse(doc);
      } catch {
        throw new CorruptStateError('doc is not JSON');
      }
      return { version, state: decodeState(parsed, key.check, key.target) };
    } catch (err) {
      if (!(err instanceof CorruptStateError)) throw err;
      corrupt.push({ key, reason: err.message });
      return { version };
    }
  }

  async save(writes: readonly StateWrite[]): Promise<WriteOutcome[]> {
    const startedAt = this.props.clock.now();
    const outcomes: WriteOutcome[] = new Array<WriteOutcome>(writes.length);
    await inPool(writes, this.props.concurrency ?? 8, async (write, i) => {
      outcomes[i] = await this.saveOne(write, startedAt);
    });
    return outcomes;
  }

  private async saveOne(write: StateWrite, startedAt: number): Promise<WriteOutcome> {
    const doc = JSON.stringify(write.state);
    if (Buffer.byteLength(doc) > MAX_DOC_BYTES) {
      return { kind: 'failed', error: `StateTooLarge (${Buffer.byteLength(doc)} bytes)` };
    }
    const next = typeof write.expected === 'number' ? write.expected + 1 : 1;
    const condition: Pick<
      PutItemCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    > =
      write.expected === 'absent'
        ? {
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey },
          }
        : write.expected === 'invalid'
          ? {
              ConditionExpression: 'attribute_exists(#pk) AND NOT attribute_type(#v, :n)',
              ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey, '#v': STATE_TABLE.version },
              ExpressionAttributeValues: { ':n': { S: 'N' } },
            }
          : {
              ConditionExpression: '#v = :expected',
              ExpressionAttributeNames: { '#v': STATE_TABLE.version },
              ExpressionAttributeValues: { ':expected': { N: String(write.expected) } },
            };
    const expiresAt = Math.floor((write.state.updatedAt + STATE_TTL_DAYS * DAY_MS) / 1000);
    let attempts = 0;
    try {
      await this.retrying(startedAt, (attempt) => {
        attempts = attempt;
        return this.props.client.send(
          new PutItemCommand({
            TableName: this.props.tableName,
            Item: {
              [STATE_TABLE.partitionKey]: { S: pk(write.key) },
              [STATE_TABLE.version]: { N: String(next) },
              [STATE_TABLE.ttl]: { N: String(expiresAt) },
              schema: { N: String(STATE_SCHEMA) },
              status: { S: write.state.status },
              since: { N: String(write.state.since) },
              updatedAt: { N: String(write.state.updatedAt) },
              doc: { S: doc },
            },
            ...condition,
          }),
        );
      });
      return { kind: 'saved', version: next };
    } catch (err) {
      const facts = errorFacts(err);
      if (facts.name === 'ConditionalCheckFailedException') {
        // A retry after a lost response (timeout, reset) fails its condition against our own
        // first write: read the item back before calling it a lost race.
        if (attempts > 1 && (await this.isOwnWrite(write.key, next, doc))) return { kind: 'saved', version: next };
        return { kind: 'conflict' };
      }
      return {
        kind: 'failed',
        error: facts.status === undefined ? facts.name : `${facts.name} (HTTP ${facts.status})`,
      };
    }
  }
}
