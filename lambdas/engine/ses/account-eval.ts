/**
 * What the SES account answers mean: quota use, sandbox, identity and DKIM status.
 * Pure functions over the API responses, so every response shape is tested without
 * a client.
 */
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';

/** SES's VerificationStatus values, plus what the probe adds: absent from the answer, or not asked. */
export type SesVerificationStatus =
  'Pending' | 'Success' | 'Failed' | 'TemporaryFailure' | 'NotStarted' | 'NotFound' | 'Unknown';

export interface SesQuota {
  /** Messages per 24 hours; -1 means unlimited (GetSendQuota). */
  readonly max24HourSend: number;
  readonly sentLast24Hours: number;
  /** Messages per second. */
  readonly maxSendRate: number;
  /** sentLast24Hours / max24HourSend in percent (two decimals); null when unlimited or zero. */
  readonly usedPercent: number | null;
}

export interface SesIdentityStatus {
  readonly identity: string;
  readonly verificationStatus: SesVerificationStatus;
  readonly dkimVerificationStatus: SesVerificationStatus;
  /** False when Easy DKIM signing is switched off for the identity. */
  readonly dkimEnabled?: boolean;
  /** For an address: the verified domain that makes it usable (SES accepts any address of a verified domain). */
  readonly verifiedVia?: string;
}

/** The quota of the SES sandbox (docs.aws.amazon.com/ses/latest/dg/request-production-access.html). */
export const SANDBOX_MAX_24_HOUR_SEND = 200;
export const SANDBOX_MAX_SEND_RATE = 1;
export const DEFAULT_QUOTA_WARN_PERCENT = 80;

export function quotaOf(response: {
  Max24HourSend?: number;
  SentLast24Hours?: number;
  MaxSendRate?: number;
}): SesQuota | null {
  const max = response.Max24HourSend;
  const sent = response.SentLast24Hours;
  const rate = response.MaxSendRate;
  if (max === undefined || sent === undefined || rate === undefined) return null;
  const usedPercent = max > 0 ? Math.round((sent / max) * 10_000) / 100 : null;
  return { max24HourSend: max, sentLast24Hours: sent, maxSendRate: rate, usedPercent };
}

export function isSandboxQuota(quota: SesQuota): boolean {
  return quota.max24HourSend === SANDBOX_MAX_24_HOUR_SEND && quota.maxSendRate === SANDBOX_MAX_SEND_RATE;
}

/** The domain of an address identity, or undefined for a domain identity. */
export function domainOf(identity: string): string | undefined {
  const at = identity.lastIndexOf('@');
  return at >= 0 ? identity.slice(at + 1) : undefined;
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set(['Pending', 'Success', 'Failed', 'TemporaryFailure', 'NotStarted']);

/** SES answers with the identities as asked; domains are case-insensitive, so fall back to lower case. */
function lookup<T>(map: Record<string, T> | undefined, identity: string): T | undefined {
  if (map === undefined) return undefined;
  return map[identity] ?? map[identity.toLowerCase()];
}

function statusOf(value: string | undefined): SesVerificationStatus {
  if (value === undefined) return 'NotFound';
  return KNOWN_STATUSES.has(value) ? (value as SesVerificationStatus) : 'Unknown';
}

export interface IdentityAnswers {
  /** GetIdentityVerificationAttributes' map, or undefined when the call failed. */
  readonly verification?: Record<string, { VerificationStatus?: string }>;
  /** GetIdentityDkimAttributes' map, or undefined when the call failed. */
  readonly dkim?: Record<string, { DkimEnabled?: boolean; DkimVerificationStatus?: string }>;
}

/** Every identity's status; an address inherits verification and DKIM from a verified domain. */
export function identityStatuses(identities: readonly string[], answers: IdentityAnswers): SesIdentityStatus[] {
  return identities.map((identity) => {
    const domain = domainOf(identity);
    const own = answers.verification ? statusOf(lookup(answers.verification, identity)?.VerificationStatus) : 'Unknown';
    const viaDomain =
      own !== 'Success' && domain !== undefined && answers.verification
        ? statusOf(lookup(answers.verification, domain)?.VerificationStatus) === 'Success'
        : false;
    // An address signs with its domain's Easy DKIM unless it has its own that verified.
    const ownDkim = lookup(answers.dkim, identity);
    const dkimEntry =
      domain === undefined || ownDkim?.DkimVerificationStatus === 'Success'
        ? ownDkim
        : (lookup(answers.dkim, domain) ?? ownDkim);
    const dkimStatus = answers.dkim ? statusOf(dkimEntry?.DkimVerificationStatus) : 'Unknown';
    return {
      identity,
      verificationStatus: viaDomain ? 'Success' : own,
      dkimVerificationStatus: dkimStatus,
      ...(dkimEntry?.DkimEnabled !== undefined ? { dkimEnabled: dkimEntry.DkimEnabled } : {}),
      ...(viaDomain && domain !== undefined ? { verifiedVia: domain } : {}),
    };
  });
}

export interface AccountFacts {
  readonly region: string;
  readonly sendingEnabled: boolean | null;
  readonly quota: SesQuota | null;
  readonly identities: readonly SesIdentityStatus[];
  readonly quotaWarnPercent: number;
}

export function accountFindings(facts: AccountFacts): Finding[] {
  const { region, quota } = facts;
  const findings: Finding[] = [];
  if (facts.sendingEnabled === false) {
    findings.push(finding('SES_SENDING_DISABLED', `Email sending is disabled for this account in ${region}.`));
  }
  if (quota !== null && quota.usedPercent !== null && quota.usedPercent >= facts.quotaWarnPercent) {
    // At 100% SES refuses every message ("Daily message quota exceeded"): that is an outage.
    findings.push(
      finding(
        'SES_QUOTA_HIGH',
        `${quota.usedPercent}% of the 24-hour sending quota is used in ${region} (${quota.sentLast24Hours} of ${quota.max24HourSend}; threshold ${facts.quotaWarnPercent}%).`,
        quota.usedPercent >= 100 ? { severity: 'critical' } : {},
      ),
    );
  }
  if (quota !== null && isSandboxQuota(quota)) {
    findings.push(
      finding(
        'SES_SANDBOX',
        `The account looks like it is in the SES sandbox in ${region}: quota ${quota.max24HourSend} messages per 24 hours at ${quota.maxSendRate} per second.`,
      ),
    );
  }
  for (const id of facts.identities) {
    const status = id.verificationStatus;
    if (status === 'Unknown') continue;
    if (status !== 'Success') {
      const pending = status === 'Pending' || status === 'TemporaryFailure';
      const what = status === 'NotFound' ? 'is not an SES identity' : `has verification status ${status}`;
      findings.push(
        finding(
          'SES_IDENTITY_UNVERIFIED',
          `${id.identity} ${what} in ${region}.`,
          pending ? { severity: 'warning' } : {},
        ),
      );
      continue; // DKIM of an unusable identity is noise next to this finding.
    }
    if (id.dkimEnabled === false) {
      findings.push(finding('SES_DKIM_NOT_VERIFIED', `DKIM signing is disabled for ${id.identity} in ${region}.`));
    } else if (id.dkimVerificationStatus !== 'Success' && id.dkimVerificationStatus !== 'Unknown') {
      findings.push(
        finding(
          'SES_DKIM_NOT_VERIFIED',
          `DKIM of ${id.identity} has status ${id.dkimVerificationStatus} in ${region}.`,
        ),
      );
    }
  }
  return findings;
}
