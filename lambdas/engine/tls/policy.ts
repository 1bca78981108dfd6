/**
 * A target's TLS policy: how the sender that uses this relay or MX would act on a TLS
 * problem, so the probe grades it the same way. The four modes are Cisco ESA's outbound
 * TLS settings (AsyncOS user guide, "Enabling TLS and Certificate Verification on
 * Delivery"), which most MTAs' settings map onto:
 *
 * | mode               | no TLS (not offered, refused)  | certificate not verified     |
 * |--------------------|--------------------------------|------------------------------|
 * | `preferred`        | delivers in clear: warning     | never checked: info          |
 * | `required`         | does not deliver: critical     | delivers anyway: warning     |
 * | `preferred-verify` | delivers in clear: warning     | delivers encrypted: warning  |
 * | `required-verify`  | does not deliver: critical     | does not deliver: critical   |
 *
 * Under every mode a failure after the server's 220 to STARTTLS (handshake failure,
 * injected data) is critical: "if an error occurs after the 220 response is received the
 * SMTP transaction does not fall back to clear text". `required-verify` is the default:
 * it is what the probe always graded by, and what MTA-STS enforce and SES require.
 */
import type { Finding, FindingCode, Severity } from '../findings.js';
import { CERT_VERIFICATION_CODES } from '../findings.js';
import type { TlsPolicy } from '../checks.js';

// The policy names are part of the check contract (checks.ts); the grading is here.
export { DEFAULT_TLS_POLICY, isTlsPolicy, TLS_POLICIES, type TlsPolicy } from '../checks.js';

/** No TLS before the handshake: a `preferred` sender carries on in clear text. */
const NO_TLS_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>(['STARTTLS_NOT_OFFERED', 'STARTTLS_REJECTED']);
/** After the 220 to STARTTLS: no sender falls back to clear text. */
const AFTER_STARTTLS_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'TLS_HANDSHAKE_FAILED',
  'STARTTLS_EXTRA_DATA',
]);

type FailureClass = 'no-tls' | 'certificate' | 'after-starttls';

const SEVERITY: Readonly<Record<TlsPolicy, Readonly<Record<FailureClass, Severity>>>> = {
  preferred: { 'no-tls': 'warning', certificate: 'info', 'after-starttls': 'critical' },
  required: { 'no-tls': 'critical', certificate: 'warning', 'after-starttls': 'critical' },
  'preferred-verify': { 'no-tls': 'warning', certificate: 'warning', 'after-starttls': 'critical' },
  'required-verify': { 'no-tls': 'critical', certificate: 'critical', 'after-starttls': 'critical' },
};

function classOf(code: FindingCode): FailureClass | undefined {
  if (NO_TLS_CODES.has(code)) return 'no-tls';
  if (CERT_VERIFICATION_CODES.has(code)) return 'certificate';
  if (AFTER_STARTTLS_CODES.has(code)) return 'after-starttls';
  return undefined;
}

/**
 * The findings with the severities `policy` gives them; each finding the policy decided
 * carries `tlsPolicy`. Findings about the probe's own rules (AUTH_WITHHELD: credentials
 * never travel over an unverified session) and posture (weak keys, expiry) keep theirs.
 */
/**
 * The findings as the result carries them: graded by the target's TLS policy, then with the
 * check's own hints (e.g. SES-specific advice) where it has one. One step for the smtp and
 * tls checks, so both build their results with final severities and hints.
 */
export function finalFindings(
  findings: readonly Finding[],
  policy: TlsPolicy,
  hintFor?: (f: Finding) => string | undefined,
): Finding[] {
  const graded = gradeByPolicy(findings, policy);
  if (hintFor === undefined) return graded;
  return graded.map((f) => {
    const hint = hintFor(f);
    return hint === undefined ? f : { ...f, hint };
  });
}

export function gradeByPolicy(findings: readonly Finding[], policy: TlsPolicy): Finding[] {
  return findings.map((f) => {
    const failure = classOf(f.code);
    if (failure === undefined) return f;
    return { ...f, severity: SEVERITY[policy][failure], tlsPolicy: policy };
  });
}
