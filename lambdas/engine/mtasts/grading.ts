/**
 * How bad an MTA-STS problem is depends on what senders do with it, decided here once while
 * the result is built:
 *
 * - The mode senders apply: `enforce` (or no usable policy): as found; `testing`: senders
 *   only report, so nothing is critical; `none`: the policy is withdrawn, MX problems are
 *   informational. A policy senders never use (TXT record invalid or duplicated, policy
 *   fetched over a connection they refuse) has no mode at all (RFC 8461 §3.1, §3.3).
 * - RFC 5321 §5.1: senders try every address of an MX, so a failing address of an MX with
 *   another address that passes delays mail rather than stopping it: a warning.
 */
import type { Finding, Severity } from '../findings.js';
import { MX_FAILURE_CODES } from './mx.js';
import type { StsMode } from './policy.js';

export interface Grading {
  /** The mode senders apply; undefined when they use no policy. */
  readonly mode: StsMode | undefined;
}

function soften(severity: Severity, mode: StsMode | undefined): Severity {
  return mode === 'testing' && severity === 'critical' ? 'warning' : severity;
}

/** A finding about the domain's policy or DNS (never about the TXT records themselves). */
export function gradePolicyFinding(f: Finding, grading: Grading): Finding {
  const severity = soften(f.severity, grading.mode);
  return severity === f.severity ? f : { ...f, severity };
}

/** A finding about one MX host or one of its addresses. */
export function gradeMxFinding(f: Finding, grading: Grading, anotherAddressPassed: boolean): Finding {
  let severity = soften(f.severity, grading.mode);
  if (grading.mode === 'none' && severity !== 'info') severity = 'info';
  if (anotherAddressPassed && severity === 'critical' && MX_FAILURE_CODES.has(f.code)) severity = 'warning';
  return severity === f.severity ? f : { ...f, severity };
}
