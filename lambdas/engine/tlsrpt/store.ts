/**
 * Reports in S3, each stored once, as the canonical JSON of the parsed report (what was
 * counted), not the bytes received: a report padded with 4.6 MB of whitespace is stored as
 * the few kilobytes it means (issue 25).
 *
 * The key is a hash of that content. Keying on `organization-name` + `report-id` let the
 * first sender of an id win, and ids are predictable (Google's is `<day>T00:00:00Z_<domain>`):
 * a forged clean report sent first made Google's real 5,000-failure report a "duplicate".
 * By content, the same report sent twice, or once by HTTPS and once by mail, still maps to
 * one key, and a forgery can no longer claim another report's place. An S3 conditional
 * write (`If-None-Match: *`) lets only the first copy in.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { withRetries, type Backoff } from '../aws-retry.js';
import type { TlsRptReport } from './report.js';

export const REPORTS_PREFIX = 'reports/';
/** Where SES writes incoming messages (the mailto: rua); the mail handler reads from here. */
export const INCOMING_PREFIX = 'incoming/';

/** The report as counted, serialised the same way whichever receiver parsed it. */
export function canonicalReport(report: TlsRptReport): string {
  return JSON.stringify(report);
}

/**
 * An authenticated copy has its own key (`….authenticated`): a sender that publishes both an
 * https and a mailto rua sends the same report twice, and the unauthenticated HTTPS copy,
 * usually first, must not make the DKIM-signed one a "duplicate" that can never page.
 * Each trust level still counts a report once.
 */
export function reportKey(report: TlsRptReport, authenticated = false): string {
  const id = createHash('sha256').update(canonicalReport(report)).digest('hex');
  const domain = report.policies[0]?.policyDomain ?? 'unknown';
  return `${REPORTS_PREFIX}${domain}/${id}${authenticated ? '.authenticated' : ''}`;
}

export type StoreOutcome =
  { readonly stored: true; readonly key: string } | { readonly stored: false; readonly key: string };

export async function storeReport(
  report: TlsRptReport,
  deps: { client: Pick<S3Client, 'send'>; bucket: string; source: 'https' | 'mail'; authenticated?: boolean } & Backoff,
): Promise<StoreOutcome> {
  const key = reportKey(report, deps.authenticated === true);
  try {
    await withRetries(
      () =>
        deps.client.send(
          new PutObjectCommand({
            Bucket: deps.bucket,
            Key: key,
            Body: canonicalReport(report),
            IfNoneMatch: '*',
            ContentType: 'application/json',
            // ASCII only in user metadata; the report itself holds the rest.
            Metadata: {
              source: deps.source,
              // DKIM-verified and aligned (mail), per report: what the digest and an investigation start from.
              authenticated: String(deps.authenticated === true),
              'report-id': asciiOnly(report.reportId),
              organization: asciiOnly(report.organizationName),
            },
          }),
        ),
      deps,
    );
    return { stored: true, key };
  } catch (err) {
    const name = (err as { name?: string }).name;
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // 412: the key exists. 409: a concurrent conditional write of the same key is in flight; it will count it.
    if (name === 'PreconditionFailed' || status === 412 || name === 'ConditionalRequestConflict' || status === 409) {
      return { stored: false, key };
    }
    throw err;
  }
}

function asciiOnly(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 256);
}
