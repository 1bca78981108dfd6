/**
 * The one SNS message per report with failures, written for someone woken at 3 a.m.:
 * who reported what, against which MX, when; the worst failure details; the sending
 * MTAs; what to do per result type; and what mailprobe's own mta-sts check says about
 * the domain right now (or, plainly, that it does not know). Pure: the caller passes the
 * verdicts and the receipt time.
 *
 * Severity (the `severity` message attribute, for subscription filter policies):
 * - critical: failures under an sts policy in `enforce` mode, or a tlsa (DANE) policy:
 *   the sender refused to deliver, so mail is being delayed and then bounced;
 * - warning: failures under `testing` (the sender delivered anyway, but would not under
 *   enforce), `none`, no-policy-found, or a policy type this version does not know.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { SNS_MAX_SUBJECT_CHARS } from '../alerts/format.js';
import type { DomainTarget } from './metrics.js';
import type { FailureDetail, PolicyReport, TlsRptReport } from './report.js';

const MAX_DETAILS_SHOWN = 10;
const MAX_IPS_SHOWN = 20;

/** What to do about each RFC 8460 §4.3 result type. */
export const RESULT_TYPE_ACTIONS: Readonly<Record<string, string>> = {
  'starttls-not-supported':
    'The MX did not offer STARTTLS to this sender. Check that STARTTLS is enabled on every MX (and on every node behind a load balancer): `mailprobe smtp MX:25`.',
  'certificate-host-mismatch':
    'The MX certificate does not name the MX host. Reissue it with the MX host name as a DNS SAN (RFC 8461 §4.2 ignores the CN).',
  'certificate-expired':
    'The MX certificate has expired. Renew it and reload the MTA; check with `mailprobe tls MX:25`.',
  'certificate-not-trusted':
    'The MX certificate chain does not validate (self-signed, private CA, or missing intermediate). Serve the full chain from a public CA.',
  'validation-failure':
    'A generic TLS validation failure; failure-reason-code says more. Check the MX certificate and chain with `mailprobe tls MX:25`.',
  'tlsa-invalid':
    'The TLSA records do not match the certificate the MX serves. Publish TLSA for the current (and next) key before rotating.',
  'dnssec-invalid':
    'DNSSEC validation of the MX or TLSA records failed (bogus). Check the DS/DNSKEY chain and signature expiry.',
  'dane-required':
    'The sender requires DANE but found no usable TLSA records. Publish TLSA records or remove the requirement.',
  'sts-policy-fetch-error':
    'The sender could not fetch https://mta-sts.DOMAIN/.well-known/mta-sts.txt. Check the policy host, its DNS and its HTTPS certificate: `mailprobe mta-sts DOMAIN`.',
  'sts-policy-invalid':
    'The MTA-STS policy did not parse. Fix the policy file (version, mode, mx, max_age lines): `mailprobe mta-sts DOMAIN`.',
  'sts-webpki-invalid':
    'The MTA-STS policy host’s HTTPS certificate did not validate. Renew it or fix its chain (mta-sts.DOMAIN must be covered).',
};

const UNKNOWN_ACTION =
  'A result type mailprobe does not know (not in RFC 8460 §4.3). Read additional-information and the sender’s documentation.';

/** What mailprobe's mta-sts check says about the domain now. */
export type Verdict =
  | { readonly kind: 'known'; readonly status: 'critical' | 'not critical'; readonly at: string }
  | { readonly kind: 'none'; readonly reason: string };

export interface ReportAlertInput {
  readonly report: TlsRptReport;
  readonly targets: readonly DomainTarget[];
  /** By domain. */
  readonly verdicts: ReadonlyMap<string, Verdict>;
  readonly receivedAt: Date;
  /** e.g. `s3://bucket/key` */
  readonly location?: string;
}

export interface ReportAlert {
  readonly severity: 'critical' | 'warning';
  readonly subject: string;
  readonly text: string;
  /** Ready for `new PublishCommand({ TopicArn, ...input })`. */
  readonly input: {
    readonly Subject: string;
    readonly Message: string;
    readonly MessageStructure: 'json';
    readonly MessageAttributes: Record<string, MessageAttributeValue>;
  };
}

