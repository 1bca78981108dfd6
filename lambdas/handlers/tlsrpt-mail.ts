/**
 * The mailto: rua receiver: SES email receiving writes each message to the bucket under
 * `incoming/` (receipt rule, S3 action), the bucket notifies this function, which parses
 * the MIME message (postal-mime), takes out the report and ingests it like the HTTPS
 * receiver does. A message that is not a report (spam, bounces, unknown domains) is
 * logged with its code and left to the bucket's lifecycle rule; only failures worth a
 * retry (S3, DynamoDB or CloudWatch unavailable) throw, so Lambda retries and then dead-letters.
 *
 * Each report is authenticated (authenticate.ts: DKIM aligned with From, RFC 8460 §5.3,
 * and SES's DKIM verdict from the receipt event) and recorded `authenticated: true|false`;
 * SES's SPF and DKIM verdicts go into every log line about the message.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_LIMITS, readCapped } from '../engine/tlsrpt/decode.js';
import { isReportError, ReportError } from '../engine/tlsrpt/errors.js';
import { ingestReport, type IngestDeps, type IngestOutcome } from '../engine/tlsrpt/ingest.js';
import { authenticateMail, type DkimResolver } from '../engine/tlsrpt/authenticate.js';
import { parseReportMail } from '../engine/tlsrpt/mime.js';
import { INCOMING_PREFIX } from '../engine/tlsrpt/store.js';
import { ingestDepsFrom, isDigestEvent, runDigest, type DigestEvent, type ReceiverDeps } from './tlsrpt-common.js';
import type { DigestOutcome } from '../engine/tlsrpt/digest.js';

/**
 * The receipt rule's Lambda action (SES event: the message is at `incoming/<messageId>`,
 * written by the S3 action before it) or an S3 ObjectCreated notification on `incoming/`.
 */
export interface S3NotificationEvent {
  readonly Records?: readonly {
    readonly ses?: {
      readonly mail?: { readonly messageId?: string };
      /** SES's own verdicts on the message (receipt event), `PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED`. */
      readonly receipt?: {
        readonly spamVerdict?: { readonly status?: string };
        readonly virusVerdict?: { readonly status?: string };
        readonly spfVerdict?: { readonly status?: string };
        readonly dkimVerdict?: { readonly status?: string };
      };
    };
    readonly s3?: {
      readonly bucket?: { readonly name?: string };
      readonly object?: { readonly key?: string; readonly size?: number };
    };
  }[];
}

export type MailOutcome =
  | ({ readonly object: string } & IngestOutcome)
  | { readonly object: string; readonly outcome: 'refused'; readonly code: string }
  | { readonly object: string; readonly outcome: 'skipped' };

export function createMailHandler(deps: ReceiverDeps & { dkimResolver?: DkimResolver } = {}) {
  let ingest: IngestDeps | undefined;
  const writeLine = deps.writeLine ?? ((line: string) => void process.stdout.write(`${line}\n`));

  async function handler(event: DigestEvent): Promise<DigestOutcome>;
  async function handler(event: S3NotificationEvent): Promise<MailOutcome[]>;
  async function handler(event: S3NotificationEvent | DigestEvent): Promise<MailOutcome[] | DigestOutcome> {
    ingest ??= ingestDepsFrom({ ...deps, writeLine });
    if (isDigestEvent(event)) return runDigest(event, ingest);
    const outcomes: MailOutcome[] = [];
    for (const record of event.Records ?? []) {
      const messageId = record.ses?.mail?.messageId;
      // S3 event keys are URL-encoded with "+" for spaces.
      const key =
        messageId !== undefined
          ? `${INCOMING_PREFIX}${messageId}`
          : decodeURIComponent((record.s3?.object?.key ?? '').replace(/\+/g, ' '));
      const bucket = messageId !== undefined ? ingest.bucket : record.s3?.bucket?.name;
      if (
        !key.startsWith(INCOMING_PREFIX) ||
        bucket !== ingest.bucket ||
        (messageId !== undefined && !/^[A-Za-z0-9._-]+$/.test(messageId))
      ) {
        outcomes.push({ object: key, outcome: 'skipped' });
        continue;
      }
      try {
        // SES already judged the message: one it calls spam or infected is not read at all (issue 25).
        const receipt = record.ses?.receipt;
        if (receipt?.virusVerdict?.status === 'FAIL' || receipt?.spamVerdict?.status === 'FAIL') {
          throw new ReportError(
            'TLSRPT_MAIL_INVALID',
            `SES judged the message ${receipt.virusVerdict?.status === 'FAIL' ? 'infected' : 'spam'}; not read`,
          );
        }
        if ((record.s3?.object?.size ?? 0) > DEFAULT_LIMITS.maxMessageBytes) {
          throw new ReportError(
            'TLSRPT_MAIL_INVALID',
            `message is over the ${DEFAULT_LIMITS.maxMessageBytes}-byte cap`,
          );
        }
        const object = await ingest.s3.send(new GetObjectCommand({ Bucket: ingest.bucket, Key: key }));
        const message = await readCapped(
          object.Body as NodeJS.ReadableStream,
          DEFAULT_LIMITS.maxMessageBytes,
          () =>
            new ReportError('TLSRPT_MAIL_INVALID', `message is over the ${DEFAULT_LIMITS.maxMessageBytes}-byte cap`),
        );
        const mail = await parseReportMail(message);
        const ses = {
          ...(receipt?.spfVerdict?.status ? { spf: receipt.spfVerdict.status } : {}),
          ...(receipt?.dkimVerdict?.status ? { dkim: receipt.dkimVerdict.status } : {}),
        };
        const auth = await authenticateMail(message, {
          ...(deps.dkimResolver ? { resolver: deps.dkimResolver } : {}),
          now: new Date(ingest.now()),
          ses,
        });
        writeLine(
          JSON.stringify({
            level: 'info',
            msg: 'tlsrpt mail authentication',
            object: key,
            authenticated: auth.authenticated,
            reason: auth.reason,
            ...(auth.fromDomain ? { fromDomain: auth.fromDomain } : {}),
            ...(mail.ignoredParts > 0 ? { ignoredParts: mail.ignoredParts } : {}),
            ...(ses.spf || ses.dkim ? { ses } : {}),
          }),
        );
        const outcome = await ingestReport(
          mail.report,
          {
            source: 'mail',
            authenticated: auth.authenticated,
            ...(auth.authenticated && auth.domain ? { domain: auth.domain } : {}),
          },
          ingest,
        );
        outcomes.push({ object: key, ...outcome });
      } catch (err) {
        if (!isReportError(err)) throw err;
        writeLine(
          JSON.stringify({
            level: 'warn',
            msg: 'tlsrpt mail refused',
            object: key,
            code: err.code,
            error: err.message,
            ...(record.ses?.receipt
              ? {
                  spf: record.ses.receipt.spfVerdict?.status,
                  dkim: record.ses.receipt.dkimVerdict?.status,
                  spam: record.ses.receipt.spamVerdict?.status,
                  virus: record.ses.receipt.virusVerdict?.status,
                }
              : {}),
          }),
        );
        outcomes.push({ object: key, outcome: 'refused', code: err.code });
      }
    }
    return outcomes;
  }
  return handler;
}

export const handler = createMailHandler();
