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

/** The cost items that AWS tiers, by their name in the estimate, and the tiers they follow. */
const TIERED_ITEMS: readonly { readonly match: (item: string) => boolean; readonly tiers: readonly Tier[] }[] = [
  { match: (item) => item.includes('custom metrics'), tiers: CUSTOM_METRIC_TIERS },
  { match: (item) => item === 'Lambda compute', tiers: LAMBDA_ARM_GB_SECOND_TIERS },
];

interface Item {
  readonly item: string;
  readonly usd: number;
}
interface Estimate {
  readonly totalUsd: number;
  readonly fixedUsd: number;
  readonly targets: readonly { readonly usd: number; readonly items: readonly Item[] }[];
  readonly items: readonly Item[];
  readonly fixedItems: readonly Item[];
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
const sum = (items: readonly Item[]) => items.reduce((n, i) => n + i.usd, 0);

/**
 * Reprices a first-tier estimate at the deployment's real volume: each tiered charge (in
 * the targets, the totals and the fixed items) is scaled by its tier factor, so a target's
 * lines still add up to its total and the totals to the deployment's.
 */
export function applyVolumeTiers<E extends Estimate>(estimate: E): E {
  const factors = TIERED_ITEMS.map(({ match, tiers }) => {
    const firstTierUsd = sum([...estimate.items, ...estimate.fixedItems].filter((i) => match(i.item)));
    const first = tiers[0]?.price ?? 1;
    return { match, factor: tierFactor(firstTierUsd / first, tiers) };
  });
  // Inside every first tier the estimate is already exact.
  if (factors.every((f) => f.factor === 1)) return estimate;
  const reprice = (items: readonly Item[]): Item[] =>
    items.map((i) => {
      const f = factors.find((x) => x.match(i.item))?.factor ?? 1;
      return f === 1 ? i : { item: i.item, usd: round(i.usd * f) };
    });
  const items = reprice(estimate.items);
  const fixedItems = reprice(estimate.fixedItems);
  const fixedUsd = round(sum(fixedItems));
  return {
    ...estimate,
    targets: estimate.targets.map((t) => {
      const repriced = reprice(t.items);
      return { ...t, items: repriced, usd: round(sum(repriced)) };
    }),
    items,
    fixedItems,
    fixedUsd,
    totalUsd: round(sum(items) + fixedUsd),
  };
}