const n = (value: number): string => value.toLocaleString('en-US');
const when = (iso: string): string => iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, '');

export function isCritical(policy: PolicyReport): boolean {
  return (
    policy.failedSessions > 0 &&
    ((policy.policyType === 'sts' && policy.mode === 'enforce') || policy.policyType === 'tlsa')
  );
}

/** Failure details merged by (result type, receiving MX), largest first. */
function topFailures(
  report: TlsRptReport,
): { resultType: string; mx: string; ips: Set<string>; from: Set<string>; count: number; reasons: Set<string> }[] {
  const groups = new Map<
    string,
    { resultType: string; mx: string; ips: Set<string>; from: Set<string>; count: number; reasons: Set<string> }
  >();
  for (const p of report.policies) {
    for (const d of p.failureDetails as FailureDetail[]) {
      const mx = d.receivingMxHostname ?? (p.mxHosts.join(', ') || p.policyDomain);
      const key = `${d.resultType}\u0000${mx}`;
      const g = groups.get(key) ?? {
        resultType: d.resultType,
        mx,
        ips: new Set(),
        from: new Set(),
        count: 0,
        reasons: new Set(),
      };
      g.count += d.failedSessions;
      if (d.receivingIp) g.ips.add(d.receivingIp);
      if (d.sendingMtaIp) g.from.add(d.sendingMtaIp);
      if (d.failureReasonCode) g.reasons.add(d.failureReasonCode);
      groups.set(key, g);
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.resultType.localeCompare(b.resultType));
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** Characters that could reorder, hide or break a line of the message: C0/C1 controls and bidi overrides/isolates. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
/** Longest piece of a sender's free text an alert quotes. */
export const MAX_QUOTED_CHARS = 80;

/**
 * A report is unauthenticated text from whoever sent it (RFC 8460 by design): any of its
 * strings in an alert is quoted, capped and stripped of control and bidi characters, so a
 * forged `organization-name` cannot add lines, fake instructions ("run curl … | sudo sh") or
 * reverse text on on-call's screen. Issue 25.
 */
export function quoted(text: string, max = MAX_QUOTED_CHARS): string {
  const clean = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim().replaceAll('"', "'");
  return `"${clean.length > max ? `${clean.slice(0, max - 1)}…` : clean}"`;
}

/** A host name, address or code shown as is when it looks like one; quoted otherwise. */
function token(text: string): string {
  return /^[A-Za-z0-9._:\-[\]/]{1,255}$/.test(text) ? text : quoted(text);
}

export function formatReportAlert(input: ReportAlertInput): ReportAlert {
  const { report } = input;
  const failing = report.policies.filter((p) => p.failedSessions > 0);
  const failed = failing.reduce((s, p) => s + p.failedSessions, 0);
  const severity = failing.some(isCritical) ? 'critical' : 'warning';
  const top = topFailures(report);
  const head = top[0];
  const domains = [...new Set(failing.map((p) => p.policyDomain))];
  const others = new Set(top.map((t) => t.resultType)).size - 1;
  const where = head
    ? ` to ${token(head.mx)} (${token(head.resultType)}${others > 0 ? ` and ${others} other type${others > 1 ? 's' : ''}` : ''})`
    : '';
  const headline = `${quoted(report.organizationName)} reported ${n(failed)} failed session${failed === 1 ? '' : 's'}${where} between ${when(report.dateRange.start)} and ${when(report.dateRange.end)} UTC.`;

  const lines: string[] = [headline, ''];
  for (const p of failing) {
    const total = p.successfulSessions + p.failedSessions;
    const share = total > 0 ? ((100 * p.failedSessions) / total).toFixed(1) : '100.0';
    const mode = p.policyType === 'sts' ? `, mode ${p.mode ?? 'unknown'}` : '';
    lines.push(
      `${p.policyDomain} (${token(p.policyType)}${mode}${p.mxHosts.length > 0 ? `, mx ${p.mxHosts.slice(0, MAX_IPS_SHOWN).map(token).join(', ')}` : ''}): ${n(p.successfulSessions)} successful, ${n(p.failedSessions)} failed (${share} %).`,
    );
    lines.push(
      isCritical(p)
        ? '  Impact: the sender enforces this policy, so these messages were NOT delivered (retried, then bounced).'
        : p.policyType === 'sts' && p.mode === 'testing'
          ? '  Impact: testing mode, the sender delivered anyway; under enforce these messages would have been refused.'
          : '  Impact: no enforced policy, the sender may have delivered without TLS (or not at all).',
    );
  }
  lines.push('', 'Top failures:');
  for (const t of top.slice(0, MAX_DETAILS_SHOWN)) {
    const ips = t.ips.size > 0 ? ` (${[...t.ips].slice(0, MAX_IPS_SHOWN).map(token).join(', ')})` : '';
    const reason = t.reasons.size > 0 ? ` [${[...t.reasons].slice(0, MAX_IPS_SHOWN).map(token).join(', ')}]` : '';
    lines.push(`  ${n(t.count).padStart(7)}  ${token(t.resultType)} to ${token(t.mx)}${ips}${reason}`);
  }
  if (top.length > MAX_DETAILS_SHOWN) lines.push(`  … and ${top.length - MAX_DETAILS_SHOWN} more`);

  const senders = [...new Set(top.flatMap((t) => [...t.from]))];
  lines.push(
    '',
    senders.length > 0
      ? `Sending MTAs: ${senders.slice(0, MAX_IPS_SHOWN).map(token).join(', ')}${senders.length > MAX_IPS_SHOWN ? ` and ${senders.length - MAX_IPS_SHOWN} more` : ''}`
      : 'Sending MTAs: not given by the sender.',
  );

  lines.push('', 'What to do:');
  for (const type of [...new Set(top.map((t) => t.resultType))]) {
    // The commands name the MX that failed most for this type, ready to paste.
    const mx = top.find((t) => t.resultType === type)?.mx ?? 'MX';
    const action = (RESULT_TYPE_ACTIONS[type] ?? UNKNOWN_ACTION)
      .replaceAll('DOMAIN', domains[0] ?? 'DOMAIN')
      .replaceAll('MX:25', `${/^[a-z0-9.-]+$/i.test(mx) ? mx : 'MX'}:25`);
    lines.push(`  ${token(type)}: ${action}`);
  }

  lines.push('', 'mailprobe’s own mta-sts check now:');
  for (const domain of domains) {
    const v = input.verdicts.get(domain) ?? { kind: 'none', reason: 'not looked up' };
    lines.push(
      v.kind === 'known'
        ? `  ${domain}: ${v.status} (last run ${when(v.at)} UTC)`
        : `  ${domain}: unknown (${v.reason})`,
    );
  }

  lines.push(
    '',
    `Report ${quoted(report.reportId)} from ${quoted(report.organizationName)}${report.contactInfo ? ` (${quoted(report.contactInfo)})` : ''}, received ${when(input.receivedAt.toISOString())} UTC${input.location ? `; stored report: ${input.location}` : ''}.`,
  );
  const text = `${lines.join('\n')}\n`;

  // The sender's name last and quoted: whatever it claims, it cannot look like the subject's own words.
  const subjectFull = `[${severity.toUpperCase()}] TLS-RPT ${domains.join(',')}: ${n(failed)} failed sessions (from ${quoted(report.organizationName, 40)})`;
  const subject = ascii(subjectFull).slice(0, SNS_MAX_SUBJECT_CHARS);
  const json = JSON.stringify({
    check: 'tlsrpt',
    severity,
    domains,
    organizationName: report.organizationName,
    reportId: report.reportId,
    dateRange: report.dateRange,
    failedSessions: failed,
    policies: report.policies,
    ...(input.location ? { location: input.location } : {}),
  });
  return {
    severity,
    subject,
    text,
    input: {
      Subject: subject,
      Message: JSON.stringify({ default: text, email: text, 'email-json': json, https: json, sqs: json, lambda: json }),
      MessageStructure: 'json',
      MessageAttributes: {
        check: { DataType: 'String', StringValue: 'tlsrpt' },
        severity: { DataType: 'String', StringValue: severity },
        target: { DataType: 'String', StringValue: ascii(domains.join(',')).slice(0, 256) || 'unknown' },
      },
    },
  };
}
