/**
 * A TLS-RPT aggregate report (RFC 8460 §4) after parsing: camelCase, counts as numbers,
 * times as ISO-8601 UTC, every optional field either present or absent (never "").
 */

/** RFC 8460 §4.3 result types. Senders may send others: those are kept as strings. */
export const KNOWN_RESULT_TYPES = [
  'starttls-not-supported',
  'certificate-host-mismatch',
  'certificate-expired',
  'certificate-not-trusted',
  'validation-failure',
  'tlsa-invalid',
  'dnssec-invalid',
  'dane-required',
  'sts-policy-fetch-error',
  'sts-policy-invalid',
  'sts-webpki-invalid',
] as const;
export type KnownResultType = (typeof KNOWN_RESULT_TYPES)[number];

/** RFC 8460 §4.4 policy types; others are kept as strings. */
export type PolicyType = 'sts' | 'tlsa' | 'no-policy-found' | (string & {});

/** The MTA-STS mode read from `policy-string` (RFC 8461 §3.2), for sts policies that carry it. */
export type StsMode = 'enforce' | 'testing' | 'none';

export interface FailureDetail {
  readonly resultType: string;
  readonly failedSessions: number;
  readonly sendingMtaIp?: string;
  readonly receivingMxHostname?: string;
  readonly receivingMxHelo?: string;
  readonly receivingIp?: string;
  readonly failureReasonCode?: string;
  readonly additionalInformation?: string;
}

export interface PolicyReport {
  readonly policyType: PolicyType;
  readonly policyDomain: string;
  readonly policyString: readonly string[];
  /** `mx-host` as a list, whether the sender sent a string or an array (RFC 8460 erratum 6241). */
  readonly mxHosts: readonly string[];
  readonly mode?: StsMode;
  readonly successfulSessions: number;
  readonly failedSessions: number;
  readonly failureDetails: readonly FailureDetail[];
}

export interface TlsRptReport {
  readonly organizationName: string;
  readonly reportId: string;
  readonly contactInfo?: string;
  readonly dateRange: { readonly start: string; readonly end: string };
  readonly policies: readonly PolicyReport[];
  /** Deviations from RFC 8460 that were tolerated, for the logs (never a reason to reject). */
  readonly quirks: readonly string[];
}

export function totalFailed(report: TlsRptReport): number {
  return report.policies.reduce((n, p) => n + p.failedSessions, 0);
}

export function totalSuccessful(report: TlsRptReport): number {
  return report.policies.reduce((n, p) => n + p.successfulSessions, 0);
}
