/**
 * The RFC 8460 §4 report parser: JSON value in, `TlsRptReport` out, or a ReportError whose
 * message names the field. Pure.
 *
 * Tolerated, because real senders do it (each noted in `quirks`):
 * - `mx-host` as a string (the RFC's own example) or an array (erratum 6241), or absent;
 * - a missing `sending-mta-ip`, `receiving-*` or `contact-info`;
 * - date-times without a zone ("2024-01-01T00:00:00"): read as UTC, the only sane guess;
 * - unknown `result-type` and `policy-type` values: kept verbatim (new RFCs add them);
 * - `policy-string` as a single string.
 * Rejected: anything without the report's skeleton (organization-name, report-id,
 * date-range, policies with policy-domain and summary counts): a counter without those
 * cannot be attributed, and attributing it wrongly is worse than refusing it.
 */
import { ReportError } from './errors.js';
import type { FailureDetail, PolicyReport, StsMode, TlsRptReport } from './report.js';

type Json = Record<string, unknown>;

/** Longest string field kept; a report is machine-made, so anything longer is garbage. */
const MAX_STRING = 2048;
/** RFC 8460 reports hold a handful of policies and failure details; a cap bounds the work. */
const MAX_POLICIES = 1000;
const MAX_FAILURE_DETAILS = 10_000;
/**
 * A report is four levels deep (report → policies → failure-details → fields). Anything far
 * deeper is an attack: 40 KB of `[[[[…` made building the error message overflow the stack
 * (issue 25), so depth is counted on the text before JSON.parse builds anything.
 */
export const MAX_JSON_DEPTH = 32;
/**
 * More sessions than a receiving domain can see in a day is not a report but a way to
 * drown the real failures in the failed-percentage alarm (9,007,199,254,740,991 successes
 * made a day's failures read 5.6e-11 %). 10⁹ a day is far above any mail domain's volume.
 */
export const MAX_SESSIONS_PER_DAY = 1_000_000_000;
/** Days of a date range that count toward the session bound (reports are daily; RFC 8460 §4.1). */
const MAX_RANGE_DAYS = 31;

function invalid(field: string, message: string): never {
  throw new ReportError('TLSRPT_REPORT_INVALID', `${field}: ${message}`, { field });
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A value too deep or too strange to print must not turn a refusal into a crash.
    text = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : '(unprintable)';
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Nesting depth of a JSON text, strings skipped; stops counting past `limit`. Linear, no recursion. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return max;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(parent: Json, key: string, path: string): Json {
  const value = parent[key];
  if (!isObject(value)) invalid(path, `expected an object, got ${show(value)}`);
  return value;
}

function requiredString(parent: Json, key: string, path: string): string {
  const value = parent[key];
  if (typeof value !== 'string' || value.trim() === '')
    invalid(path, `expected a non-empty string, got ${show(value)}`);
  if (value.length > MAX_STRING) invalid(path, `longer than ${MAX_STRING} characters`);
  return value.trim();
}

/** Absent, null and "" all mean "not given"; anything else must be a string. */
function optionalString(parent: Json, key: string, path: string): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') invalid(path, `expected a string, got ${show(value)}`);
  if (value.length > MAX_STRING) invalid(path, `longer than ${MAX_STRING} characters`);
  return value.trim();
}

function count(parent: Json, key: string, path: string, max: number): number {
  const value = parent[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(path, `expected a whole number ≥ 0, got ${show(value)}`);
  }
  if (value > max) invalid(path, `${value} sessions is more than a report of its date range can hold (at most ${max})`);
  return value;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** RFC 3339 date-time (§4.4 `date-time`), or the same without a zone, read as UTC. */
export function parseDateTime(value: unknown, path: string, quirks: string[]): string {
  if (typeof value !== 'string') invalid(path, `expected an RFC 3339 date-time, got ${show(value)}`);
  const m = DATE_TIME.exec(value.trim());
  if (!m) invalid(path, `expected an RFC 3339 date-time like "2024-01-01T00:00:00Z", got ${show(value)}`);
  let zone = m[8];
  if (zone === undefined) {
    quirks.push(`${path} has no time zone; read as UTC`);
    zone = 'Z';
  } else if (/^[+-]\d{4}$/.test(zone)) {
    zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  }
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${zone.toUpperCase()}`;
  const ms = Date.parse(iso);
  // Date.parse accepts 2024-02-31; a round trip of the calendar date catches it.
  const date = new Date(ms);
  if (Number.isNaN(ms) || (zone === 'Z' && date.toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`)) {
    invalid(path, `not a valid date-time: ${show(value)}`);
  }
  return date.toISOString();
}

function normalizeDomain(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

function stringList(parent: Json, key: string, path: string, quirks: string[], what: string): string[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') {
    quirks.push(`${path} is a string, not an array${what}`);
    return value.trim() === '' ? [] : [value.trim()];
  }
  if (!Array.isArray(value)) invalid(path, `expected an array of strings, got ${show(value)}`);
  return value.map((item, i) => {
    if (typeof item !== 'string') invalid(`${path}[${i}]`, `expected a string, got ${show(item)}`);
    if (item.length > MAX_STRING) invalid(`${path}[${i}]`, `longer than ${MAX_STRING} characters`);
    return item.trim();
  });
}

/** `mode: enforce` from an sts policy's lines (RFC 8461 §3.2), if present and known. */
export function stsModeOf(policyString: readonly string[]): StsMode | undefined {
  for (const line of policyString) {
    const m = /^\s*mode\s*:\s*([A-Za-z]+)\s*$/.exec(line);
    const mode = m?.[1]?.toLowerCase();
    if (mode === 'enforce' || mode === 'testing' || mode === 'none') return mode;
  }
  return undefined;
}

