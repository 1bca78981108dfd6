/**
 * Renders one alert for SNS: a subject, a plain-text body for people (e-mail), the JSON
 * result for machines (HTTPS, SQS, Lambda, e-mail-json) and message attributes for
 * subscription filter policies. Pure: no clock, no I/O; the caller passes `now`.
 *
 * Safety: every string of the result goes through the caller's `redact` before it is
 * used anywhere, and the whole publish request is kept under SNS's size limit by
 * dropping the least severe findings first (then the check's details) with a count.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import type { Finding, Severity, Status } from '../findings.js';
import type { BaseResult, Change } from '../result.js';
import type { AlertableResult, Fact } from './alert-facts.js';
import { factsOf } from './alert-facts.js';

/**
 * SNS accepts up to 256 KiB per message, message attributes included
 * (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
 */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/** SNS: the subject "must be less than 100 characters long", ASCII, with no line breaks. */
export const SNS_MAX_SUBJECT_CHARS = 99;
/** One SMS segment is 160 GSM characters; stay inside it with room for the sender prefix. */
export const SMS_MAX_CHARS = 140;
/** No single string may crowd out the rest of the message (policy bodies, long replies). */
const MAX_STRING_CHARS = 4_096;

/**
 * What happened between the last announced state and this one; `changes`: the status did
 * not call for a message, but the facts changed since the last run (a policy, a certificate).
 */
export type Transition = 'raised' | 'escalated' | 'lowered' | 'changed' | 'resolved' | 'reminder' | 'changes';

export interface AlertTransition {
  readonly kind: Transition;
  readonly previousStatus: Status;
  /** Epoch ms of the first run of the failure: the current one, or for `resolved` the one that ended. */
  readonly failingSince?: number;
}

/** Where on-call clicks next. */
export interface AlertLinks {
  readonly region: string;
  readonly dashboardName: string;
  /** The name of the saved Logs Insights query (a console URL cannot select a saved query by name). */
  readonly queryName: string;
  /** @default 'console.aws.amazon.com' (use 'console.amazonaws.cn' in China regions) */
  readonly consoleDomain?: string;
}

export interface FormatOptions {
  /** Applied to every string of the result before it is used; must remove all secrets. */
  readonly redact: (text: string) => string;
  readonly now: number;
  readonly links?: AlertLinks;
  /** @default SNS_MAX_MESSAGE_BYTES */
  readonly maxBytes?: number;
}

export interface AlertMessage {
  readonly subject: string;
  /** The e-mail body. */
  readonly text: string;
  readonly sms: string;
  /** The result contract plus `transition`, `previousStatus` (and `failingSince` when failing). */
  readonly json: Record<string, unknown>;
  /** Ready for `new PublishCommand({ TopicArn, ...input })`. */
  readonly input: {
    readonly Subject: string;
    readonly Message: string;
    readonly MessageStructure: 'json';
    readonly MessageAttributes: Record<string, MessageAttributeValue>;
  };
  /** UTF-8 bytes SNS counts: subject, message and attributes. */
  readonly bytes: number;
  readonly omittedFindings: number;
  readonly omittedDetails: boolean;
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
const CONTRACT_FIELDS = [
  'check',
  'target',
  'name',
  'status',
  'startedAt',
  'durationMs',
  'findings',
  'changes',
] as const;

/** Redacts and caps every string in a JSON-like value. */
function sanitize(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') {
    const clean = redact(value);
    return clean.length > MAX_STRING_CHARS ? `${clean.slice(0, MAX_STRING_CHARS)}… (truncated)` : clean;
  }
  if (Array.isArray(value)) return value.map((v) => sanitize(v, redact));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = sanitize(v, redact);
    return out;
  }
  return value;
}

