/**
 * The DynamoDB table's layout, in a module without imports so the CDK app (lib/state-table.ts)
 * uses the same names as the store without loading the SDK.
 */
export const STATE_TABLE = {
  /** Partition key (S): `<check>#<target>`. No sort key: one item per target. */
  partitionKey: 'pk',
  /** Version (N), incremented by every write; writes are conditional on it. */
  version: 'v',
  /** TTL (N, epoch seconds): an item not written for STATE_TTL_DAYS expires. */
  ttl: 'expiresAt',
  /** The item actions the probes use, and nothing else (IAM). */
  actions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
} as const;

/**
 * How long a target's history outlives its last run: longer than any hold window (10 runs
 * of a daily schedule) and any reminder interval, short enough that a target removed from
 * the config stops costing storage within weeks.
 */
export const STATE_TTL_DAYS = 35;