function parseFailureDetail(raw: unknown, path: string, maxSessions: number): FailureDetail {
  if (!isObject(raw)) invalid(path, `expected an object, got ${show(raw)}`);
  const detail: Record<string, string | number> = {
    resultType: requiredString(raw, 'result-type', `${path}.result-type`).toLowerCase(),
    failedSessions: count(raw, 'failed-session-count', `${path}.failed-session-count`, maxSessions),
  };
  const optional: [string, string][] = [
    ['sending-mta-ip', 'sendingMtaIp'],
    ['receiving-mx-hostname', 'receivingMxHostname'],
    ['receiving-mx-helo', 'receivingMxHelo'],
    ['receiving-ip', 'receivingIp'],
    ['failure-reason-code', 'failureReasonCode'],
    ['additional-information', 'additionalInformation'],
  ];
  for (const [key, name] of optional) {
    const value = optionalString(raw, key, `${path}.${key}`);
    if (value !== undefined) detail[name] = name === 'receivingMxHostname' ? normalizeDomain(value) : value;
  }
  return detail as unknown as FailureDetail;
}

function parsePolicy(raw: unknown, path: string, quirks: string[], maxSessions: number): PolicyReport {
  if (!isObject(raw)) invalid(path, `expected an object, got ${show(raw)}`);
  const policy = object(raw, 'policy', `${path}.policy`);
  const policyType = requiredString(policy, 'policy-type', `${path}.policy.policy-type`).toLowerCase();
  const policyDomain = normalizeDomain(requiredString(policy, 'policy-domain', `${path}.policy.policy-domain`));
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(policyDomain)) {
    invalid(`${path}.policy.policy-domain`, `expected a domain name, got ${show(policyDomain)}`);
  }
  const policyString = stringList(policy, 'policy-string', `${path}.policy.policy-string`, quirks, '');
  const mxHosts = stringList(policy, 'mx-host', `${path}.policy.mx-host`, quirks, ' (RFC 8460 erratum 6241)').map(
    normalizeDomain,
  );
  const summary = object(raw, 'summary', `${path}.summary`);
  const successfulSessions = count(
    summary,
    'total-successful-session-count',
    `${path}.summary.total-successful-session-count`,
    maxSessions,
  );
  const failedSessions = count(
    summary,
    'total-failure-session-count',
    `${path}.summary.total-failure-session-count`,
    maxSessions,
  );
  const detailsRaw = raw['failure-details'];
  let failureDetails: FailureDetail[] = [];
  if (detailsRaw !== undefined && detailsRaw !== null) {
    if (!Array.isArray(detailsRaw)) invalid(`${path}.failure-details`, `expected an array, got ${show(detailsRaw)}`);
    if (detailsRaw.length > MAX_FAILURE_DETAILS)
      invalid(`${path}.failure-details`, `more than ${MAX_FAILURE_DETAILS} entries`);
    failureDetails = detailsRaw.map((d, i) => parseFailureDetail(d, `${path}.failure-details[${i}]`, maxSessions));
  }
  const mode = policyType === 'sts' ? stsModeOf(policyString) : undefined;
  return {
    policyType,
    policyDomain,
    policyString,
    mxHosts,
    ...(mode !== undefined ? { mode } : {}),
    successfulSessions,
    failedSessions,
    failureDetails,
  };
}

/** A parsed JSON value → a report, or a ReportError naming the field. */
export function parseReport(json: unknown): TlsRptReport {
  if (!isObject(json)) {
    throw new ReportError('TLSRPT_REPORT_INVALID', `expected a JSON object (an RFC 8460 report), got ${show(json)}`, {
      field: '(root)',
    });
  }
  const quirks: string[] = [];
  const organizationName = requiredString(json, 'organization-name', 'organization-name');
  const reportId = requiredString(json, 'report-id', 'report-id');
  const contactInfo = optionalString(json, 'contact-info', 'contact-info');
  if (contactInfo === undefined) quirks.push('contact-info is missing');
  const range = object(json, 'date-range', 'date-range');
  const start = parseDateTime(range['start-datetime'], 'date-range.start-datetime', quirks);
  const end = parseDateTime(range['end-datetime'], 'date-range.end-datetime', quirks);
  if (Date.parse(start) > Date.parse(end)) {
    invalid('date-range', `start-datetime ${start} is after end-datetime ${end}`);
  }
  const policiesRaw = json.policies;
  if (!Array.isArray(policiesRaw)) invalid('policies', `expected an array, got ${show(policiesRaw)}`);
  if (policiesRaw.length === 0) invalid('policies', 'expected at least one policy, got []');
  if (policiesRaw.length > MAX_POLICIES) invalid('policies', `more than ${MAX_POLICIES} entries`);
  const days = Math.min(MAX_RANGE_DAYS, Math.max(1, Math.ceil((Date.parse(end) - Date.parse(start)) / 86_400_000)));
  const maxSessions = MAX_SESSIONS_PER_DAY * days;
  const policies = policiesRaw.map((p, i) => parsePolicy(p, `policies[${i}]`, quirks, maxSessions));
  return {
    organizationName,
    reportId,
    ...(contactInfo !== undefined ? { contactInfo } : {}),
    dateRange: { start, end },
    policies,
    quirks,
  };
}

/** Text → report: JSON syntax errors become TLSRPT_REPORT_NOT_JSON. */
export function parseReportText(text: string): TlsRptReport {
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ReportError('TLSRPT_REPORT_NOT_JSON', `nested deeper than ${MAX_JSON_DEPTH} levels: not a report`, {
      field: '(root)',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    // SyntaxError, or RangeError for absurdly deep nesting: both mean "not a report".
    throw new ReportError('TLSRPT_REPORT_NOT_JSON', `not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseReport(json);
}
