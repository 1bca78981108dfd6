/**
 * What a sender-auth check remembers between runs (RFC 7208 SPF records, RFC 7489 DMARC
 * policy, RFC 6376 DKIM keys) and the changes between two runs: the silent DNS edits the
 * check exists to catch (a vendor's include grown, `p=reject` edited to `p=none`, a
 * selector deleted in a migration).
 *
 * A part the run could not observe (a DNS timeout) is absent and the last run's is kept
 * (facts.ts mergeFacts), so a flaky resolver never reads as "key removed". Everything read
 * back from the store is checked and capped: the item holds at most 64 KB (state/dynamodb.ts).
 */
import { FINDINGS, type FindingCode } from '../findings.js';
import type { Change } from '../result.js';

/** SPF records kept: the walk stops at 40 DNS terms (sender-auth/spf-tree.ts). */
export const MAX_SPF_RECORDS = 40;
export const MAX_RECORD_CHARS = 512;
/** Selectors kept (sender-auth/check.ts checks at most 16). */
export const MAX_DKIM_SELECTORS = 16;

export interface SenderAuthFacts {
  /** Every SPF record of the include tree, by domain (records over 512 characters cut). */
  readonly spf?: Readonly<Record<string, string>>;
  /** The DMARC policy in force; `none` in p when no record was published. */
  readonly dmarc?: { readonly p: string; readonly pct: number; readonly record: string };
  /** Per selector: the key's SHA-256, or `revoked`, or `missing`. */
  readonly dkim?: Readonly<Record<string, string>>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const cut = (s: string) => (s.length <= MAX_RECORD_CHARS ? s : s.slice(0, MAX_RECORD_CHARS));

function stringMap(value: unknown, max: number): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length > max) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || k.length > 255) return undefined;
    out[k] = cut(v);
  }
  return out;
}

function dmarcFacts(value: unknown): SenderAuthFacts['dmarc'] {
  if (!isRecord(value)) return undefined;
  const { p, pct, record } = value;
  if (typeof p !== 'string' || typeof record !== 'string' || typeof pct !== 'number' || !Number.isFinite(pct)) {
    return undefined;
  }
  return { p, pct, record: cut(record) };
}

/** The facts of one sender-auth result; parts the run could not observe are left out. */
export function senderAuthFactsOf(result: Record<string, unknown>): SenderAuthFacts | undefined {
  const facts: { -readonly [K in keyof SenderAuthFacts]: SenderAuthFacts[K] } = {};
  const spf = result['spf'];
  // A truncated walk (deadline, depth) saw only part of the tree: not a basis for a diff.
  if (isRecord(spf) && spf['truncated'] !== true) {
    const records = stringMap(spf['records'], MAX_SPF_RECORDS);
    if (records !== undefined) facts.spf = records;
  } else if (spf === undefined && hasFinding(result, 'SPF_MISSING')) {
    facts.spf = {};
  }
  const dmarc = result['dmarc'];
  if (isRecord(dmarc) && isRecord(dmarc['policy']) && typeof dmarc['record'] === 'string') {
    const policy = dmarc['policy'];
    const parsed = dmarcFacts({ p: policy['p'], pct: policy['pct'], record: dmarc['record'] });
    if (parsed !== undefined) facts.dmarc = parsed;
  } else if (dmarc === undefined && hasFinding(result, 'DMARC_MISSING')) {
    facts.dmarc = { p: 'none', pct: 0, record: '' };
  }
  const dkim = result['dkim'];
  if (Array.isArray(dkim)) {
    const keys: Record<string, string> = {};
    for (const entry of dkim.slice(0, MAX_DKIM_SELECTORS)) {
      if (!isRecord(entry) || typeof entry['selector'] !== 'string') continue;
      const key = entry['key'];
      if (entry['present'] === false) keys[entry['selector']] = 'missing';
      else if (isRecord(key) && key['revoked'] === true) keys[entry['selector']] = 'revoked';
      else if (isRecord(key) && typeof key['fingerprint'] === 'string') keys[entry['selector']] = key['fingerprint'];
    }
    if (Object.keys(keys).length > 0) facts.dkim = keys;
  }
  return Object.keys(facts).length === 0 ? undefined : facts;
}

function hasFinding(result: Record<string, unknown>, code: string): boolean {
  const findings = result['findings'];
  return Array.isArray(findings) && findings.some((f) => isRecord(f) && f['code'] === code);
}

