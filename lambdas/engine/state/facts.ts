/**
 * Change detection: the facts of a run that are worth comparing with the last run's, and
 * the changes between them. Pure functions over the check results: the checks own their
 * details and only ever add fields, so everything is read defensively and a fact that a
 * run did not observe (a failed fetch, a DNS error) is kept from the run before instead of
 * being read as "removed": a transient failure must not report a change twice.
 */
import { FINDINGS, type FindingCode } from '../findings.js';
import type { BaseResult, Change } from '../result.js';
import {
  carryCert,
  certFacts,
  leafChanges,
  mergeMxCerts,
  mxCertChanges,
  mxCertFactsOf,
  parseMxCertFacts,
  SELF,
  tlsaViewsOf,
  type CertFacts,
  type MxCertFacts,
  type TlsaViews,
} from './cert-facts.js';
import { flowChanges, flowFactsOf, parseFlowFacts, parseFlowLog, type FlowFacts, type FlowLog } from './flow-facts.js';
import {
  mergeSenderAuthFacts,
  parseSenderAuthFacts,
  senderAuthChanges,
  senderAuthFactsOf,
  type SenderAuthFacts,
} from './sender-auth-facts.js';

export type { CertFacts, MxCertFacts } from './cert-facts.js';

export interface PolicyFacts {
  /** The `_mta-sts` TXT id the policy was served under. */
  readonly id: string;
  readonly mode: string;
  readonly maxAge: number;
  /** The policy's mx patterns, lower-case and sorted. */
  readonly mx: readonly string[];
}

export interface QuotaFacts {
  /** -1: unlimited. */
  readonly max24HourSend: number;
  readonly maxSendRate: number;
}

export interface Facts {
  readonly policy?: PolicyFacts;
  /** MX host names, lower-case and sorted. */
  readonly mx?: readonly string[];
  /** The `_smtp._tls` TLS-RPT records (none: the record is missing). */
  readonly tlsRpt?: readonly string[];
  readonly cert?: CertFacts;
  /** The leaf certificates of each MX host (mta-sts, dane), by host name. */
  readonly mxCerts?: MxCertFacts;
  readonly sesQuota?: QuotaFacts;
  /** A flow's last arrival, for change detection (flow-facts.ts). */
  readonly flow?: FlowFacts;
  /** A flow's log of sends and arrivals, in its own item (flow-facts.ts). */
  readonly flowLog?: FlowLog;
  /** SPF records, DMARC policy and DKIM keys of a sender-auth domain (sender-auth-facts.ts). */
  readonly senderAuth?: SenderAuthFacts;
}

/** Facts are small by construction; cap what a hostile DNS answer could grow them to. */
const MAX_LIST = 64;
const MAX_STRING = 1024;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length <= MAX_STRING ? v : typeof v === 'string' ? v.slice(0, MAX_STRING) : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Host names (and mx patterns): case-insensitive, without the root dot, as a sorted set. */
function names(list: unknown): string[] | undefined {
  const out = records(list);
  return out === undefined ? undefined : [...new Set(out.map((s) => s.toLowerCase().replace(/\.$/, '')))].sort();
}

/** TXT records as published (a mailto: local part may be case-sensitive), sorted. */
function records(list: unknown): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out = list.map(str).filter((s): s is string => s !== undefined);
  if (out.length !== list.length) return undefined;
  return [...new Set(out)].sort().slice(0, MAX_LIST);
}

function policyFacts(result: Record<string, unknown>): PolicyFacts | undefined {
  const policy = result['policy'];
  if (!isRecord(policy)) return undefined;
  const id = str(policy['id']) ?? (isRecord(result['txt']) ? str(result['txt']['id']) : undefined);
  const mode = str(policy['mode']);
  const maxAge = num(policy['maxAge']);
  const mx = names(policy['mx']);
  if (id === undefined || mode === undefined || maxAge === undefined || mx === undefined) return undefined;
  return { id, mode, maxAge, mx };
}

