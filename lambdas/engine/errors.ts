/**
 * The engine's errors. One base class (as powertools' batch errors do): every error has
 * a stable `name`, an optional `cause` and the context fields that say where it
 * happened, so loggers and callers read them the same way and never match on text.
 *
 * ProbeError is what goes wrong inside a probe. It carries the findings code it maps to,
 * the SMTP stage, the server's reply and the underlying cause, so the caller turns it
 * into a finding without ever matching on message text.
 */
import type { FindingCode } from './findings.js';

/** The base of the engine's errors: `name` identifies the kind, `context` the facts. */
export abstract class MailprobeError extends Error {
  abstract override readonly name: string;
  /** Facts for logs (never a secret): the stage, the query, the secret's ARN… */
  readonly context: Readonly<Record<string, string | number>>;

  protected constructor(
    message: string,
    options: { readonly cause?: unknown; readonly context?: Readonly<Record<string, string | number>> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.context = options.context ?? {};
  }
}

export interface ProbeErrorDetails {
  readonly stage?: string;
  /** The server's reply code, e.g. 535. */
  readonly responseCode?: number;
  /** The server's reply text (masked by the connection once credentials were sent). */
  readonly response?: string;
  readonly cause?: unknown;
}

export class ProbeError extends MailprobeError {
  override readonly name = 'ProbeError';
  readonly code: FindingCode;
  readonly stage?: string;
  readonly responseCode?: number;
  readonly response?: string;

  constructor(code: FindingCode, message: string, details: ProbeErrorDetails = {}) {
    super(message, {
      cause: details.cause,
      context: {
        code,
        ...(details.stage !== undefined ? { stage: details.stage } : {}),
        ...(details.responseCode !== undefined ? { responseCode: details.responseCode } : {}),
      },
    });
    this.code = code;
    if (details.stage !== undefined) this.stage = details.stage;
    if (details.responseCode !== undefined) this.responseCode = details.responseCode;
    if (details.response !== undefined) this.response = details.response;
  }
}

export function isProbeError(err: unknown): err is ProbeError {
  return err instanceof ProbeError;
}