function ascii(text: string): string {
  // SNS rejects subjects with control characters or non-ASCII text.
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function label(result: AlertableResult): string {
  return result.name === undefined ? result.target : `${result.name} (${result.target})`;
}

/** The codes that explain the status: critical codes when critical, warning codes when warning. */
function headlineCodes(findings: readonly Finding[], status: Status): string[] {
  const severity: Severity | undefined = status === 'ok' ? undefined : status;
  return [...new Set(findings.filter((f) => f.severity === severity).map((f) => f.code))];
}

function changesOf(result: AlertableResult): readonly Change[] {
  return Array.isArray(result.changes) ? result.changes : [];
}

function subjectOf(result: AlertableResult, transition: AlertTransition): string {
  if (transition.kind === 'changes') {
    const codes = [...new Set(changesOf(result).map((c) => c.code))].join(', ');
    return clip(ascii(`[CHANGED] ${result.check} ${label(result)}: ${codes}`), SNS_MAX_SUBJECT_CHARS);
  }
  const head =
    transition.kind === 'resolved'
      ? 'RESOLVED'
      : transition.kind === 'reminder'
        ? `STILL ${result.status.toUpperCase()}`
        : result.status.toUpperCase();
  const what =
    transition.kind === 'resolved'
      ? `ok again (was ${transition.previousStatus})`
      : headlineCodes(result.findings, result.status).join(', ');
  // A status alert that carries the change behind it names that too ("DANE_TLSA_MISMATCH after
  // CERT_ROTATED"), and keeps it when the subject is clipped: the codes give way first.
  const codes = new Set(changesOf(result).map((c) => c.code));
  if (codes.has('CERT_ROTATED')) codes.delete('CERT_ISSUER_CHANGED');
  const changed =
    codes.size === 0 ? '' : ` ${transition.kind === 'reminder' ? 'with' : 'after'} ${[...codes].join(', ')}`;
  const start = ascii(`[${head}] ${result.check} ${label(result)}`);
  const room = SNS_MAX_SUBJECT_CHARS - start.length - changed.length;
  if (what === '') return clip(start + changed, SNS_MAX_SUBJECT_CHARS);
  if (changed === '' || room < 8) return clip(ascii(`${start}: ${what}`), SNS_MAX_SUBJECT_CHARS);
  return `${start}${clip(ascii(`: ${what}`), room)}${ascii(changed)}`;
}

export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${mins} min`;
  return `${mins} min`;
}

export function consoleLinks(links: AlertLinks): { dashboard: string; logsInsights: string } {
  const region = encodeURIComponent(links.region);
  const base = `https://${region}.${links.consoleDomain ?? 'console.aws.amazon.com'}/cloudwatch/home?region=${region}`;
  return {
    dashboard: `${base}#dashboards/dashboard/${encodeURIComponent(links.dashboardName)}`,
    logsInsights: `${base}#logsV2:logs-insights`,
  };
}

function headline(result: AlertableResult, transition: AlertTransition, now: number): string {
  const who = `The ${result.check} check of ${label(result)}`;
  const since =
    transition.failingSince === undefined
      ? ''
      : ` since ${new Date(transition.failingSince).toISOString()} (${formatDuration(now - transition.failingSince)})`;
  switch (transition.kind) {
    case 'resolved':
      return `${who} is ok again (was ${transition.previousStatus}).`;
    case 'reminder':
      return `${who} is still ${result.status}${since}.`;
    case 'changed':
      return `${who} is still critical, for a different reason.`;
    case 'changes':
      return `${who}: changed since the last run (status ${result.status}).`;
    default:
      return `${who} is ${result.status} (was ${transition.previousStatus}).`;
  }
}

function textBody(
  result: AlertableResult,
  transition: AlertTransition,
  findings: readonly Finding[],
  omitted: number,
  facts: readonly Fact[],
  options: FormatOptions,
): string {
  const lines: string[] = [headline(result, transition, options.now), ''];
  lines.push(`Target: ${label(result)}`, `Check: ${result.check}`);
  lines.push(
    transition.kind === 'changes'
      ? `Status: ${result.status}`
      : `Status: ${transition.previousStatus} -> ${result.status}${transition.kind === 'reminder' ? ' (reminder)' : ''}`,
  );
  if (transition.failingSince !== undefined) {
    const since = new Date(transition.failingSince).toISOString();
    const lasted = formatDuration(options.now - transition.failingSince);
    if (transition.kind === 'resolved') lines.push(`Was failing since: ${since} (for ${lasted})`);
    else lines.push(`Failing since: ${since} (${lasted})`);
  }
  lines.push(`Checked at: ${result.startedAt} (took ${result.durationMs} ms)`, '');
  const changes = changesOf(result);
  if (changes.length > 0) {
    lines.push(`Changed since the last run (${changes.length}):`);
    changes.forEach((c, i) => {
      lines.push(`${i + 1}. [${c.severity.toUpperCase()}] ${c.code}: ${c.message}`);
      lines.push(`   What to do: ${c.hint}`);
    });
    lines.push('');
  }
  if (findings.length + omitted === 0) lines.push('Findings: none.');
  else lines.push(`Findings (${findings.length + omitted}):`);
  findings.forEach((f, i) => {
    lines.push(`${i + 1}. [${f.severity.toUpperCase()}] ${f.code}: ${f.message}`);
    lines.push(`   What to do: ${f.hint}`);
  });
  if (omitted > 0) lines.push(`… and ${omitted} more findings (see the logs).`);
  if (facts.length > 0) {
    lines.push('', 'Facts:');
    for (const fact of facts) lines.push(`  ${fact.label}: ${fact.value}`);
  }
  if (options.links !== undefined) {
    const urls = consoleLinks(options.links);
    lines.push('', 'Links:', `  Dashboard: ${urls.dashboard}`);
    lines.push(`  Logs Insights: ${urls.logsInsights} (saved query "${options.links.queryName}")`);
  }
  lines.push('', '-- ', 'mailprobe. Filter subscriptions on the attributes severity, check, target, code, transition.');
  return lines.join('\n');
}

