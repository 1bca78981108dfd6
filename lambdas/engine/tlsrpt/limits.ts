/**
 * Daily limits that hold under attack (issue 21 (3), issue 25 item 8): both receivers are
 * public, so a flood of forged, distinct reports must not turn into a flood of S3 objects,
 * metrics or pages. Each limit is an atomic counter in the state table: one `UpdateItem`
 * with `ADD n :1` that returns the new value, so of N concurrent invocations exactly
 * `limit` see a value within the limit, whatever the interleaving, and nothing is read
 * then written. The counter goes on counting past the limit (no condition stops the ADD):
 * its value minus the limit is how many were dropped, kept beside the
 * `TlsRptDropped` metric. Items carry a TTL attribute, so a day's counters expire.
 *
 * Items live in the probes' state table under their own key prefix (`tlsrpt-day#…`), which
 * the receiver's IAM policy is restricted to (dynamodb:LeadingKeys), and which no probe reads.
 */
import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withRetries, type Backoff } from '../aws-retry.js';
import { STATE_TABLE } from '../state/table.js';

/** Key prefix of the receivers' counters and day sets (the IAM condition names it). */
export const TLSRPT_DAY_PREFIX = 'tlsrpt-day#';
/** Counters outlive their day by this much, then TTL deletes them. */
export const COUNTER_TTL_DAYS = 3;
/** Longest identifier kept in a key (an organisation name is sender-chosen text). */
const MAX_ID_CHARS = 200;

/** The limits and their config keys (`tlsRpt.limits.*` in lib/config/schema.ts). */
export interface TlsRptLimits {
  /** Reports stored per policy domain and day, counted apart for authenticated and unauthenticated reports. */
  readonly reportsPerDomainPerDay: number;
  /** Reports stored per submitter (DKIM domain, else the claimed organisation) and day. */
  readonly reportsPerSubmitterPerDay: number;
  /** HTTPS requests per source IP and day, counted before the body is read. */
  readonly requestsPerSourcePerDay: number;
  /** SNS messages per policy domain and day (the alarm still follows the metrics). */
  readonly alertsPerDomainPerDay: number;
}

/**
 * Real senders send one report per policy domain a day (RFC 8460 §4.1), a few per
 * submitter when a submitter reports many domains; these leave ample room.
 */
export const DEFAULT_TLSRPT_LIMITS: TlsRptLimits = {
  reportsPerDomainPerDay: 50,
  reportsPerSubmitterPerDay: 200,
  requestsPerSourcePerDay: 200,
  alertsPerDomainPerDay: 1,
};

/** Which limit refused something: the `Reason` dimension of the TlsRptDropped metric. */
export type LimitName = 'requests-per-source' | 'reports-per-submitter' | 'reports-per-domain' | 'alerts-per-domain';

/**
 * The limits whose refusals lose data (a request or a report not stored). The alerts-per-domain
 * limit only holds back a second alert of the day: it refuses by design, never pages.
 */
export const DATA_LIMITS: readonly LimitName[] = ['requests-per-source', 'reports-per-submitter', 'reports-per-domain'];

/** What the probes' state says of a target: its last status and when it was recorded (epoch ms). */
export interface ProbeStatus {
  readonly status: string;
  readonly at: number;
}

export interface DayCounters {
  /** Adds one to the counter and returns the new value. Throws when the table cannot be reached (retry later). */
  increment(counter: string, day: string): Promise<number>;
  /** Adds `member` to the day's set and returns the set's size. */
  addToSet(set: string, day: string, member: string): Promise<number>;
  /** The members of the day's set (none when it does not exist). */
  members(set: string, day: string): Promise<string[]>;
  /**
   * A probe target's status from the probes' own state (`critical`, `warning`, `ok`) and when its
   * last run recorded it, if known and not before `notBefore`.
   */
  probeState(check: string, target: string, notBefore: number): Promise<ProbeStatus | undefined>;
}

