/**
 * The mailto: rua path (RFC 8460 §5.3.1): a `multipart/report; report-type=tlsrpt`
 * message with the report as an `application/tlsrpt+gzip` (or `+json`) part. MIME is
 * parsed by postal-mime (no dependencies, ESM, ~76 KB minified), not by hand.
 *
 * Tolerated: a top-level type other than multipart/report (some senders use
 * multipart/mixed), and a report part under another media type (application/gzip,
 * application/octet-stream, the unregistered application/tlsrpt) only when its file name
 * follows §5.3's convention `sender!policy-domain!begin!end[!unique-id].json[.gz]`; the
 * bytes decide the format. Any other attachment (`invoice.pdf.gz`, issue 25) is never
 * opened: it is counted in `ignoredParts` and, if nothing else is left, the message is
 * refused as having no report.
 */
import PostalMime from 'postal-mime';
import { decodeReport, DEFAULT_LIMITS, type BodyFormat, type ReportLimits } from './decode.js';
import { ReportError } from './errors.js';
import type { TlsRptReport } from './report.js';

export interface MailReport {
  readonly report: TlsRptReport;
  /** The report part's bytes as sent (gzip or JSON): what the store keeps. */
  readonly raw: Buffer;
  readonly format: BodyFormat;
  readonly from?: string;
  readonly subject?: string;
  /** Deviations from §5.3.1 that were tolerated. */
  readonly quirks: readonly string[];
  /** Attachments that were neither a TLS-RPT media type nor named by the §5.3 convention: not read. */
  readonly ignoredParts: number;
}

/**
 * RFC 8460 §5.3: `sender "!" policy-domain "!" begin-timestamp "!" end-timestamp [ "!" unique-id ] "." extension`,
 * extension `json` or `json.gz`, timestamps in seconds since the epoch. Bounded: no
 * backtracking over unbounded input (labels are limited, the whole name is capped first).
 */
const REPORT_FILE_NAME =
  /^[a-z0-9._-]{1,253}![a-z0-9._-]{1,253}!\d{1,12}!\d{1,12}(?:![a-z0-9._-]{1,128})?\.json(?:\.gz)?$/;
const MAX_FILE_NAME = 700;

export function isReportFileName(name: string): boolean {
  return name.length <= MAX_FILE_NAME && REPORT_FILE_NAME.test(name.toLowerCase());
}

function formatOfPart(mimeType: string, filename: string | null): BodyFormat | undefined {
  const type = mimeType.toLowerCase();
  const name = (filename ?? '').toLowerCase();
  if (type === 'application/tlsrpt+gzip') return 'gzip';
  if (type === 'application/tlsrpt+json') return 'json';
  // Another media type is read only under the §5.3 file name: a random `.gz` is not a report.
  if (!isReportFileName(name)) return undefined;
  return name.endsWith('.gz') ? 'gzip' : 'json';
}

export async function parseReportMail(message: Uint8Array, limits: ReportLimits = DEFAULT_LIMITS): Promise<MailReport> {
  if (message.length > limits.maxMessageBytes) {
    throw new ReportError(
      'TLSRPT_MAIL_INVALID',
      `message is ${message.length} bytes, over the ${limits.maxMessageBytes}-byte cap`,
    );
  }
  let email;
  try {
    email = await PostalMime.parse(message, { attachmentEncoding: 'arraybuffer', maxNestingDepth: 16 });
  } catch (err) {
    throw new ReportError('TLSRPT_MAIL_INVALID', `not a MIME message: ${(err as Error).message}`, { cause: err });
  }
  const quirks: string[] = [];
  const contentType = email.headers.find((h) => h.key === 'content-type')?.value ?? '';
  if (!/^multipart\/report\b/i.test(contentType) || !/report-type\s*=\s*"?tlsrpt"?/i.test(contentType)) {
    quirks.push(
      `top-level Content-Type is ${JSON.stringify(contentType.split(';')[0] ?? '')}, not multipart/report; report-type=tlsrpt`,
    );
  }
  const candidates = email.attachments
    .map((a) => ({ a, format: formatOfPart(a.mimeType, a.filename) }))
    .filter((c): c is { a: (typeof email.attachments)[number]; format: BodyFormat } => c.format !== undefined);
  const first = candidates[0];
  if (first === undefined) {
    const seen = email.attachments.map((a) => a.mimeType).join(', ') || 'no attachments';
    throw new ReportError('TLSRPT_MAIL_NO_REPORT', `no application/tlsrpt+gzip or +json part (saw: ${seen})`);
  }
  const ignoredParts = email.attachments.length - candidates.length;
  if (ignoredParts > 0)
    quirks.push(
      `${ignoredParts} attachment${ignoredParts > 1 ? 's' : ''} neither a TLS-RPT type nor named by RFC 8460 §5.3; not read`,
    );
  if (candidates.length > 1) quirks.push(`${candidates.length} report parts; the first is used`);
  if (!first.a.mimeType.toLowerCase().startsWith('application/tlsrpt+')) {
    quirks.push(`report part sent as ${first.a.mimeType} (${first.a.filename ?? 'no file name'})`);
  }
  const content = first.a.content;
  const raw = Buffer.from(
    typeof content === 'string'
      ? Buffer.from(content, 'base64')
      : content instanceof Uint8Array
        ? content
        : new Uint8Array(content),
  );
  const report = decodeReport(raw, first.format, limits);
  const from = email.from && 'address' in email.from ? email.from.address : undefined;
  return {
    report,
    raw,
    format: raw[0] === 0x1f && raw[1] === 0x8b ? 'gzip' : 'json',
    ...(from ? { from } : {}),
    ...(email.subject !== undefined ? { subject: email.subject } : {}),
    quirks,
    ignoredParts,
  };
}
