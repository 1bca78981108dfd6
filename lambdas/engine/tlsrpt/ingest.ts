/**
 * What both receivers do with a parsed report: refuse it unless every policy domain is
 * configured (the endpoint is public: it must not become a free store for strangers),
 * store it once (S3 conditional write), then publish its metrics and, when sessions
 * failed, one SNS message. A duplicate is acknowledged and counted nowhere.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { errorFacts, withRetries, type Backoff } from '../aws-retry.js';
import { formatReportAlert } from './alert.js';
import { ReportError } from './errors.js';
import { publishReportMetrics, reportDatums, type DomainTarget, type MetricsOutcome } from './metrics.js';
import { totalFailed, totalSuccessful, type TlsRptReport } from './report.js';
import { storeReport } from './store.js';
import { lookUpVerdicts } from './verdict.js';

export interface IngestDeps {
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  readonly cloudwatch: Pick<CloudWatchClient, 'send'>;
  readonly namespace: string;
  /** Both or neither: without a topic no message is sent (the alarms still fire). */
  readonly sns?: Pick<SNSClient, 'send'>;
  readonly topicArn?: string;
  /** The policy domains this receiver takes reports for. */
  readonly targets: readonly DomainTarget[];
  readonly now: () => number;
  readonly writeLine: (line: string) => void;
  readonly backoff?: Backoff;
}

export interface IngestOutcome {
  readonly outcome: 'stored' | 'duplicate';
  readonly key: string;
  readonly failedSessions: number;
  readonly metrics?: MetricsOutcome;
  readonly alert?: 'sent' | 'failed' | 'not configured' | 'no failures';
}

/** Throws TLSRPT_DOMAIN_UNKNOWN when a policy domain is not configured. */
export function checkDomains(report: TlsRptReport, targets: readonly DomainTarget[]): void {
  const known = new Set(targets.map((t) => t.domain));
  const unknown = [...new Set(report.policies.map((p) => p.policyDomain))].filter((d) => !known.has(d));
  if (unknown.length > 0) {
    throw new ReportError(
      'TLSRPT_DOMAIN_UNKNOWN',
      `policy domain${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not configured on this receiver`,
      { field: 'policies[].policy.policy-domain' },
    );
  }
}

export async function ingestReport(
  report: TlsRptReport,
  source: 'https' | 'mail',
  deps: IngestDeps,
): Promise<IngestOutcome> {
  checkDomains(report, deps.targets);
  const receivedAt = new Date(deps.now());
  const stored = await storeReport(report, {
    client: deps.s3,
    bucket: deps.bucket,
    source,
    ...deps.backoff,
  });
  const failedSessions = totalFailed(report);
  const facts = {
    source,
    key: stored.key,
    organizationName: report.organizationName,
    reportId: report.reportId,
    domains: [...new Set(report.policies.map((p) => p.policyDomain))],
    dateRange: report.dateRange,
    successfulSessions: totalSuccessful(report),
    failedSessions,
    ...(report.quirks.length > 0 ? { quirks: report.quirks } : {}),
  };
  if (!stored.stored) {
    deps.writeLine(
      JSON.stringify({ level: 'info', msg: 'tlsrpt report already received; not counted again', ...facts }),
    );
    return { outcome: 'duplicate', key: stored.key, failedSessions };
  }
  const metrics = await publishReportMetrics(reportDatums(report, deps.targets, receivedAt), {
    client: deps.cloudwatch,
    namespace: deps.namespace,
    writeLine: deps.writeLine,
    ...deps.backoff,
  });
  let alert: IngestOutcome['alert'] = 'no failures';
  if (failedSessions > 0) {
    if (deps.sns && deps.topicArn) {
      const domains = new Set(facts.domains);
      const verdicts = await lookUpVerdicts(
        deps.targets.filter((t) => domains.has(t.domain)),
        { client: deps.cloudwatch, namespace: deps.namespace, now: receivedAt.getTime(), ...deps.backoff },
      );
      const message = formatReportAlert({
        report,
        targets: deps.targets,
        verdicts,
        receivedAt,
        location: `s3://${deps.bucket}/${stored.key}`,
      });
      const { sns, topicArn } = deps;
      try {
        await withRetries(() => sns.send(new PublishCommand({ TopicArn: topicArn, ...message.input })), deps.backoff);
        alert = 'sent';
      } catch (err) {
        // The report is stored and counted, and the alarm still fires: log, do not fail the delivery.
        deps.writeLine(
          JSON.stringify({ level: 'error', msg: 'tlsrpt alert publish failed', error: errorFacts(err).name }),
        );
        alert = 'failed';
      }
    } else {
      alert = 'not configured';
    }
  }
  deps.writeLine(
    JSON.stringify({
      level: alert === 'failed' || metrics.emfFallback > 0 ? 'warn' : 'info',
      msg: 'tlsrpt report stored',
      ...facts,
      metrics,
      alert,
    }),
  );
  return { outcome: 'stored', key: stored.key, failedSessions, metrics, alert };
}
