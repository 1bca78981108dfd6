/**
 * The two TLS-RPT metrics, defined once: the receivers publish them and the CDK alarms
 * read them (lib/tlsrpt-receiver.ts imports these names). Kept here rather than in
 * metrics/definitions.ts because `tlsrpt` is not a probe (`CheckKind`) and these
 * datapoints do not come from a `CheckResult`; the dimensions are the same two
 * (`Check` = "tlsrpt", `Target` = the domain's name), so dashboards can group them alike.
 *
 * Each datapoint is stamped with the time the report was received, not its date range:
 * reports arrive hours after their period ends, CloudWatch alarms would not look that far
 * back, and "failures reported in the last day" is what on-call acts on.
 */
import type { CloudWatchClient, MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { Backoff } from '../aws-retry.js';
import { DIMENSION_CHECK, DIMENSION_TARGET } from '../metrics/definitions.js';
import { DEFAULT_RETRY, emfLinesOf, publishMetricData } from '../metrics/publisher.js';
import type { TlsRptReport } from './report.js';

export const TLSRPT_CHECK = 'tlsrpt';

export const TLSRPT_METRICS = {
  SuccessfulSessions: {
    name: 'TlsRptSuccessfulSessions',
    unit: 'Count',
    description: 'Sessions a sender reported as delivered with TLS (RFC 8460 total-successful-session-count).',
  },
  FailedSessions: {
    name: 'TlsRptFailedSessions',
    unit: 'Count',
    description: 'Sessions a sender reported as failed (RFC 8460 total-failure-session-count).',
  },
  Dropped: {
    name: 'TlsRptDropped',
    unit: 'Count',
    description: 'Requests, reports and alerts refused by a daily limit (dimension Reason: the limit).',
  },
} as const;

/**
 * Sessions of reports nothing corroborates are published with this extra dimension
 * (`Evidence` = `uncorroborated`): visible on the dashboard, invisible to the domain alarms,
 * which read exactly (Check, Target). Unauthenticated data alone must never page (issue 21).
 */
export const DIMENSION_EVIDENCE = 'Evidence';
export const UNCORROBORATED = 'uncorroborated';
export const DIMENSION_REASON = 'Reason';

export interface DomainTarget {
  /** The policy domain, lowercase, no trailing dot. */
  readonly domain: string;
  /** The metric dimension `Target`: the domain's name in the config (the mta-sts target's name), else the domain. */
  readonly name: string;
  /** The domain is also an mta-sts target of the config (its current verdict can be looked up). */
  readonly mtaSts: boolean;
}

/** Per configured policy domain of the report: successful and failed sessions, summed over its policies. */
export function reportDatums(
  report: TlsRptReport,
  targets: readonly DomainTarget[],
  receivedAt: Date,
  corroborated = true,
): MetricDatum[] {
  const byDomain = new Map(targets.map((t) => [t.domain, t]));
  const sums = new Map<string, { ok: number; failed: number }>();
  for (const p of report.policies) {
    const target = byDomain.get(p.policyDomain);
    if (!target) continue;
    const sum = sums.get(target.name) ?? { ok: 0, failed: 0 };
    sum.ok += p.successfulSessions;
    sum.failed += p.failedSessions;
    sums.set(target.name, sum);
  }
  const datums: MetricDatum[] = [];
  for (const [name, sum] of sums) {
    const Dimensions = [
      { Name: DIMENSION_CHECK, Value: TLSRPT_CHECK },
      { Name: DIMENSION_TARGET, Value: name },
      ...(corroborated ? [] : [{ Name: DIMENSION_EVIDENCE, Value: UNCORROBORATED }]),
    ];
    datums.push(
      {
        MetricName: TLSRPT_METRICS.SuccessfulSessions.name,
        Dimensions,
        Timestamp: receivedAt,
        Value: sum.ok,
        Unit: 'Count',
        StorageResolution: 60,
      },
      {
        MetricName: TLSRPT_METRICS.FailedSessions.name,
        Dimensions,
        Timestamp: receivedAt,
        Value: sum.failed,
        Unit: 'Count',
        StorageResolution: 60,
      },
    );
  }
  return datums;
}

export interface MetricsOutcome {
  readonly published: number;
  /** Datums written as Embedded Metric Format log lines because PutMetricData failed. */
  readonly emfFallback: number;
  readonly error?: string;
}

/**
 * Through the probes' publisher (metrics/publisher.ts): one PutMetricData call (a report has
 * a handful of domains, far below the 1,000-datum limit), retried on throttling and 5xx; if it
 * still fails, the same metrics go out as EMF log lines, so a report already stored (and
 * therefore never counted again) is not lost.
 */
export async function publishReportMetrics(
  datums: readonly MetricDatum[],
  deps: { client: Pick<CloudWatchClient, 'send'>; namespace: string; writeLine: (line: string) => void } & Backoff,
): Promise<MetricsOutcome> {
  if (datums.length === 0) return { published: 0, emfFallback: 0 };
  const report = await publishMetricData(datums, {
    client: deps.client,
    namespace: deps.namespace,
    writeLine: deps.writeLine,
    retry: {
      ...DEFAULT_RETRY,
      ...(deps.maxAttempts !== undefined ? { maxAttempts: deps.maxAttempts } : {}),
      ...(deps.baseDelayMs !== undefined ? { baseDelayMs: deps.baseDelayMs } : {}),
    },
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  return {
    published: report.published,
    emfFallback: report.emfFallback,
    ...(report.errors.length > 0 ? { error: report.errors.join('; ') } : {}),
  };
}

/**
 * One refusal by a daily limit, as an EMF log line: no API call per refused request, so
 * counting a flood costs no more than the flood, and cannot itself be throttled.
 */
export function droppedLine(namespace: string, reason: string, at: Date): string {
  return emfLinesOf(namespace, [
    {
      MetricName: TLSRPT_METRICS.Dropped.name,
      Dimensions: [
        { Name: DIMENSION_CHECK, Value: TLSRPT_CHECK },
        { Name: DIMENSION_REASON, Value: reason },
      ],
      Timestamp: at,
      Value: 1,
      Unit: 'Count',
    },
  ])[0]!;
}
