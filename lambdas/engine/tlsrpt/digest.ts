/**
 * The daily digest (issue 21 (2)): reports with failures that nothing corroborated do not
 * page, but someone should still read them. Ingest records each such report's S3 key in the
 * day's set (`tlsrpt-day#<day>#digest`); a scheduled run the next morning reads that set,
 * loads the stored (canonical) reports and sends one message listing them, at `info`
 * severity so subscription filters can route it away from the pager.
 *
 * Bounded: at most MAX_DIGEST_REPORTS are read (the daily limits keep the set small anyway),
 * each object capped at the report size cap; one that cannot be read is listed as such.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { SNS_MAX_SUBJECT_CHARS } from '../alerts/format.js';
import { publishAlert } from '../alerts/sns.js';
import { withRetries, type Backoff } from '../aws-retry.js';
import { quoted } from './alert.js';
import { DEFAULT_LIMITS, readCapped } from './decode.js';
import type { DayCounters } from './limits.js';
import { totalFailed, type TlsRptReport } from './report.js';

/** The day set ingest adds uncorroborated reports with failures to. */
export const DIGEST_SET = 'digest';
export const MAX_DIGEST_REPORTS = 100;

export interface DigestDeps extends Backoff {
  readonly counters: DayCounters;
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  readonly sns?: Pick<SNSClient, 'send'>;
  readonly topicArn?: string;
  readonly writeLine: (line: string) => void;
}

export interface DigestOutcome {
  readonly day: string;
  readonly reports: number;
  readonly sent: 'sent' | 'failed' | 'nothing to send' | 'not configured';
}

interface Entry {
  readonly key: string;
  readonly report?: TlsRptReport;
  readonly error?: string;
}

export async function sendDigest(day: string, deps: DigestDeps): Promise<DigestOutcome> {
  const keys = (await deps.counters.members(DIGEST_SET, day)).sort().slice(0, MAX_DIGEST_REPORTS);
  if (keys.length === 0) return { day, reports: 0, sent: 'nothing to send' };
  const entries: Entry[] = [];
  for (const key of keys) {
    try {
      const object = await withRetries(
        () => deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key })),
        deps,
      );
      const bytes = await readCapped(
        object.Body as NodeJS.ReadableStream,
        DEFAULT_LIMITS.maxReportBytes,
        () => new Error('over the report size cap'),
      );
      entries.push({ key, report: JSON.parse(bytes.toString('utf8')) as TlsRptReport });
    } catch (err) {
      entries.push({ key, error: (err as Error).name ?? 'Error' });
    }
  }
  if (!deps.sns || !deps.topicArn) return { day, reports: entries.length, sent: 'not configured' };
  const message = formatDigest(day, entries);
  const outcome = await publishAlert(message, {
    client: deps.sns,
    topicArn: deps.topicArn,
    ...deps,
    log: (entry) => deps.writeLine(JSON.stringify({ ...entry, msg: `tlsrpt digest ${entry.msg}` })),
  });
  return { day, reports: entries.length, sent: outcome.ok ? 'sent' : 'failed' };
}

export function formatDigest(
  day: string,
  entries: readonly Entry[],
): {
  subject: string;
  text: string;
  input: {
    Subject: string;
    Message: string;
    MessageStructure: 'json';
    MessageAttributes: Record<string, MessageAttributeValue>;
  };
} {
  const lines = [
    `${entries.length} TLS-RPT report${entries.length === 1 ? '' : 's'} with failures received on ${day} that nothing corroborated`,
    '(not DKIM-signed by a trusted submitter, mailprobe’s mta-sts check not critical, fewer than two signed organisations).',
    'They did not page. Read them if the same domain shows up day after day.',
    '',
  ];
  for (const e of entries) {
    if (!e.report) {
      lines.push(`  (unreadable: ${e.error}) ${e.key}`);
      continue;
    }
    const domains = [...new Set(e.report.policies.map((p) => p.policyDomain))].join(', ');
    lines.push(
      `  ${totalFailed(e.report).toLocaleString('en-US').padStart(9)} failed  ${domains}  from ${quoted(e.report.organizationName, 40)}  ${e.key}`,
    );
  }
  const text = `${lines.join('\n')}\n`;
  const subject =
    `[DIGEST] TLS-RPT ${day}: ${entries.length} uncorroborated report${entries.length === 1 ? '' : 's'} with failures`.slice(
      0,
      SNS_MAX_SUBJECT_CHARS,
    );
  return {
    subject,
    text,
    input: {
      Subject: subject,
      Message: JSON.stringify({ default: text }),
      MessageStructure: 'json',
      MessageAttributes: {
        check: { DataType: 'String', StringValue: 'tlsrpt' },
        severity: { DataType: 'String', StringValue: 'info' },
      },
    },
  };
}
