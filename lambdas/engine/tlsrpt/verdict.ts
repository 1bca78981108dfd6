/**
 * The domain's current verdict from mailprobe's own mta-sts check, for the alert: read
 * back from the metrics that check already publishes (no table, no extra call per run).
 * `AlertState` (written when change notifications are on) tells ok, warning and critical
 * apart; `Success` (always published per target) tells critical from not critical. When
 * neither has a datapoint in the last 3 hours the alert says so instead of guessing.
 */
import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ALERT_STATE_METRIC, decodeState } from '../alerts/store.js';
import { errorFacts, withRetries, type Backoff } from '../alerts/retry.js';
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
  const dims = (t: DomainTarget) => [
    { Name: DIMENSION_CHECK, Value: 'mta-sts' },
    { Name: DIMENSION_TARGET, Value: t.name },
  ];
  try {
    const out = await withRetries(
      () =>
        deps.client.send(
          new GetMetricDataCommand({
            StartTime: new Date(deps.now - VERDICT_LOOKBACK_MS),
            EndTime: new Date(deps.now),
            ScanBy: 'TimestampDescending',
            MetricDataQueries: checked.flatMap((t, i) => [
              {
                Id: `a${i}`,
                MetricStat: {
                  Metric: { Namespace: deps.namespace, MetricName: ALERT_STATE_METRIC, Dimensions: dims(t) },
                  Period: 60,
                  Stat: 'Maximum',
                },
              },
              {
                Id: `s${i}`,
                MetricStat: {
                  Metric: { Namespace: deps.namespace, MetricName: METRICS.Success.name, Dimensions: dims(t) },
                  Period: 60,
                  Stat: 'Minimum',
                },
              },
            ]),
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
      const state = latest(`a${i}`);
      const decoded = state ? decodeState(state.value) : undefined;
      if (state && decoded) {
        verdicts.set(t.domain, { kind: 'known', status: decoded.status, at: state.at.toISOString() });
        return;
      }
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
