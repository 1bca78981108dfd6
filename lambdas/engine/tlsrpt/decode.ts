/**
 * Bytes → report, under size caps. A report body is untrusted and may be a
 * decompression bomb: the compressed size is checked before inflating, and the inflated
 * size is counted while inflating (zlib's `maxOutputLength` stops the inflater at the
 * cap, so a 1 MiB bomb never grows past 5 MiB in memory).
 */
import { gunzipSync } from 'node:zlib';
import { ReportError } from './errors.js';
import { parseReportText } from './parse.js';
import type { TlsRptReport } from './report.js';

export interface ReportLimits {
  /** Largest gzip body taken in. @default 1 MiB */
  readonly maxCompressedBytes: number;
  /** Largest JSON report (after inflating). @default 5 MiB */
  readonly maxReportBytes: number;
  /** Largest whole e-mail message (mailto: rua). @default 4 MiB */
  readonly maxMessageBytes: number;
}

/** Real daily reports are a few KB (Google's: ~1 KB gzip); these caps leave room for big senders. */
export const DEFAULT_LIMITS: ReportLimits = {
  maxCompressedBytes: 1024 * 1024,
  maxReportBytes: 5 * 1024 * 1024,
  maxMessageBytes: 4 * 1024 * 1024,
};

export type BodyFormat = 'gzip' | 'json';

export function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** Inflates at most `maxBytes`; more is TLSRPT_REPORT_TOO_LARGE, corrupt data TLSRPT_REPORT_GZIP_INVALID. */
export function inflateCapped(body: Uint8Array, maxBytes: number): Buffer {
  try {
    // maxOutputLength: zlib checks it chunk by chunk while inflating and throws ERR_BUFFER_TOO_LARGE.
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new ReportError('TLSRPT_REPORT_TOO_LARGE', `inflates to more than ${maxBytes} bytes`, { cause: err });
    }
    throw new ReportError('TLSRPT_REPORT_GZIP_INVALID', `not valid gzip: ${(err as Error).message}`, { cause: err });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A report body in either format. `format` is what the sender declared (content type or
 * file name); the bytes decide when they disagree (a .json.gz that is plain JSON is common).
 */
export function decodeReport(
  body: Uint8Array,
  format: BodyFormat | 'auto' = 'auto',
  limits: ReportLimits = DEFAULT_LIMITS,
): TlsRptReport {
  const gzip = isGzip(body);
  let json: Uint8Array;
  if (gzip) {
    if (body.length > limits.maxCompressedBytes) {
      throw new ReportError(
        'TLSRPT_REPORT_TOO_LARGE',
        `${body.length} bytes compressed, over the ${limits.maxCompressedBytes}-byte cap`,
      );
    }
    json = inflateCapped(body, limits.maxReportBytes);
  } else {
    if (body.length > limits.maxReportBytes) {
      throw new ReportError(
        'TLSRPT_REPORT_TOO_LARGE',
        `${body.length} bytes, over the ${limits.maxReportBytes}-byte cap`,
      );
    }
    if (format === 'gzip' && body.length > 0 && body[0] !== 0x7b && body[0] !== 0xef) {
      throw new ReportError('TLSRPT_REPORT_GZIP_INVALID', 'declared as gzip, but the body has no gzip header');
    }
    json = body;
  }
  let text: string;
  try {
    text = UTF8.decode(json);
  } catch (err) {
    throw new ReportError('TLSRPT_REPORT_NOT_JSON', 'not UTF-8 text (RFC 8259 JSON is UTF-8)', { cause: err });
  }
  return parseReportText(text);
}

/** Reads a stream, counting bytes as they arrive; stops (and destroys the stream) past `maxBytes`. */
export async function readCapped(
  stream: NodeJS.ReadableStream & { destroy?: (err?: Error) => void },
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > maxBytes) {
      stream.destroy?.();
      throw tooLarge();
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
