/**
 * The HTTPS rua receiver (RFC 8460 §3, §5.3), behind an API Gateway HTTP API: `POST`
 * with `application/tlsrpt+gzip` or `application/tlsrpt+json`.
 *
 * The endpoint is public and unauthenticated by nature, so: sizes are checked before
 * anything is decoded (1 MiB compressed, 5 MiB JSON) and inflating stops at the cap;
 * reports for unconfigured domains are refused before they are stored; answers are one
 * line of JSON with a code and never a stack trace. 201 stored, 200 already had it (both
 * 2xx: §5.3 "a 2xx response indicates successful receipt"), 400 invalid, 403 unknown
 * domain, 405 not POST, 413 too large, 415 wrong type, 429 a daily limit reached, 500 our
 * fault (the sender retries).
 *
 * The stage's throttle is shared by everyone, so one source could starve the real senders
 * (issue 25 item 8): each source IP has its own daily request budget, counted before the
 * body is read. What arrives here is never authenticated: it stores and counts, but pages
 * only when corroborated (ingest.ts).
 */
import { decodeReport, DEFAULT_LIMITS, type BodyFormat } from '../engine/tlsrpt/decode.js';
import { isReportError, REPORT_ERRORS, ReportError } from '../engine/tlsrpt/errors.js';
import { ingestReport, takeDaily, type IngestDeps } from '../engine/tlsrpt/ingest.js';
import { ingestDepsFrom, isDigestEvent, runDigest, type DigestEvent, type ReceiverDeps } from './tlsrpt-common.js';
import type { DigestOutcome } from '../engine/tlsrpt/digest.js';

/** The fields of an API Gateway HTTP API (payload format 2.0) event this handler reads. */
export interface HttpApiEvent {
  readonly requestContext?: {
    /** Payload 2.0 (HTTP API) carries the caller's address here… */
    readonly http?: { readonly method?: string; readonly sourceIp?: string };
    /** …payload 1.0 (REST API) here. */
    readonly identity?: { readonly sourceIp?: string };
    readonly requestId?: string;
  };
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export interface HttpApiResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const CONTENT_TYPES: Readonly<Record<string, BodyFormat>> = {
  'application/tlsrpt+gzip': 'gzip',
  'application/tlsrpt+json': 'json',
};

function respond(
  statusCode: number,
  body: Record<string, unknown>,
  extra: Record<string, string> = {},
): HttpApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra },
    body: `${JSON.stringify(body)}\n`,
  };
}

function refuse(err: ReportError): HttpApiResponse {
  return respond(REPORT_ERRORS[err.code].status, { error: err.code, message: err.message });
}

/** Decoded size of a base64 string, without decoding it. */
function base64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

export function createHttpsHandler(deps: ReceiverDeps = {}) {
  let ingest: IngestDeps | undefined;
  const writeLine = deps.writeLine ?? ((line: string) => void process.stdout.write(`${line}\n`));

  async function handler(event: DigestEvent): Promise<DigestOutcome>;
  async function handler(event: HttpApiEvent): Promise<HttpApiResponse>;
  async function handler(event: HttpApiEvent | DigestEvent): Promise<HttpApiResponse | DigestOutcome> {
    if (isDigestEvent(event)) {
      ingest ??= ingestDepsFrom({ ...deps, writeLine });
      return runDigest(event, ingest);
    }
    const requestId = event.requestContext?.requestId;
    const log = (entry: Record<string, unknown>) => writeLine(JSON.stringify({ ...entry, requestId }));
    try {
      const method = event.requestContext?.http?.method ?? 'POST';
      if (method !== 'POST') {
        return respond(405, { error: 'METHOD_NOT_ALLOWED', message: 'POST a TLS-RPT report here' }, { allow: 'POST' });
      }
      const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const mediaType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = CONTENT_TYPES[mediaType];
      if (format === undefined) {
        throw new ReportError(
          'TLSRPT_CONTENT_TYPE',
          `Content-Type ${JSON.stringify(mediaType)} is not application/tlsrpt+gzip or application/tlsrpt+json`,
        );
      }
      const encoded = event.body ?? '';
      // Checked on the encoded length, before a byte is decoded: base64 is 4 characters per 3 bytes.
      const size = event.isBase64Encoded === true ? base64Length(encoded) : Buffer.byteLength(encoded);
      const cap = format === 'gzip' ? DEFAULT_LIMITS.maxCompressedBytes : DEFAULT_LIMITS.maxReportBytes;
      if (size > cap) {
        throw new ReportError('TLSRPT_REPORT_TOO_LARGE', `the body is ${size} bytes, over the ${cap}-byte cap`);
      }
      ingest ??= ingestDepsFrom({ ...deps, writeLine });
      // Counted before the body is decoded (the costly part), after the checks that cost nothing.
      // API Gateway sets the address from the TCP connection; a client cannot choose it.
      const sourceIp = event.requestContext?.http?.sourceIp ?? event.requestContext?.identity?.sourceIp ?? 'unknown';
      if (
        !(await takeDaily(
          ingest,
          'requests-per-source',
          sourceIp,
          ingest.limits.requestsPerSourcePerDay,
          new Date(ingest.now()),
        ))
      ) {
        throw new ReportError('TLSRPT_RATE_LIMITED', 'too many requests from this address today');
      }
      const body = event.isBase64Encoded === true ? Buffer.from(encoded, 'base64') : Buffer.from(encoded, 'utf8');
      const report = decodeReport(body, format);
      const outcome = await ingestReport(report, { source: 'https', authenticated: false }, ingest);
      return respond(outcome.outcome === 'stored' ? 201 : 200, {
        status: outcome.outcome === 'stored' ? 'accepted' : 'duplicate',
        reportId: report.reportId,
      });
    } catch (err) {
      if (isReportError(err)) {
        log({
          level: 'warn',
          msg: 'tlsrpt report refused',
          code: err.code,
          error: err.message,
          sourceIp: event.requestContext?.http?.sourceIp ?? event.requestContext?.identity?.sourceIp,
        });
        return refuse(err);
      }
      // Our fault (S3 down, a bad deployment): the details go to the log, never to the sender.
      log({
        level: 'error',
        msg: 'tlsrpt receiver failed',
        error: (err as Error)?.name ?? 'Error',
        errorMessage: (err as Error)?.message,
        stack: (err as Error)?.stack,
      });
      return respond(500, { error: 'INTERNAL', message: 'the report was not stored; please retry later' });
    }
  }
  return handler;
}

export const handler = createHttpsHandler();
