/**
 * AWS's volume tiers: the price of a unit falls as the account's monthly usage grows. The
 * cost model first prices every target at the first tier (so a target's line reads the same
 * in a small and a large deployment), then `applyVolumeTiers` scales each tiered charge by
 * what the whole deployment's volume really costs. Only charges AWS tiers are tiered:
 * CloudWatch custom metrics and Lambda compute (arm64); alarms, API requests, Logs
 * ingestion (standard class), DynamoDB on demand and Scheduler are flat.
 */

export interface Tier {
  /** Cumulative units up to which this price applies; the last tier is unbounded. */
  readonly upTo: number;
  readonly price: number;
}

/** CloudWatch custom metrics, per metric-month (us-east-1). */
export const CUSTOM_METRIC_TIERS: readonly Tier[] = [
  { upTo: 10_000, price: 0.3 },
  { upTo: 250_000, price: 0.1 },
  { upTo: 1_000_000, price: 0.05 },
  { upTo: Number.POSITIVE_INFINITY, price: 0.02 },
];

/** Lambda on arm64, per GB-second, by monthly GB-seconds (us-east-1). */
export const LAMBDA_ARM_GB_SECOND_TIERS: readonly Tier[] = [
  { upTo: 7.5e9, price: 0.0000133334 },
  { upTo: 18.75e9, price: 0.0000120001 },
  { upTo: Number.POSITIVE_INFINITY, price: 0.0000106667 },
];

/** What `units` cost across the tiers. */
export function tieredCost(units: number, tiers: readonly Tier[]): number {
  let cost = 0;
  let from = 0;
  for (const tier of tiers) {
    if (units <= from) break;
    cost += (Math.min(units, tier.upTo) - from) * tier.price;
    from = tier.upTo;
  }
  return cost;
}

/**
 * The factor that turns a first-tier price into the deployment's real average price:
 * 1 while the whole volume fits the first tier, less beyond it.
 */
export function tierFactor(units: number, tiers: readonly Tier[]): number {
  const first = tiers[0]?.price ?? 0;
  if (units <= 0 || first === 0) return 1;
  return tieredCost(units, tiers) / (units * first);
}