/** What this run observed; fields it could not observe are absent. */
export function factsOf(input: BaseResult): Facts {
  const result = input as unknown as Record<string, unknown>;
  switch (input.check) {
    case 'mta-sts': {
      const policy = policyFacts(result);
      // `acceptsMail` is set only when the MX lookup answered (absent on a DNS error).
      const mxList = Array.isArray(result['mx']) ? result['mx'].map((m) => (isRecord(m) ? m['host'] : undefined)) : [];
      const mx = result['acceptsMail'] === undefined ? undefined : names(mxList);
      const rpt = result['tlsRpt'];
      const missing = input.findings.some((f) => f.code === 'TLSRPT_MISSING');
      const tlsRpt = isRecord(rpt) ? records(rpt['records']) : missing ? [] : undefined;
      const mxCerts = mxCertFactsOf(result);
      return {
        ...(policy === undefined ? {} : { policy }),
        ...(mx === undefined ? {} : { mx }),
        ...(tlsRpt === undefined ? {} : { tlsRpt }),
        ...(mxCerts === undefined ? {} : { mxCerts }),
      };
    }
    case 'dane': {
      // The MX hosts are known when the MX RRset was judged (a failed or insecure lookup lists none).
      const hosts = Array.isArray(result['mx']) ? result['mx'].map((m) => (isRecord(m) ? m['host'] : undefined)) : [];
      const mx = hosts.length > 0 ? names(hosts) : undefined;
      const mxCerts = mxCertFactsOf(result);
      return { ...(mx === undefined ? {} : { mx }), ...(mxCerts === undefined ? {} : { mxCerts }) };
    }
    case 'smtp': {
      const cert = certFacts(isRecord(result['tls']) ? result['tls']['certificate'] : undefined);
      return cert === undefined ? {} : { cert };
    }
    case 'tls': {
      const cert = certFacts(result['certificate']);
      return cert === undefined ? {} : { cert };
    }
    case 'ses-account': {
      const quota = result['quota'];
      if (!isRecord(quota)) return {};
      const max24HourSend = num(quota['max24HourSend']);
      const maxSendRate = num(quota['maxSendRate']);
      return max24HourSend === undefined || maxSendRate === undefined
        ? {}
        : { sesQuota: { max24HourSend, maxSendRate } };
    }
    case 'flow': {
      const flow = flowFactsOf(result);
      return flow === undefined ? {} : { flow };
    }
    case 'sender-auth': {
      const senderAuth = senderAuthFactsOf(result);
      return senderAuth === undefined ? {} : { senderAuth };
    }
    default:
      return {};
  }
}

/** The facts to keep: this run's observations over the last run's. */
export function mergeFacts(previous: Facts | undefined, current: Facts): Facts {
  const merged: Facts = { ...previous, ...current };
  const mxCerts = mergeMxCerts(previous?.mxCerts, current.mxCerts, merged.mx);
  const cert = current.cert === undefined ? previous?.cert : carryCert(previous?.cert, current.cert);
  const senderAuth = mergeSenderAuthFacts(previous?.senderAuth, current.senderAuth);
  const { mxCerts: _m, cert: _c, senderAuth: _s, ...rest } = merged;
  return {
    ...rest,
    ...(cert === undefined ? {} : { cert }),
    ...(mxCerts === undefined ? {} : { mxCerts }),
    ...(senderAuth === undefined ? {} : { senderAuth }),
  };
}

/** Facts read back from storage, or undefined when they are not in the expected shape. */
export function parseFacts(value: unknown): Facts | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, unknown> = {};
  if (value['policy'] !== undefined) {
    const p = value['policy'];
    if (!isRecord(p)) return undefined;
    const policy = policyFacts({ policy: p });
    if (policy === undefined) return undefined;
    out['policy'] = policy;
  }
  for (const field of ['mx', 'tlsRpt'] as const) {
    if (value[field] === undefined) continue;
    const list = field === 'mx' ? names(value[field]) : records(value[field]);
    if (list === undefined) return undefined;
    out[field] = list;
  }
  if (value['cert'] !== undefined) {
    const cert = certFacts(value['cert']);
    if (cert === undefined) return undefined;
    out['cert'] = cert;
  }
  if (value['mxCerts'] !== undefined) {
    const mxCerts = parseMxCertFacts(value['mxCerts']);
    if (mxCerts === undefined) return undefined;
    out['mxCerts'] = mxCerts;
  }
  if (value['sesQuota'] !== undefined) {
    const q = value['sesQuota'];
    if (!isRecord(q) || num(q['max24HourSend']) === undefined || num(q['maxSendRate']) === undefined) return undefined;
    out['sesQuota'] = { max24HourSend: q['max24HourSend'], maxSendRate: q['maxSendRate'] };
  }
  if (value['flow'] !== undefined) {
    const flow = parseFlowFacts(value['flow']);
    if (flow === undefined) return undefined;
    out['flow'] = flow;
  }
  if (value['senderAuth'] !== undefined) {
    const senderAuth = parseSenderAuthFacts(value['senderAuth']);
    if (senderAuth === undefined) return undefined;
    out['senderAuth'] = senderAuth;
  }
  if (value['flowLog'] !== undefined) {
    const flowLog = parseFlowLog(value['flowLog']);
    if (flowLog === undefined) return undefined;
    out['flowLog'] = flowLog;
  }
  return out as Facts;
}

