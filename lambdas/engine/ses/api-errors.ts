/**
 * SES API failures (throttling, access denied, network, deadline) as findings: the
 * ses-account check reports them, it never crashes on them. Pure: classifies the
 * errors the SDK throws by their `name` / `code`, never by message text.
 */
import type { Finding, FindingCode } from '../findings.js';
import { finding, isFindingCode } from '../findings.js';

export type SesApiFailureKind = 'deadline' | 'throttled' | 'access-denied' | 'no-credentials' | 'network' | 'service';

export interface SesApiFailure {
  /** The SES operation, e.g. `GetSendQuota`. */
  readonly operation: string;
  readonly kind: SesApiFailureKind;
  /** The SDK error name or the system error code, e.g. `Throttling`, `ENOTFOUND`. */
  readonly errorName: string;
  /** The service's message (never contains secrets: SES does not echo credentials). */
  readonly message: string;
}

// SES v1 is a Query API: its throttling code is `Throttling`; the SDK's own names for
// other protocols are included so a future switch to SESv2 keeps working.
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
]);
const NETWORK = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
]);

function nameOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'UnknownError';
  const { name, code } = err as { name?: unknown; code?: unknown };
  // System errors carry the useful part in `code` (ENOTFOUND); SDK errors in `name`.
  if (typeof code === 'string' && NETWORK.has(code)) return code;
  return typeof name === 'string' ? name : 'UnknownError';
}

export function classifySesError(operation: string, err: unknown): SesApiFailure {
  const errorName = nameOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const kind: SesApiFailureKind =
    errorName === 'AbortError'
      ? 'deadline'
      : THROTTLING.has(errorName)
        ? 'throttled'
        : ACCESS_DENIED.has(errorName)
          ? 'access-denied'
          : errorName === 'CredentialsProviderError'
            ? 'no-credentials'
            : NETWORK.has(errorName)
              ? 'network'
              : 'service';
  return { operation, kind, errorName, message };
}

/**
 * The code for API failures that no transport code describes. `SES_API_ERROR` has been
 * requested for the catalogue; until it exists, DEADLINE_EXCEEDED ("the check could not
 * finish") carries them, with the hint below saying what really happened.
 */
const API_ERROR_CODE = 'SES_API_ERROR';
export const SES_API_ERROR_CODE: FindingCode = isFindingCode(API_ERROR_CODE) ? API_ERROR_CODE : 'DEADLINE_EXCEEDED';

function networkCode(errorName: string): FindingCode {
  switch (errorName) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'DNS_ERROR';
    case 'ECONNREFUSED':
      return 'CONNECT_REFUSED';
    case 'ECONNRESET':
      return 'CONNECT_RESET';
    default:
      return 'CONNECT_TIMEOUT';
  }
}

/** IAM actions the ses-account check calls: the only ones its role needs. */
export const SES_ACCOUNT_IAM_ACTIONS = [
  'ses:GetAccountSendingEnabled',
  'ses:GetSendQuota',
  'ses:GetIdentityVerificationAttributes',
  'ses:GetIdentityDkimAttributes',
] as const;

/** One finding per kind of failure, naming every operation it hit. */
export function apiFailureFindings(failures: readonly SesApiFailure[], region: string): Finding[] {
  const byKind = new Map<SesApiFailureKind, SesApiFailure[]>();
  for (const f of failures) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  const findings: Finding[] = [];
  for (const [kind, list] of byKind) {
    const ops = [...new Set(list.map((f) => f.operation))].join(', ');
    const first = list[0]!;
    const detail = `${first.errorName}${first.message ? `: ${first.message}` : ''}`;
    switch (kind) {
      case 'deadline':
        findings.push(
          finding(
            'DEADLINE_EXCEEDED',
            `SES API calls in ${region} did not finish before the check's deadline (${ops}).`,
          ),
        );
        break;
      case 'throttled':
        findings.push(
          finding(SES_API_ERROR_CODE, `The SES API in ${region} throttled the probe (${ops}; ${detail}).`, {
            severity: 'warning',
            hint: 'The SES API throttled the probe. SES allows about one call per second for its non-sending actions, shared by every client of the account in the region; run the ses-account check less often, or look for another client polling the SES API in a tight loop.',
          }),
        );
        break;
      case 'access-denied':
      case 'no-credentials':
        findings.push(
          finding(SES_API_ERROR_CODE, `The SES API in ${region} refused the probe (${ops}; ${detail}).`, {
            hint: `The probe’s AWS credentials are missing or not allowed to call SES. Grant its role ${SES_ACCOUNT_IAM_ACTIONS.join(', ')} (read-only, resource "*"), and check any SCP or permission boundary that denies SES in this region.`,
          }),
        );
        break;
      case 'network':
        findings.push(
          finding(
            networkCode(first.errorName),
            `The SES API endpoint for ${region} could not be reached (${ops}; ${detail}).`,
            {
              hint: 'The probe could not reach the SES API (email.REGION.amazonaws.com over HTTPS). From a VPC without internet access, add an interface VPC endpoint for SES or a NAT gateway.',
            },
          ),
        );
        break;
      case 'service':
        findings.push(
          finding(SES_API_ERROR_CODE, `The SES API in ${region} failed (${ops}; ${detail}).`, {
            hint: 'The SES API returned an error. If it is a 5xx it may clear by itself; check the AWS Health dashboard for SES in this region.',
          }),
        );
        break;
    }
  }
  return findings;
}
