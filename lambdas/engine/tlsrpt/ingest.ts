/**
 * What both receivers do with a parsed report: refuse it unless every policy domain is
 * configured (the endpoint is public: it must not become a free store for strangers),
 * count it against the daily limits (limits.ts: per submitter, per policy domain), store it
 * once (S3 conditional write), then publish its metrics and, when sessions failed and
 * something corroborates the report, one SNS message (at most `alertsPerDomainPerDay`).
 * A duplicate is acknowledged and counted nowhere.
 *
 * Corroboration (issue 21 (2)): a report is only the sender's word, and over HTTPS anyone's.
 * It may page when (a) it is DKIM-authenticated and its signing domain is on the allow-list
 * (`tlsRpt.trustedSubmitters`), or (b) mailprobe's own mta-sts check of the domain is
 * critical in the state table, or (c) at least two distinct authenticated organisations
 * reported failures for the domain that day. Otherwise its sessions go to the
 * `Evidence=uncorroborated` series (the alarms do not read it) and it waits for the digest.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { publishAlert } from '../alerts/sns.js';
import type { Backoff } from '../aws-retry.js';
import { formatReportAlert } from './alert.js';
import { DIGEST_SET } from './digest.js';
import { ReportError } from './errors.js';
import { dayOf, type DayCounters, type LimitName, type TlsRptLimits } from './limits.js';
import { droppedLine, publishReportMetrics, reportDatums, type DomainTarget, type MetricsOutcome } from './metrics.js';
import { totalFailed, totalSuccessful, type TlsRptReport } from './report.js';
import { storeReport } from './store.js';
import { lookUpVerdicts } from './verdict.js';
import { jsonLog } from '../log.js';

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
  /** The daily counters (state table) the limits and corroboration read. */
  readonly counters: DayCounters;
  readonly limits: TlsRptLimits;
  /** DKIM signing domains whose authenticated reports page on their own (e.g. google.com, microsoft.com). */
  readonly trustedSubmitters: readonly string[];
}

/** What is known about who sent the report. */
export interface Submission {
  readonly source: 'https' | 'mail';
  /** DKIM-verified and aligned with From (mail only; HTTPS reports never are). */
  readonly authenticated: boolean;
  /** The verified signing domain when authenticated. */
  readonly domain?: string;
}

export type AlertOutcome =
  | 'sent'
  | 'failed'
  | 'not configured'
  | 'no failures'
  /** Failures nothing corroborates: in the digest, not paged. */
  | 'uncorroborated'
  /** Corroborated, but the domain's alerts for the day are used up (the alarm still fires). */
  | 'limited';

export interface IngestOutcome {
  readonly outcome: 'stored' | 'duplicate';
  readonly key: string;
  readonly failedSessions: number;
  readonly authenticated: boolean;
  readonly corroboration?: string;
  readonly metrics?: MetricsOutcome;
  readonly alert?: AlertOutcome;
}

/** Probe state older than this does not corroborate: the probe may have stopped. */
export const PROBE_STATUS_MAX_AGE_MS = 48 * 60 * 60 * 1000;
/** Distinct authenticated organisations whose failures, together, corroborate a domain's reports. */
export const CORROBORATING_ORGANISATIONS = 2;

/** `google.com` allows `google.com` and its subdomains (`tlsrpt.google.com`), never `evilgoogle.com`. */
export function isTrustedSubmitter(domain: string | undefined, trusted: readonly string[]): boolean {
  if (domain === undefined) return false;
  const d = domain.toLowerCase();
  return trusted.some((t) => {
    const name = t.toLowerCase().replace(/\.$/, '');
    return d === name || d.endsWith(`.${name}`);
  });
}

/** Who the per-submitter limit counts: the verified domain, else the (claimed) organisation name. */
function submitterId(report: TlsRptReport, who: Submission): string {
  return who.authenticated && who.domain ? `dkim:${who.domain}` : `org:${report.organizationName.toLowerCase()}`;
}

