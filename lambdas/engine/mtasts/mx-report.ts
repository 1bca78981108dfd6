/**
 * The report of one MX host of an MTA-STS domain, built from its address probes once the
 * policy is known: coverage (§4.1), each address's findings (§4.2) with their final
 * severities, and the hosted-domain note.
 */
import { finding, type Finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import type { TlsSessionInfo } from '../result.js';
import { matchesDnsId } from '../tls/identity.js';
import { gradeMxFinding, type Grading } from './grading.js';
import { coveringPattern, normaliseHost } from './mx-pattern.js';
import { addressReports, type MxAddressProbe, type MxHostReport, type MxTarget } from './mx.js';
import type { StsMode } from './policy.js';

/**
 * One MX host: §4.1 coverage by the policy's patterns, then each address's probe (§4.2),
 * graded: a failing address beside one that passes is a warning (RFC 5321 §5.1).
 */
export function mxHostReport(
  target: MxTarget,
  probes: readonly MxAddressProbe[],
  ctx: ProbeContext,
  domain: string,
  policy: { readonly mode: StsMode; readonly mx: readonly string[] } | undefined,
  grading: Grading,
): MxHostReport {
  const reports = addressReports(target, probes, ctx);
  const passed = reports.find((r) => r.outcome === 'passed');
  const graded = reports.map((r) => ({
    ...r,
    findings: r.findings.map((f) => gradeMxFinding(f, grading, passed !== undefined && r !== passed)),
  }));
  const shown = passed ?? reports.find((r) => r.tls !== undefined) ?? reports.find((r) => r.outcome !== 'blocked');
  const pattern = policy !== undefined ? coveringPattern(target.host, policy.mx) : undefined;
  const own: Finding[] = [];
  if (target.problem !== undefined) own.push(target.problem);
  if (policy !== undefined && pattern === undefined && policy.mode !== 'none') {
    own.push(
      finding(
        'MTASTS_MX_NOT_COVERED',
        `MX ${target.host} (priority ${target.priority}) matches no mx pattern of the policy (${policy.mx.join(', ') || 'none'})`,
      ),
    );
  }
  const hosted = passed?.tls !== undefined ? hostedDomainFinding(target.host, domain, passed.tls) : undefined;
  if (hosted !== undefined) own.push(hosted);
  return {
    host: target.host,
    priority: target.priority,
    ...(policy !== undefined ? { covered: pattern !== undefined } : {}),
    ...(pattern !== undefined ? { pattern } : {}),
    addresses: target.addresses,
    ...(shown !== undefined ? { address: shown.address } : {}),
    ...(shown?.tls !== undefined ? { tls: shown.tls } : {}),
    probes: graded,
    findings: [...own.map((f) => gradeMxFinding(f, grading, false)), ...graded.flatMap((r) => r.findings)],
  };
}

/**
 * Hosted mail (Google Workspace, Microsoft 365): the MX certificate names the provider's MX
 * host, not the customer's domain. MTA-STS is satisfied (§4.2 checks the MX name), but a
 * sender configured to verify against the recipient domain is not.
 */
function hostedDomainFinding(host: string, domain: string, tls: TlsSessionInfo): Finding | undefined {
  if (!tls.verified || normaliseHost(host) === domain || tls.certificate === undefined) return undefined;
  const dnsNames = tls.certificate.subjectAltNames.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  if (matchesDnsId(domain, dnsNames)) return undefined;
  return finding(
    'MX_CERT_DOMAIN_MISMATCH',
    `MX ${host}: the certificate is valid for ${host} but not for the mail domain ${domain} (it names ${dnsNames.slice(0, 5).join(', ') || 'no DNS names'}${dnsNames.length > 5 ? ', …' : ''})`,
  );
}