function change(code: FindingCode, message: string, before: unknown, after: unknown): Change {
  return { code, severity: FINDINGS[code].severity, message, hint: FINDINGS[code].hint, before, after };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function listDiff(before: readonly string[], after: readonly string[]): string {
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  return [...added.map((x) => `+${x}`), ...removed.map((x) => `-${x}`)].join(', ');
}

/** What changed in the policy itself (mode, mx lines, max_age), e.g. `mode testing -> enforce; mx +b.example`. */
export function policyDiff(before: PolicyFacts, after: PolicyFacts): string[] {
  const parts: string[] = [];
  if (before.mode !== after.mode) parts.push(`mode ${before.mode} -> ${after.mode}`);
  if (!sameList(before.mx, after.mx)) parts.push(`mx ${listDiff(before.mx, after.mx)}`);
  if (before.maxAge !== after.maxAge) parts.push(`max_age ${before.maxAge} -> ${after.maxAge}`);
  return parts;
}

const policyBody = (p: PolicyFacts) => ({ mode: p.mode, mx: p.mx, maxAge: p.maxAge });
const unlimited = (n: number) => (n < 0 ? Number.POSITIVE_INFINITY : n);

/**
 * The changes from the last run's facts to this run's; none on a first run. `views`: the
 * TLSA verdicts of this run, which a certificate rotation is worded with.
 */
export function changesBetween(previous: Facts | undefined, current: Facts, views: TlsaViews = new Map()): Change[] {
  if (previous === undefined) return [];
  const out: Change[] = [];
  const was = previous.policy;
  const cur = current.policy;
  if (was !== undefined && cur !== undefined) {
    const diff = policyDiff(was, cur);
    if (diff.length > 0) {
      const before = { id: was.id, ...policyBody(was) };
      const after = { id: cur.id, ...policyBody(cur) };
      if (was.id === cur.id) {
        out.push(
          change(
            'MTASTS_POLICY_CHANGED_SAME_ID',
            `The MTA-STS policy changed but its id stayed "${cur.id}": ${diff.join('; ')}. Senders that cached the old policy keep it for up to max_age ${was.maxAge} s.`,
            before,
            after,
          ),
        );
      } else {
        out.push(
          change(
            'MTASTS_POLICY_CHANGED',
            `The MTA-STS policy changed with its id ("${was.id}" -> "${cur.id}"): ${diff.join('; ')}.`,
            before,
            after,
          ),
        );
      }
      if (was.mode === 'enforce' && cur.mode !== 'enforce') {
        out.push(
          change(
            'MTASTS_MODE_DOWNGRADED',
            `The MTA-STS mode went from enforce to ${cur.mode}.`,
            { mode: was.mode },
            { mode: cur.mode },
          ),
        );
      }
    }
  }
  if (previous.mx !== undefined && current.mx !== undefined && !sameList(previous.mx, current.mx)) {
    out.push(
      change(
        'MX_SET_CHANGED',
        `The MX hosts changed: ${listDiff(previous.mx, current.mx)} (now ${current.mx.join(', ') || 'none'}).`,
        previous.mx,
        current.mx,
      ),
    );
  }
  if (previous.tlsRpt !== undefined && current.tlsRpt !== undefined && !sameList(previous.tlsRpt, current.tlsRpt)) {
    const show = (l: readonly string[]) => (l.length === 0 ? 'none' : l.map((r) => JSON.stringify(r)).join(', '));
    out.push(
      change(
        'TLSRPT_CHANGED',
        `The TLS-RPT record changed from ${show(previous.tlsRpt)} to ${show(current.tlsRpt)}.`,
        previous.tlsRpt,
        current.tlsRpt,
      ),
    );
  }
  if (previous.cert !== undefined && current.cert !== undefined) {
    out.push(...leafChanges(previous.cert, current.cert, views.get(SELF)));
  }
  out.push(...mxCertChanges(previous.mxCerts, current.mxCerts, views));
  const oldQuota = previous.sesQuota;
  const newQuota = current.sesQuota;
  if (
    oldQuota !== undefined &&
    newQuota !== undefined &&
    (unlimited(newQuota.max24HourSend) < unlimited(oldQuota.max24HourSend) ||
      newQuota.maxSendRate < oldQuota.maxSendRate)
  ) {
    out.push(
      change(
        'SES_QUOTA_LOWERED',
        `The SES sending quota went down: ${oldQuota.max24HourSend} -> ${newQuota.max24HourSend} messages per 24 h, ${oldQuota.maxSendRate} -> ${newQuota.maxSendRate} per second.`,
        oldQuota,
        newQuota,
      ),
    );
  }
  out.push(...flowChanges(previous.flow, current.flow));
  out.push(...senderAuthChanges(previous.senderAuth, current.senderAuth));
  return out;
}

/** The changes a result brings since the last run's facts, rotations worded with its TLSA verdicts. */
export function changesOf(previous: Facts | undefined, result: BaseResult): Change[] {
  return changesBetween(previous, factsOf(result), tlsaViewsOf(result as unknown as Record<string, unknown>));
}
