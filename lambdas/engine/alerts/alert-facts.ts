/**
 * The facts an on-call engineer needs next to the findings: the stage that failed, the
 * server's reply, the certificate, the DH size, the MTA-STS policy, the MX hosts concerned.
 *
 * The details of each check are owned by that check and only ever gain fields, so this
 * module reads them as `unknown` and picks what it recognises. A field it does not find
 * is simply left out: an alert must never fail because a check changed its details.
 */
import type { BaseResult } from '../result.js';

/**
 * A result as the alerting code reads it: the contract fields plus the check's details.
 * Public functions take any BaseResult (SmtpResult, MtaStsResult… have no index signature).
 */
export type AlertableResult = BaseResult & Readonly<Record<string, unknown>>;

export interface Fact {
  readonly label: string;
  readonly value: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: unknown, ...path: string[]): unknown {
  let cur = value;
  for (const key of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function first<T>(...candidates: (T | undefined)[]): T | undefined {
  return candidates.find((c) => c !== undefined);
}

/** The SMTP stage that failed: the check's own record first, else the first critical finding's. */
export function failedStage(input: BaseResult): string | undefined {
  const result = input as AlertableResult;
  if (result.status === 'ok') return undefined;
  // Where the worst problem was observed: a session may go on to QUIT after a certificate
  // failure (credentials withheld), and the result's own `stage` is then `quit`.
  const worst = (['critical', 'warning'] as const).map((sev) =>
    result.findings.find((f) => f.severity === sev && f.stage),
  );
  const reached = result['completed'] === true ? undefined : str(result['stage']);
  return first(
    worst[0]?.stage,
    worst[1]?.stage,
    reached,
    str(at(result, 'failure', 'stage')),
    str(at(result, 'error', 'stage')),
  );
}

/** The last reply of the server, in whichever of the usual shapes the check recorded it. */
function reply(result: AlertableResult): string | undefined {
  const shapes: [unknown, unknown][] = [
    [at(result, 'reply', 'code'), at(result, 'reply', 'text')],
    [at(result, 'failure', 'responseCode'), at(result, 'failure', 'response')],
    [at(result, 'error', 'responseCode'), at(result, 'error', 'response')],
    [result['responseCode'], result['response']],
    [at(result, 'lastReply', 'code'), at(result, 'lastReply', 'text')],
  ];
  for (const [code, text] of shapes) {
    const c = str(code);
    const t = str(text);
    if (c !== undefined || t !== undefined) {
      // Reply texts usually start with their own code ("535 5.7.8 ..."); do not repeat it.
      if (c !== undefined && t !== undefined && !t.startsWith(c)) return `${c} ${t}`;
      return t ?? c;
    }
  }
  return str(result['reply']);
}

/** The certificate worth naming: the smtp check's session certificate, else the tls check's. */
function certificate(result: AlertableResult): Record<string, unknown> | undefined {
  const candidates = [
    at(result, 'tls', 'certificate'),
    result['certificate'],
    at(result, 'policyHost', 'certificate'),
    at(result, 'policyHost', 'tls', 'certificate'),
  ];
  return candidates.find(isRecord);
}

function certificateFacts(result: AlertableResult): Fact[] {
  const facts: Fact[] = [];
  const cert = certificate(result);
  if (cert !== undefined) {
    const subject = str(cert['subject']);
    const issuer = str(cert['issuer']);
    const days = num(cert['daysToExpiry']);
    const notAfter = str(cert['notAfter']);
    if (subject !== undefined) facts.push({ label: 'Certificate subject', value: subject });
    if (issuer !== undefined) facts.push({ label: 'Certificate issuer', value: issuer });
    if (days !== undefined || notAfter !== undefined) {
      const when = notAfter === undefined ? '' : ` (not after ${notAfter})`;
      // daysToExpiry is rounded down, so -4 may mean 3.1 days ago: say "expired" and give the date.
      const daysText = days === undefined ? '' : days < 0 ? 'expired' : `${days} day(s) left`;
      facts.push({ label: 'Certificate expiry', value: `${daysText}${when}`.trim() });
    }
  }
  // The earliest-expiring certificate of the chain matters when it is not the leaf (an intermediate).
  const earliest = first(at(result, 'tls', 'earliestExpiry'), result['earliestExpiry']);
  if (isRecord(earliest) && cert !== undefined && str(earliest['subject']) !== str(cert['subject'])) {
    const subject = str(earliest['subject']);
    const days = num(earliest['daysToExpiry']);
    if (subject !== undefined && days !== undefined) {
      facts.push({ label: 'Earliest expiry in chain', value: `${subject}: ${days} day(s)` });
    }
  }
  return facts;
}

function policyFacts(result: AlertableResult): Fact[] {
  const id = first(str(at(result, 'policy', 'id')), str(at(result, 'txt', 'id')));
  const mode = str(at(result, 'policy', 'mode'));
  if (id === undefined && mode === undefined) return [];
  const parts = [id === undefined ? undefined : `id ${id}`, mode === undefined ? undefined : `mode ${mode}`];
  return [{ label: 'MTA-STS policy', value: parts.filter((p) => p !== undefined).join(', ') }];
}

/** MX hosts whose own entry failed: `mx: [{ host, status | findings }]` in the mta-sts details. */
function mxFacts(result: AlertableResult): Fact[] {
  const mx = result['mx'];
  if (!Array.isArray(mx)) return [];
  const failing: string[] = [];
  for (const entry of mx) {
    if (!isRecord(entry)) continue;
    const host = first(str(entry['host']), str(entry['name']), str(entry['exchange']));
    if (host === undefined) continue;
    const status = str(entry['status']);
    const findings = Array.isArray(entry['findings']) ? entry['findings'] : [];
    const bad =
      (status !== undefined && status !== 'ok') ||
      findings.some((f) => isRecord(f) && (f['severity'] === 'critical' || f['severity'] === 'warning'));
    if (bad) failing.push(host);
  }
  return failing.length === 0 ? [] : [{ label: 'MX hosts concerned', value: failing.join(', ') }];
}

/** A sender-auth result's posture: the SPF count, the DMARC policy, the DKIM keys that work. */
function senderAuthFacts(result: AlertableResult): Fact[] {
  if (result.check !== 'sender-auth') return [];
  const facts: Fact[] = [];
  const lookups = num(at(result, 'spf', 'lookups'));
  if (lookups !== undefined) {
    const voids = num(at(result, 'spf', 'voidLookups')) ?? 0;
    const more = at(result, 'spf', 'truncated') === true ? 'at least ' : '';
    facts.push({ label: 'SPF', value: `${more}${lookups} of 10 DNS lookups, ${voids} of 2 void lookups` });
  }
  const p = str(at(result, 'dmarc', 'policy', 'p'));
  if (p !== undefined) {
    const pct = num(at(result, 'dmarc', 'policy', 'pct'));
    facts.push({ label: 'DMARC policy', value: `p=${p}${pct !== undefined && pct !== 100 ? ` pct=${pct}` : ''}` });
  }
  const dkim = result['dkim'];
  if (Array.isArray(dkim) && dkim.length > 0) {
    const state = dkim
      .filter(isRecord)
      .slice(0, 16)
      .map((d) => {
        const key = isRecord(d['key']) ? d['key'] : undefined;
        const what =
          d['present'] === false
            ? 'missing'
            : key === undefined
              ? 'unreadable'
              : key['revoked'] === true
                ? 'revoked'
                : `${str(key['keyType']) ?? 'rsa'}${num(key['bits']) !== undefined ? ` ${num(key['bits'])}` : ''}`;
        return `${str(d['selector']) ?? '?'}: ${what}`;
      });
    facts.push({ label: 'DKIM keys', value: state.join(', ') });
  }
  return facts;
}

/** Every fact found, in the order an engineer reads them. */
export function factsOf(input: BaseResult): Fact[] {
  const result = input as AlertableResult;
  const facts: Fact[] = [];
  const stage = failedStage(result);
  if (stage !== undefined) facts.push({ label: 'Failed stage', value: stage });
  const replyText = reply(result);
  if (replyText !== undefined) facts.push({ label: 'Server reply', value: replyText });
  facts.push(...certificateFacts(result));
  const dhBits = first(num(at(result, 'dh', 'bits')), num(at(result, 'dh', 'size')));
  if (dhBits !== undefined)
    facts.push({ label: 'DH key size', value: dhBits === 0 ? 'no DHE suites' : `${dhBits} bits` });
  facts.push(...policyFacts(result));
  facts.push(...mxFacts(result));
  facts.push(...senderAuthFacts(result));
  return facts;
}
