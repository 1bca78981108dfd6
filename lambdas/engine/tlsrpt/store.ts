/**
 * Raw reports in S3, each stored once. The key is derived from what identifies a report
 * (RFC 8460 §4.4: `report-id` is unique per submitter, the `organization-name`), so the
 * same report sent twice, or once by HTTPS and once by mail, maps to the same key; an S3
 * conditional write (`If-None-Match: *`) lets only the first one in. S3 rather than a
 * DynamoDB table: the report is stored anyway, the check is strongly consistent, and it
 * adds no resource, no client and no cost.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { withRetries, type Backoff } from '../aws-retry.js';
import type { BodyFormat } from './decode.js';
import type { TlsRptReport } from './report.js';

export const REPORTS_PREFIX = 'reports/';
/** Where SES writes incoming messages (the mailto: rua); the mail handler reads from here. */
export const INCOMING_PREFIX = 'incoming/';

export function reportKey(report: TlsRptReport): string {
  const id = createHash('sha256').update(`${report.organizationName}\u0000${report.reportId}`).digest('hex');
  const domain = report.policies[0]?.policyDomain ?? 'unknown';
  return `${REPORTS_PREFIX}${domain}/${id}`;
}

export type StoreOutcome =
  { readonly stored: true; readonly key: string } | { readonly stored: false; readonly key: string };

export async function storeReport(
  report: TlsRptReport,
  raw: Uint8Array,
  format: BodyFormat,
  deps: { client: Pick<S3Client, 'send'>; bucket: string; source: 'https' | 'mail' } & Backoff,
): Promise<StoreOutcome> {
  const key = reportKey(report);
  try {
    await withRetries(
      () =>
        deps.client.send(
          new PutObjectCommand({
            Bucket: deps.bucket,
            Key: key,
            Body: raw,
            IfNoneMatch: '*',
            ContentType: format === 'gzip' ? 'application/tlsrpt+gzip' : 'application/tlsrpt+json',
            // ASCII only in user metadata; the report itself holds the rest.
            Metadata: {
              source: deps.source,
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
