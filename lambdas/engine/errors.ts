/**
 * One error type for everything that goes wrong inside a probe. It carries the findings
 * code it maps to, the SMTP stage, the server's reply and the underlying cause, so the
 * caller turns it into a finding without ever matching on message text.
 */
import type { FindingCode } from './findings.js';

export interface ProbeErrorDetails {
  readonly stage?: string;
  /** The server's reply code, e.g. 535. */
  readonly responseCode?: number;
  /** The server's reply text (already free of secrets: servers never echo passwords back). */
  readonly response?: string;
  readonly cause?: unknown;
}

export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  readonly code: FindingCode;
  readonly stage?: string;
  readonly responseCode?: number;
  readonly response?: string;

  constructor(code: FindingCode, message: string, details: ProbeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.stage !== undefined) this.stage = details.stage;
    if (details.responseCode !== undefined) this.responseCode = details.responseCode;
    if (details.response !== undefined) this.response = details.response;
  }
}

export function isProbeError(err: unknown): err is ProbeError {
  return err instanceof ProbeError;
}