function attributes(result: AlertableResult, transition: AlertTransition): Record<string, MessageAttributeValue> {
  const worst = [...result.findings].sort((a, b) => RANK[a.severity] - RANK[b.severity])[0];
  const worstChange = [...changesOf(result)].sort((a, b) => RANK[a.severity] - RANK[b.severity])[0];
  const code =
    transition.kind === 'changes' && worstChange !== undefined
      ? worstChange.code
      : result.status === 'ok' || worst === undefined
        ? 'NONE'
        : worst.code;
  // SNS rejects empty attribute values, hence NONE when a resolved result has no finding.
  const attrs: Record<string, string> = {
    severity: result.status,
    check: result.check,
    target: result.target,
    code,
    transition: transition.kind,
  };
  if (result.name !== undefined && result.name !== '') attrs['name'] = result.name;
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function sizeOf(input: AlertMessage['input']): number {
  let bytes = utf8(input.Subject) + utf8(input.Message);
  for (const [name, value] of Object.entries(input.MessageAttributes)) {
    bytes += utf8(name) + utf8(value.DataType ?? '') + utf8(value.StringValue ?? '');
  }
  return bytes;
}

/** Builds the alert for `result` and `transition`, within `maxBytes`. */
export function formatAlert(result: BaseResult, transition: AlertTransition, options: FormatOptions): AlertMessage {
  const clean = sanitize(result, options.redact) as AlertableResult;
  const maxBytes = options.maxBytes ?? SNS_MAX_MESSAGE_BYTES;
  // The worst findings first, so truncation drops the least severe ones.
  const sorted = [...clean.findings].sort((a, b) => RANK[a.severity] - RANK[b.severity]);
  const facts = factsOf(clean);
  const subject = subjectOf(clean, transition);
  const sms = clip(subject, SMS_MAX_CHARS);
  const messageAttributes = attributes(clean, transition);

  const render = (keep: number, withDetails: boolean): AlertMessage => {
    const kept = sorted.slice(0, keep);
    const keptSet = new Set(kept);
    const omitted = sorted.length - kept.length;
    const base: Record<string, unknown> = withDetails
      ? { ...clean }
      : Object.fromEntries(CONTRACT_FIELDS.filter((k) => clean[k] !== undefined).map((k) => [k, clean[k]]));
    const json: Record<string, unknown> = {
      ...base,
      // The JSON keeps the check's own order; only the text lists the worst first.
      findings: clean.findings.filter((f) => keptSet.has(f)),
      transition: transition.kind,
      previousStatus: transition.previousStatus,
      ...(transition.failingSince === undefined
        ? {}
        : { failingSince: new Date(transition.failingSince).toISOString() }),
      ...(omitted > 0 ? { findingsOmitted: omitted } : {}),
      ...(withDetails ? {} : { detailsOmitted: true }),
    };
    const text = textBody(clean, transition, kept, omitted, withDetails ? facts : [], options);
    const body = JSON.stringify(json);
    const envelope = { default: body, email: text, 'email-json': body, https: body, sqs: body, lambda: body, sms };
    const input = {
      Subject: subject,
      Message: JSON.stringify(envelope),
      MessageStructure: 'json' as const,
      MessageAttributes: messageAttributes,
    };
    return {
      subject,
      text,
      sms,
      json,
      input,
      bytes: sizeOf(input),
      omittedFindings: omitted,
      omittedDetails: !withDetails,
    };
  };

  for (const withDetails of [true, false]) {
    const full = render(sorted.length, withDetails);
    if (full.bytes <= maxBytes) return full;
    // Binary search for the most findings that fit: rendering is linear, the list may be long.
    let lo = 0;
    let hi = sorted.length;
    let best: AlertMessage | undefined;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const candidate = render(mid, withDetails);
      if (candidate.bytes <= maxBytes) {
        best = candidate;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best !== undefined) return best;
  }
  // Strings are capped and the contract fields are small, so this only happens with a tiny maxBytes.
  throw new RangeError(`an alert cannot fit in ${maxBytes} bytes even without findings and details`);
}
