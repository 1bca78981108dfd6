/**
 * The domain's current verdict from mailprobe's own mta-sts check, for the alert: read
 * back from the `Success` metric that check publishes per target (1 not critical, 0
 * critical), so the receivers need no access to the probes' state table. When there is
 * no datapoint in the last 3 hours (e.g. metrics mode `aggregate`, or the probe stopped),
 * the alert says so instead of guessing.
 */
import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { errorFacts, withRetries, type Backoff } from '../aws-retry.js';
import { DIMENSION_CHECK, DIMENSION_TARGET, METRICS } from '../metrics/definitions.js';
import type { Verdict } from './alert.js';
import type { DomainTarget } from './metrics.js';

export const VERDICT_LOOKBACK_MS = 3 * 60 * 60 * 1000;

export async function lookUpVerdicts(
  targets: readonly DomainTarget[],
  deps: { client: Pick<CloudWatchClient, 'send'>; namespace: string; now: number } & Backoff,
): Promise<Map<string, Verdict>> {
  const verdicts = new Map<string, Verdict>();
  const checked = targets.filter((t) => t.mtaSts);
  for (const t of targets) {
    if (!t.mtaSts)
      verdicts.set(t.domain, { kind: 'none', reason: 'the domain is not an mta-sts target of the config' });
  }
  if (checked.length === 0) return verdicts;
  // A Metrics Insights query over the whole namespace, not a MetricStat with exactly (Check,
  // Target): in alarm mode `fleet` the probes publish Success with an AlarmGroup dimension too,
  // and an exact-dimension read would find no data there.
  const query = (t: DomainTarget) =>
    `SELECT MIN(${METRICS.Success.name}) FROM "${quoteIdentifier(deps.namespace)}" ` +
    `WHERE "${DIMENSION_CHECK}" = 'mta-sts' AND "${DIMENSION_TARGET}" = '${quoteString(t.name)}'`;
  try {
    const out = await withRetries(
      () =>
        deps.client.send(
          new GetMetricDataCommand({
            StartTime: new Date(deps.now - VERDICT_LOOKBACK_MS),
            EndTime: new Date(deps.now),
            ScanBy: 'TimestampDescending',
            MetricDataQueries: checked.map((t, i) => ({
              Id: `s${i}`,
              Expression: query(t),
              Period: 60,
            })),
          }),
        ),
      deps,
    );
    const latest = (id: string): { at: Date; value: number } | undefined => {
      const series = out.MetricDataResults?.find((r) => r.Id === id);
      const at = series?.Timestamps?.[0];
      const value = series?.Values?.[0];
      return at !== undefined && value !== undefined ? { at, value } : undefined;
    };
    checked.forEach((t, i) => {
      const success = latest(`s${i}`);
      if (success) {
        verdicts.set(t.domain, {
          kind: 'known',
          status: success.value >= 1 ? 'not critical' : 'critical',
          at: success.at.toISOString(),
        });
        return;
      }
      verdicts.set(t.domain, { kind: 'none', reason: 'no mta-sts run recorded in the last 3 hours' });
    });
  } catch (err) {
    for (const t of checked) {
      verdicts.set(t.domain, { kind: 'none', reason: `could not be read (${errorFacts(err).name})` });
    }
  }
  return verdicts;
}

/** Metrics Insights string literal: backslash and single quote escaped. */
function quoteString(value: string): string {
  return value.replace(/[\\']/g, (c) => `\\${c}`);
}

/** Metrics Insights quoted identifier (namespace): backslash and double quote escaped. */
function quoteIdentifier(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`);
}
