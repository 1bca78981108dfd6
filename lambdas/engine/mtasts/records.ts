/**
 * The two TXT records of a domain, as senders discover them: `_mta-sts` (RFC 8461 §3.1)
 * and `_smtp._tls` (RFC 8460 §3). Each lookup becomes the record (or its absence) and the
 * findings about it, with their final severities: a broken TXT record is never softened by
 * a policy's mode, because senders that cannot read the record never fetch the policy.
 */
import { finding, type Finding } from '../findings.js';
import { DnsError } from '../net/resolver.js';
import type { ProbeContext } from '../context.js';
import { parseStsRecord, selectStsRecord, type StsRecord } from './parse.js';
import { formatIssue, type ParseIssue } from './syntax.js';
import { parseTlsRptRecord, selectTlsRptRecord } from './tlsrpt.js';

export type TxtLookup =
  | { readonly kind: 'records'; readonly records: string[][] }
  | { readonly kind: 'absent'; readonly why: string }
  | { readonly kind: 'error'; readonly why: string };

export async function lookupTxt(name: string, ctx: ProbeContext): Promise<TxtLookup> {
  try {
    return { kind: 'records', records: await ctx.resolver.txt(name) };
  } catch (err) {
    if (err instanceof DnsError && err.isNegativeAnswer) return { kind: 'absent', why: err.kind };
    return { kind: 'error', why: err instanceof DnsError ? err.kind : String(err) };
  }
}

export function summarise(issues: readonly ParseIssue[], max = 5): string {
  const shown = issues.slice(0, max).map(formatIssue).join('; ');
  return issues.length > max ? `${shown}; and ${issues.length - max} more` : shown;
}

export interface StsTxt {
  readonly records: readonly string[];
  readonly id?: string;
  /** False for an invalid record or several: senders then assume no MTA-STS (§3.1). */
  readonly valid: boolean;
}

export interface StsDiscovery {
  /** Absent when no record was found or the lookup failed. */
  readonly txt?: StsTxt;
  readonly record?: StsRecord;
  readonly findings: readonly Finding[];
}

/** §3.1 TXT discovery. A temporary failure is never "no policy". */
export function discoverSts(domain: string, lookup: TxtLookup): StsDiscovery {
  const name = `_mta-sts.${domain}`;
  if (lookup.kind === 'error') {
    return { findings: [finding('MTASTS_DNS_ERROR', `TXT lookup of ${name} failed: ${lookup.why}`)] };
  }
  if (lookup.kind === 'absent') {
    return { findings: [finding('MTASTS_TXT_MISSING', `${name} has no TXT record (${lookup.why})`)] };
  }
  const selection = selectStsRecord(lookup.records);
  if (selection.kind === 'none') {
    return { findings: [finding('MTASTS_TXT_MISSING', `no TXT record at ${name} starts with v=STSv1;`)] };
  }
  if (selection.kind === 'multiple') {
    const shown = selection.records.map((r) => JSON.stringify(r)).join(', ');
    return {
      txt: { records: selection.records, valid: false },
      findings: [finding('MTASTS_TXT_MULTIPLE', `${name} has ${selection.records.length} v=STSv1 records: ${shown}`)],
    };
  }
  const parsed = parseStsRecord(selection.record);
  if (!parsed.ok) {
    return {
      txt: { records: [selection.record], valid: false },
      findings: [
        finding('MTASTS_TXT_INVALID', `${name} TXT ${JSON.stringify(selection.record)}: ${summarise(parsed.errors)}`),
      ],
    };
  }
  return {
    txt: { records: [selection.record], id: parsed.value.id, valid: true },
    record: parsed.value,
    findings: parsed.warnings.map((w) =>
      finding('MTASTS_TXT_INVALID', `${name}: ${w.message}`, { severity: 'warning' }),
    ),
  };
}

export interface TlsRptTxt {
  readonly records: readonly string[];
  readonly rua?: readonly string[];
  readonly valid: boolean;
}

/** RFC 8460 §3. Every finding here is a warning: reports help, their absence blocks no mail. */
export function discoverTlsRpt(
  domain: string,
  lookup: TxtLookup,
): { readonly tlsRpt?: TlsRptTxt; readonly findings: readonly Finding[] } {
  const name = `_smtp._tls.${domain}`;
  if (lookup.kind === 'error') {
    return {
      findings: [finding('MTASTS_DNS_ERROR', `TXT lookup of ${name} failed: ${lookup.why}`, { severity: 'warning' })],
    };
  }
  if (lookup.kind === 'absent') {
    return { findings: [finding('TLSRPT_MISSING', `${name} has no TXT record (${lookup.why})`)] };
  }
  const selection = selectTlsRptRecord(lookup.records);
  if (selection.kind === 'none') {
    return { findings: [finding('TLSRPT_MISSING', `no TXT record at ${name} starts with v=TLSRPTv1;`)] };
  }
  if (selection.kind === 'multiple') {
    return {
      tlsRpt: { records: selection.records, valid: false },
      findings: [finding('TLSRPT_MULTIPLE', `${name} has ${selection.records.length} v=TLSRPTv1 records`)],
    };
  }
  const parsed = parseTlsRptRecord(selection.record);
  if (!parsed.ok) {
    return {
      tlsRpt: { records: [selection.record], valid: false },
      findings: [
        finding('TLSRPT_INVALID', `${name} TXT ${JSON.stringify(selection.record)}: ${summarise(parsed.errors)}`),
      ],
    };
  }
  return { tlsRpt: { records: [selection.record], rua: parsed.value.rua, valid: true }, findings: [] };
}
