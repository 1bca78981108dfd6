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

/**
 * Beside an address that passed, the usual advice (e.g. "AWS blocks port 25") is wrong: the
 * probe reached the MX, so this one address is at fault.
 */
export const DEGRADED_MX_HINT =
  'Another address of this MX host passed, so mail still flows (RFC 5321 §5.1: senders try each address), but senders that pick this address first are delayed or, in enforce mode, skip it. Fix the server behind this address, or remove its A/AAAA record.';

/** A finding about one MX host or one of its addresses. */
export function gradeMxFinding(f: Finding, grading: Grading, anotherAddressPassed: boolean): Finding {
  let severity = soften(f.severity, grading.mode);
  if (grading.mode === 'none' && severity !== 'info') severity = 'info';
  const degraded = anotherAddressPassed && MX_FAILURE_CODES.has(f.code) && f.code !== 'DEADLINE_EXCEEDED';
  if (anotherAddressPassed && severity === 'critical' && MX_FAILURE_CODES.has(f.code)) severity = 'warning';
  if (severity === f.severity && !degraded) return f;
  return { ...f, severity, ...(degraded ? { hint: DEGRADED_MX_HINT } : {}) };
}
