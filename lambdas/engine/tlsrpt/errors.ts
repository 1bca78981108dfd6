/**
 * Why a TLS-RPT report could not be taken in. These codes are a contract like the
 * findings codes (the CLI's `--json` errors, the receivers' logs and HTTP answers carry
 * them): add codes, never rename one. Each says what the sender or the operator can do.
 */
import { MailprobeError } from '../errors.js';

export const REPORT_ERRORS = {
  TLSRPT_REPORT_INVALID: {
    status: 400,
    hint: 'The JSON is not an RFC 8460 §4 report: the message names the field. If a real sender produced it, keep the file and open an issue (parser tolerance).',
  },
  TLSRPT_REPORT_NOT_JSON: {
    status: 400,
    hint: 'The (decompressed) body is not JSON. Check that the file is a TLS-RPT report and not, e.g., a DMARC aggregate report (XML).',
  },
  TLSRPT_REPORT_GZIP_INVALID: {
    status: 400,
    hint: 'The body claims to be gzip (application/tlsrpt+gzip or .gz) but does not inflate. The transfer may have been truncated.',
  },
  TLSRPT_REPORT_TOO_LARGE: {
    status: 413,
    hint: 'Over the size cap (compressed or decompressed). Real daily reports are a few KB; a larger one is either a very large sender or a decompression bomb.',
  },
  TLSRPT_CONTENT_TYPE: {
    status: 415,
    hint: 'RFC 8460 §5.3: POST with Content-Type application/tlsrpt+gzip or application/tlsrpt+json.',
  },
  TLSRPT_DOMAIN_UNKNOWN: {
    status: 403,
    hint: 'The report is about a policy domain this receiver is not configured for (tlsRpt.domains). Add the domain to the config, or ignore: strangers may point their rua here.',
  },
  TLSRPT_MAIL_INVALID: {
    status: 400,
    hint: 'The message could not be parsed as MIME, or is over the size cap.',
  },
  TLSRPT_MAIL_NO_REPORT: {
    status: 400,
    hint: 'The message has no application/tlsrpt+gzip or application/tlsrpt+json part (RFC 8460 §5.3.1). It may be spam or a bounce sent to the rua address.',
  },
  TLSRPT_RATE_LIMITED: {
    status: 429,
    hint: 'A daily limit of the receiver (tlsRpt.limits: per source IP, per submitter, per policy domain) was reached; the report was counted in TlsRptDropped and not stored. A real sender retries the next day; many of these mean a flood.',
  },
  TLSRPT_FILE_UNREADABLE: {
    status: 400,
    hint: 'The file could not be read: check the path and permissions.',
  },
} as const satisfies Record<string, { readonly status: number; readonly hint: string }>;

export type ReportErrorCode = keyof typeof REPORT_ERRORS;

export class ReportError extends MailprobeError {
  override readonly name = 'ReportError';
  readonly code: ReportErrorCode;
  /** The report field the problem is in (`policies[0].summary`), when there is one. */
  readonly field?: string;

  constructor(code: ReportErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
  }
}

export function isReportError(err: unknown): err is ReportError {
  return err instanceof ReportError;
}