/** Counts against a daily limit; over it, the refusal is counted (EMF) and the report refused. */
export async function takeDaily(
  deps: Pick<IngestDeps, 'counters' | 'namespace' | 'writeLine'>,
  limit: LimitName,
  id: string,
  max: number,
  now: Date,
): Promise<boolean> {
  const n = await deps.counters.increment(`${limit}#${id}`, dayOf(now.getTime()));
  if (n <= max) return true;
  deps.writeLine(droppedLine(deps.namespace, limit, now));
  return false;
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

export async function ingestReport(report: TlsRptReport, who: Submission, deps: IngestDeps): Promise<IngestOutcome> {
  const { source } = who;
  checkDomains(report, deps.targets);
  const receivedAt = new Date(deps.now());
  const domains = [...new Set(report.policies.map((p) => p.policyDomain))];
  // Authenticated reports have their own per-domain budget: a flood of forged HTTPS reports
  // cannot use up the room of the signed ones.
  const trust = who.authenticated ? 'authenticated' : 'unauthenticated';
  const limited = async (limit: LimitName, id: string, max: number): Promise<void> => {
    if (!(await takeDaily(deps, limit, id, max, receivedAt))) {
      throw new ReportError('TLSRPT_RATE_LIMITED', `daily limit ${limit} (${max}) reached`);
    }
  };
  await limited('reports-per-submitter', submitterId(report, who), deps.limits.reportsPerSubmitterPerDay);
  for (const domain of domains) {
    await limited('reports-per-domain', `${trust}#${domain}`, deps.limits.reportsPerDomainPerDay);
  }
  const stored = await storeReport(report, {
    client: deps.s3,
    bucket: deps.bucket,
    source,
    authenticated: who.authenticated,
    ...deps.backoff,
  });
  const failedSessions = totalFailed(report);
  const facts = {
    source,
    key: stored.key,
    organizationName: report.organizationName,
    reportId: report.reportId,
    authenticated: who.authenticated,
    ...(who.domain ? { dkimDomain: who.domain } : {}),
    domains,
    dateRange: report.dateRange,
    successfulSessions: totalSuccessful(report),
    failedSessions,
    ...(report.quirks.length > 0 ? { quirks: report.quirks } : {}),
  };
  if (!stored.stored) {
    jsonLog(deps.writeLine)({ level: 'info', msg: 'tlsrpt report already received; not counted again', ...facts });
    return { outcome: 'duplicate', key: stored.key, failedSessions, authenticated: who.authenticated };
  }
  const corroboration = await corroborate(report, who, failedSessions, deps, receivedAt);
  const metrics = await publishReportMetrics(
    reportDatums(report, deps.targets, receivedAt, corroboration !== undefined),
    {
      client: deps.cloudwatch,
      namespace: deps.namespace,
      writeLine: deps.writeLine,
      ...deps.backoff,
    },
  );
  let alert: AlertOutcome = 'no failures';
  if (failedSessions > 0 && corroboration === undefined) {
    // Not paged: listed in tomorrow's digest (digest.ts).
    await deps.counters.addToSet(DIGEST_SET, dayOf(receivedAt.getTime()), stored.key);
    alert = 'uncorroborated';
  } else if (failedSessions > 0) {
    if (deps.sns && deps.topicArn) {
      let allowed = true;
      for (const domain of domains) {
        allowed =
          (await takeDaily(deps, 'alerts-per-domain', domain, deps.limits.alertsPerDomainPerDay, receivedAt)) &&
          allowed;
      }
      if (allowed) alert = await sendAlert(report, deps, receivedAt, stored.key, domains);
      else alert = 'limited';
    } else {
      alert = 'not configured';
    }
  }
  deps.writeLine(
    JSON.stringify({
      level: alert === 'failed' || metrics.emfFallback > 0 ? 'warn' : 'info',
      msg: 'tlsrpt report stored',
      ...facts,
      ...(corroboration ? { corroboration } : {}),
      metrics,
      alert,
    }),
  );
  return {
    outcome: 'stored',
    key: stored.key,
    failedSessions,
    authenticated: who.authenticated,
    ...(corroboration ? { corroboration } : {}),
    metrics,
    alert,
  };
}

/** Why the report may page, or undefined when nothing corroborates it. */
async function corroborate(
  report: TlsRptReport,
  who: Submission,
  failedSessions: number,
  deps: IngestDeps,
  receivedAt: Date,
): Promise<string | undefined> {
  const trusted = who.authenticated && isTrustedSubmitter(who.domain, deps.trustedSubmitters);
  if (failedSessions === 0) return trusted ? `authenticated submitter ${who.domain} is trusted` : undefined;
  const failing = [...new Set(report.policies.filter((p) => p.failedSessions > 0).map((p) => p.policyDomain))];
  const day = dayOf(receivedAt.getTime());
  const organisations = new Map<string, number>();
  for (const domain of failing) {
    // Recorded before it is read, so this report counts toward its own corroboration.
    if (who.authenticated && who.domain) {
      organisations.set(domain, await deps.counters.addToSet(`failing-organisations#${domain}`, day, who.domain));
    }
  }
  if (trusted) return `authenticated submitter ${who.domain} is trusted`;
  const reasons: string[] = [];
  for (const domain of failing) {
    const count = organisations.get(domain) ?? 0;
    if (count >= CORROBORATING_ORGANISATIONS) {
      reasons.push(`${count} authenticated organisations reported failures for ${domain} today`);
      continue;
    }
    const target = deps.targets.find((t) => t.domain === domain);
    if (target?.mtaSts) {
      const probe = await deps.counters.probeState(
        'mta-sts',
        target.name,
        receivedAt.getTime() - PROBE_STATUS_MAX_AGE_MS,
      );
      if (probe?.status === 'critical') reasons.push(`mailprobe's mta-sts check of ${domain} is critical`);
    }
  }
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

async function sendAlert(
  report: TlsRptReport,
  deps: IngestDeps,
  receivedAt: Date,
  key: string,
  domains: readonly string[],
): Promise<AlertOutcome> {
  const { sns, topicArn } = deps;
  if (!sns || !topicArn) return 'not configured';
  const wanted = new Set(domains);
  const verdicts = await lookUpVerdicts(
    deps.targets.filter((t) => wanted.has(t.domain)),
    { counters: deps.counters, notBefore: receivedAt.getTime() - PROBE_STATUS_MAX_AGE_MS },
  );
  const message = formatReportAlert({
    report,
    targets: deps.targets,
    verdicts,
    receivedAt,
    location: `s3://${deps.bucket}/${key}`,
  });
  // The probes' publisher (alerts/sns.ts): same retries, never rejects. The report is
  // stored and counted, and the alarm still fires: a failed publish is logged, not a failed delivery.
  const outcome = await publishAlert(message, {
    client: sns,
    topicArn,
    ...deps.backoff,
    log: (entry) => deps.writeLine(JSON.stringify({ ...entry, msg: `tlsrpt ${entry.msg}` })),
  });
  return outcome.ok ? 'sent' : 'failed';
}