/** Facts read back from storage, or undefined when they are not in the expected shape. */
export function parseSenderAuthFacts(value: unknown): SenderAuthFacts | undefined {
  if (!isRecord(value)) return undefined;
  const out: { -readonly [K in keyof SenderAuthFacts]: SenderAuthFacts[K] } = {};
  if (value['spf'] !== undefined) {
    const spf = stringMap(value['spf'], MAX_SPF_RECORDS);
    if (spf === undefined) return undefined;
    out.spf = spf;
  }
  if (value['dmarc'] !== undefined) {
    const dmarc = dmarcFacts(value['dmarc']);
    if (dmarc === undefined) return undefined;
    out.dmarc = dmarc;
  }
  if (value['dkim'] !== undefined) {
    const dkim = stringMap(value['dkim'], MAX_DKIM_SELECTORS);
    if (dkim === undefined) return undefined;
    out.dkim = dkim;
  }
  return out;
}

/** The last run's facts with this run's observations on top, selector by selector. */
export function mergeSenderAuthFacts(
  previous: SenderAuthFacts | undefined,
  current: SenderAuthFacts | undefined,
): SenderAuthFacts | undefined {
  if (previous === undefined) return current;
  if (current === undefined) return previous;
  const dkim = { ...previous.dkim, ...current.dkim };
  return {
    ...previous,
    ...current,
    ...(Object.keys(dkim).length > 0 ? { dkim } : {}),
  };
}

function change(code: FindingCode, message: string, before: unknown, after: unknown): Change {
  return { code, severity: FINDINGS[code].severity, message, hint: FINDINGS[code].hint, before, after };
}

const STRENGTH: Readonly<Record<string, number>> = { none: 0, quarantine: 1, reject: 2 };

/** The SPF records that differ, e.g. `+_spf.vendor.example "v=spf1 …"`, `-old.example`, `~example.com "…"`. */
export function spfDiff(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string[] {
  const parts: string[] = [];
  for (const [name, text] of Object.entries(after)) {
    if (!(name in before)) parts.push(`+${name} ${JSON.stringify(text)}`);
    else if (before[name] !== text) parts.push(`~${name} ${JSON.stringify(before[name])} -> ${JSON.stringify(text)}`);
  }
  for (const name of Object.keys(before)) if (!(name in after)) parts.push(`-${name}`);
  return parts;
}

export function senderAuthChanges(
  previous: SenderAuthFacts | undefined,
  current: SenderAuthFacts | undefined,
): Change[] {
  if (previous === undefined || current === undefined) return [];
  const out: Change[] = [];
  if (previous.spf !== undefined && current.spf !== undefined) {
    const diff = spfDiff(previous.spf, current.spf);
    if (diff.length > 0) {
      out.push(
        change('SPF_CHANGED', `The resolved SPF records changed: ${diff.join('; ')}.`, previous.spf, current.spf),
      );
    }
  }
  const was = previous.dmarc;
  const now = current.dmarc;
  if (was !== undefined && now !== undefined) {
    const b = STRENGTH[was.p] ?? 0;
    const a = STRENGTH[now.p] ?? 0;
    if (a < b || (a === b && a > 0 && now.pct < was.pct)) {
      const show = (d: typeof was) => (d.record === '' ? 'no record' : `p=${d.p} pct=${d.pct}`);
      out.push(
        change(
          'DMARC_POLICY_WEAKENED',
          `The DMARC policy was weakened: ${show(was)} -> ${show(now)}${now.record === '' ? ' (the record is gone)' : ''}.`,
          was,
          now,
        ),
      );
    }
  }
  if (previous.dkim !== undefined && current.dkim !== undefined) {
    for (const [selector, after] of Object.entries(current.dkim)) {
      const before = previous.dkim[selector];
      if (before === undefined || before === after || before === 'missing' || before === 'revoked') continue;
      if (after === 'missing' || after === 'revoked') {
        out.push(
          change(
            'DKIM_KEY_REMOVED',
            `The DKIM key of selector "${selector}" was ${after === 'missing' ? 'deleted' : 'revoked (empty p=)'} since the last run.`,
            { selector, fingerprint: before },
            { selector, state: after },
          ),
        );
      } else {
        out.push(
          change(
            'DKIM_KEY_ROTATED',
            `The DKIM key of selector "${selector}" changed (SHA-256 ${before.slice(0, 16)}… -> ${after.slice(0, 16)}…).`,
            { selector, fingerprint: before },
            { selector, fingerprint: after },
          ),
        );
      }
    }
  }
  return out;
}
