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

export interface MailprobeErrorOptions {
  readonly cause?: unknown;
  readonly context?: Readonly<Record<string, string | number>>;
  readonly userFacing?: boolean;
}

/**
 * The base of every error mailprobe throws: `name` identifies the kind, `context` the facts,
 * `userFacing` says it is the user's to fix (an argument, the config, an input file): the CLI
 * prints its message in one line and exits 2, never a stack trace, without having to know
 * (or load) the class.
 */
export abstract class MailprobeError extends Error {
  abstract override readonly name: string;
  /** Facts for logs (never a secret): the stage, the query, the secret's ARN… */
  readonly context: Readonly<Record<string, string | number>>;
  readonly userFacing: boolean;

  constructor(message: string, options: MailprobeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.context = options.context ?? {};
    this.userFacing = options.userFacing ?? false;
  }
}

/** True for an error the user fixes (see MailprobeError); read as a property, so no class need be loaded. */
export function isUserFacing(err: unknown): err is Error & { readonly userFacing: true } {
  return err instanceof Error && (err as { userFacing?: unknown }).userFacing === true;
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

/** An error's message for a finding or a log line (never its stack). */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