export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

function safeId(text: string): string {
  // Keys are opaque to DynamoDB, but logs and the console show them: keep them printable.
  return text.replace(/[^\x21-\x7e]/g, '?').slice(0, MAX_ID_CHARS);
}

export function counterKey(counter: string, day: string): string {
  return `${TLSRPT_DAY_PREFIX}${day}#${safeId(counter)}`;
}

export class DynamoDayCounters implements DayCounters {
  constructor(private readonly props: { client: Pick<DynamoDBClient, 'send'>; tableName: string } & Backoff) {}

  private expiresAt(day: string): string {
    return String(Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + (COUNTER_TTL_DAYS + 1) * 86_400);
  }

  async increment(counter: string, day: string): Promise<number> {
    const out = await withRetries(
      () =>
        this.props.client.send(
          new UpdateItemCommand({
            TableName: this.props.tableName,
            Key: { [STATE_TABLE.partitionKey]: { S: counterKey(counter, day) } },
            UpdateExpression: 'ADD #n :one SET #ttl = if_not_exists(#ttl, :ttl)',
            ExpressionAttributeNames: { '#n': 'n', '#ttl': STATE_TABLE.ttl },
            ExpressionAttributeValues: { ':one': { N: '1' }, ':ttl': { N: this.expiresAt(day) } },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      this.props,
    );
    return Number(out.Attributes?.['n']?.N ?? NaN);
  }

  async addToSet(set: string, day: string, member: string): Promise<number> {
    const out = await withRetries(
      () =>
        this.props.client.send(
          new UpdateItemCommand({
            TableName: this.props.tableName,
            Key: { [STATE_TABLE.partitionKey]: { S: counterKey(set, day) } },
            UpdateExpression: 'ADD #m :m SET #ttl = if_not_exists(#ttl, :ttl)',
            ExpressionAttributeNames: { '#m': 'm', '#ttl': STATE_TABLE.ttl },
            ExpressionAttributeValues: { ':m': { SS: [safeId(member)] }, ':ttl': { N: this.expiresAt(day) } },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      this.props,
    );
    return out.Attributes?.['m']?.SS?.length ?? 0;
  }

  async members(set: string, day: string): Promise<string[]> {
    const out = await withRetries(
      () =>
        this.props.client.send(
          new GetItemCommand({
            TableName: this.props.tableName,
            Key: { [STATE_TABLE.partitionKey]: { S: counterKey(set, day) } },
            ConsistentRead: true,
          }),
        ),
      this.props,
    );
    return out.Item?.['m']?.SS ?? [];
  }

  async probeState(check: string, target: string, notBefore: number): Promise<ProbeStatus | undefined> {
    const out = await withRetries(
      () =>
        this.props.client.send(
          new GetItemCommand({
            TableName: this.props.tableName,
            // The probes' key layout (state/types.ts keyId): `<check>#<target name>`.
            Key: { [STATE_TABLE.partitionKey]: { S: `${check}#${target}` } },
            ConsistentRead: true,
            ProjectionExpression: '#doc',
            ExpressionAttributeNames: { '#doc': 'doc' },
          }),
        ),
      this.props,
    );
    return statusOf(out.Item, notBefore);
  }
}

/** `status` of the probes' state document, if it is a recent one; anything unusable is "unknown". */
function statusOf(item: Record<string, AttributeValue> | undefined, notBefore: number): ProbeStatus | undefined {
  const doc = item?.['doc']?.S;
  if (doc === undefined || doc.length > 64 * 1024) return undefined;
  try {
    const state = JSON.parse(doc) as { status?: unknown; updatedAt?: unknown };
    if (typeof state.status !== 'string' || typeof state.updatedAt !== 'number') return undefined;
    return state.updatedAt >= notBefore ? { status: state.status, at: state.updatedAt } : undefined;
  } catch {
    return undefined;
  }
}
