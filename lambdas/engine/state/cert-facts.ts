/**
 * Certificates as facts between runs, and their rotation as a change: the leaf of an smtp or
 * tls target, and the leaves each MX host of a domain presents (mta-sts and dane results).
 *
 * A rotation on a DANE-protected host is worded with the host's TLSA verdict from the same
 * run, so "rotated, TLSA not updated" is one change (critical, with the record to publish),
 * not a CERT_ROTATED notice followed by a DANE_TLSA_MISMATCH page: RFC 7672 senders defer
 * mail from the moment the new key is served, and the on-call engineer needs both halves at once.
 */
import { FINDINGS, type FindingCode, type Severity } from '../findings.js';
import type { Change } from '../result.js';

export interface CertFacts {
  readonly sha256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
}

/** The leaves one MX host presented on the addresses probed, unique by fingerprint, sorted. */
export type MxCertFacts = Readonly<Record<string, readonly CertFacts[]>>;

/** What a host's DANE verdict says about the certificate it presents now. */
export interface TlsaView {
  /** `valid`, `invalid`, `not-deployed` or `unknown` (DaneStatus). */
  readonly verdict: string;
  /** `_25._tcp.<base domain>`. */
  readonly at: string;
  /** The record that authenticates the certificate (valid). */
  readonly matched?: string;
  /** No usable record matches the certificate presented: the TLSA RRset was not updated. */
  readonly stale: boolean;
  /** The 3 1 1 record of the key presented, for the fix. */
  readonly publish?: string;
  /** The codes behind an invalid or unknown verdict. */
  readonly codes: readonly string[];
}

/** TLSA views by MX host (lower-case, no root dot); SELF for the host of an smtp target. */
export type TlsaViews = ReadonlyMap<string, TlsaView>;
export const SELF = '';

/** Small by construction; capped so a hostile DNS answer cannot grow the stored item. */
const MAX_HOSTS = 16;
const MAX_CERTS_PER_HOST = 4;
const MAX_STRING = 512;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.slice(0, MAX_STRING) : undefined);
const hostKey = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= 255 ? v.toLowerCase().replace(/\.$/, '') : undefined;

/** A certificate as the results carry it (CertificateInfo) or as it was stored. */
export function certFacts(cert: unknown): CertFacts | undefined {
  if (!isRecord(cert)) return undefined;
  const sha256 = str(cert['fingerprintSha256'] ?? cert['sha256']);
  const subject = str(cert['subject']);
  const issuer = str(cert['issuer']);
  const notAfter = str(cert['notAfter']);
  if (sha256 === undefined || subject === undefined || issuer === undefined || notAfter === undefined) return undefined;
  return { sha256, subject, issuer, notAfter };
}

function certSet(certs: readonly CertFacts[]): CertFacts[] {
  const unique = new Map(certs.map((c) => [c.sha256, c]));
  return [...unique.values()].sort((a, b) => a.sha256.localeCompare(b.sha256)).slice(0, MAX_CERTS_PER_HOST);
}

/**
 * The leaves of one host, or undefined when not every address it was probed on showed one:
 * a partial view (an address timed out) must not read as a rotation, nor hide one.
 */
function hostLeaves(report: Record<string, unknown>): CertFacts[] | undefined {
  const leaves: CertFacts[] = [];
  // mta-sts: `probes`, one per address; addresses not probed (no IPv6, blocked) say nothing.
  if (Array.isArray(report['probes'])) {
    const probed = report['probes'].filter(
      (p) => isRecord(p) && p['outcome'] !== 'not-probed' && p['outcome'] !== 'blocked',
    ) as Record<string, unknown>[];
    for (const p of probed) {
      const leaf = certFacts(isRecord(p['tls']) ? p['tls']['certificate'] : undefined);
      if (leaf === undefined) return undefined;
      leaves.push(leaf);
    }
  } else if (Array.isArray(report['endpoints'])) {
    // dane: `endpoints`, one per address connected to, with the chain leaf first.
    for (const e of report['endpoints']) {
      const chain = isRecord(e) ? e['chain'] : undefined;
      const leaf = certFacts(Array.isArray(chain) ? chain[0] : undefined);
      if (leaf === undefined) return undefined;
      leaves.push(leaf);
    }
  }
  return leaves.length === 0 ? undefined : certSet(leaves);
}

/**
 * The MX leaves an mta-sts or dane result observed. The mta-sts check's own probes come
 * first; the DANE endpoints fill in hosts it did not probe.
 */
export function mxCertFactsOf(result: Record<string, unknown>): MxCertFacts | undefined {
  const out = new Map<string, CertFacts[]>();
  const dane = isRecord(result['dane']) ? result['dane'] : undefined;
  const sources = [result['mx'], dane?.['mx']];
  for (const list of sources) {
    if (!Array.isArray(list)) continue;
    for (const report of list) {
      if (!isRecord(report)) continue;
      const host = hostKey(report['host']);
      if (host === undefined || out.has(host) || out.size >= MAX_HOSTS) continue;
      const leaves = hostLeaves(report);
      if (leaves !== undefined) out.set(host, leaves);
    }
  }
  return out.size === 0 ? undefined : Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** Stored MX leaves, or undefined when they are not in the expected shape. */
export function parseMxCertFacts(value: unknown): MxCertFacts | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, CertFacts[]> = {};
  for (const [host, list] of Object.entries(value)) {
    if (!Array.isArray(list)) return undefined;
    const certs = list.map(certFacts);
    if (certs.some((c) => c === undefined)) return undefined;
    out[host] = certs as CertFacts[];
  }
  return out;
}

/**
 * The MX leaves to keep: this run's over the last run's, host by host (a host not probed this
 * run keeps its last leaves), without the hosts that are no longer MX hosts.
 */
export function mergeMxCerts(
  previous: MxCertFacts | undefined,
  current: MxCertFacts | undefined,
  mxHosts: readonly string[] | undefined,
): MxCertFacts | undefined {
  if (previous === undefined) return current;
  const merged = Object.entries({ ...previous, ...current }).filter(
    ([host]) => mxHosts === undefined || mxHosts.includes(host) || current?.[host] !== undefined,
  );
  return merged.length === 0 ? undefined : Object.fromEntries(merged.slice(0, MAX_HOSTS));
}

function tlsaView(report: Record<string, unknown>): TlsaView | undefined {
  const verdict = str(report['verdict']);
  if (verdict === undefined || verdict === 'not-deployed') return undefined;
  const tlsa = isRecord(report['tlsa']) ? report['tlsa'] : {};
  const at = str(tlsa['name']) ?? `_25._tcp.${str(report['host']) ?? ''}`;
  const endpoints = (Array.isArray(report['endpoints']) ? report['endpoints'] : []).filter(isRecord);
  const matched = endpoints
    .map((e) => (isRecord(e['matched']) ? str(e['matched']['record']) : undefined))
    .find(Boolean);
  const stale = endpoints.some((e) => Array.isArray(e['mismatch']));
  const publish = endpoints.map((e) => str(e['currentKeyRecord'])).find(Boolean);
  const findings = Array.isArray(report['findings']) ? report['findings'].filter(isRecord) : [];
  const codes = [...new Set(findings.map((f) => str(f['code'])).filter((c): c is string => c !== undefined))];
  return {
    verdict,
    at,
    stale,
    codes: codes.filter((c) => c !== 'DANE_NO_ROLLOVER' || verdict !== 'valid'),
    ...(matched !== undefined ? { matched } : {}),
    ...(publish !== undefined ? { publish } : {}),
  };
}

/** The TLSA verdicts a result carries: per MX host (mta-sts, dane), or for the smtp target's host. */
export function tlsaViewsOf(result: Record<string, unknown>): TlsaViews {
  const views = new Map<string, TlsaView>();
  const dane = result['dane'];
  if (result['check'] === 'smtp') {
    const view = isRecord(dane) ? tlsaView(dane) : undefined;
    if (view !== undefined) views.set(SELF, view);
    return views;
  }
  const hosts = result['check'] === 'dane' ? result['mx'] : isRecord(dane) ? dane['mx'] : undefined;
  for (const report of Array.isArray(hosts) ? hosts : []) {
    if (!isRecord(report)) continue;
    const host = hostKey(report['host']);
    const view = tlsaView(report);
    if (host !== undefined && view !== undefined) views.set(host, view);
  }
  return views;
}

function change(code: FindingCode, message: string, before: unknown, after: unknown, severity?: Severity): Change {
  return {
    code,
    severity: severity ?? FINDINGS[code].severity,
    message,
    hint: FINDINGS[code].hint,
    before,
    after,
  };
}

const short = (record: string) => (record.length > 24 ? `${record.slice(0, 24)}…` : record);
const describe = (c: CertFacts) => `"${c.subject}" from "${c.issuer}", not after ${c.notAfter}, SHA-256 ${c.sha256}`;
const describeAll = (certs: readonly CertFacts[]) => certs.map(describe).join(' and ');
const view = (c: CertFacts) => ({ subject: c.subject, issuer: c.issuer, notAfter: c.notAfter, sha256: c.sha256 });

/** The TLSA half of a rotation: what DANE senders make of the new certificate. */
function tlsaSentence(v: TlsaView | undefined, who: string): { head: string; tail: string; critical: boolean } {
  if (v === undefined) return { head: '', tail: '', critical: false };
  if (v.verdict === 'valid') {
    return {
      head: ', TLSA updated',
      tail: ` The TLSA records at ${v.at} authenticate the new certificate (${short(v.matched ?? 'a usable record')}): DANE senders keep delivering.`,
      critical: false,
    };
  }
  if (v.verdict === 'invalid' && v.stale) {
    const fix =
      v.publish === undefined ? '' : ` Publish \`${v.at}. IN TLSA ${v.publish}\` (and a record for the next key).`;
    return {
      head: ', TLSA not updated',
      tail: ` No usable TLSA record at ${v.at} matches the new certificate, so senders that validate DANE defer all mail to ${who} (DANE_TLSA_MISMATCH).${fix}`,
      critical: true,
    };
  }
  const codes = v.codes.length > 0 ? ` (${v.codes.join(', ')})` : '';
  return v.verdict === 'invalid'
    ? { head: '', tail: ` The DANE verdict for ${who} is invalid${codes}.`, critical: true }
    : { head: '', tail: ` The DANE state of ${who} could not be established${codes}.`, critical: false };
}

const tlsaAfter = (v: TlsaView | undefined) =>
  v === undefined
    ? {}
    : {
        tlsa: {
          verdict: v.verdict,
          at: v.at,
          ...(v.matched !== undefined ? { matched: v.matched } : {}),
          ...(v.stale ? { updated: false } : v.verdict === 'valid' ? { updated: true } : {}),
          ...(v.publish !== undefined && v.stale ? { publish: v.publish } : {}),
        },
      };

/** CERT_ROTATED (with the TLSA verdict) and CERT_ISSUER_CHANGED for one leaf. */
export function leafChanges(was: CertFacts, now: CertFacts, tlsa: TlsaView | undefined): Change[] {
  if (was.sha256 === now.sha256) return [];
  const t = tlsaSentence(tlsa, tlsa === undefined ? '' : tlsa.at.replace(/^_25\._tcp\./, ''));
  const out = [
    change(
      'CERT_ROTATED',
      `The leaf certificate changed${t.head}: was ${describe(was)}; now ${describe(now)}.${t.tail}`,
      view(was),
      { ...view(now), ...tlsaAfter(tlsa) },
      t.critical ? 'critical' : undefined,
    ),
  ];
  if (was.issuer !== now.issuer) {
    out.push(
      change(
        'CERT_ISSUER_CHANGED',
        `The certificate issuer changed from "${was.issuer}" to "${now.issuer}".`,
        { issuer: was.issuer },
        { issuer: now.issuer },
      ),
    );
  }
  return out;
}

/** CERT_ROTATED (with the host's TLSA verdict) and CERT_ISSUER_CHANGED for every MX host seen in both runs. */
export function mxCertChanges(
  previous: MxCertFacts | undefined,
  current: MxCertFacts | undefined,
  views: TlsaViews,
): Change[] {
  if (previous === undefined || current === undefined) return [];
  const out: Change[] = [];
  for (const [host, now] of Object.entries(current)) {
    const was = previous[host];
    if (was === undefined) continue; // a new MX host: MX_SET_CHANGED says so
    const same = was.length === now.length && was.every((c, i) => c.sha256 === now[i]?.sha256);
    if (same) continue;
    const tlsa = views.get(host);
    const t = tlsaSentence(tlsa, `MX ${host}`);
    out.push(
      change(
        'CERT_ROTATED',
        `MX ${host}: certificate rotated${t.head}. Was ${describeAll(was)}; now ${describeAll(now)}.${t.tail}`,
        { host, certificates: was.map(view) },
        { host, certificates: now.map(view), ...tlsaAfter(tlsa) },
        t.critical ? 'critical' : undefined,
      ),
    );
    const issuers = (l: readonly CertFacts[]) => [...new Set(l.map((c) => c.issuer))].sort();
    const [before, after] = [issuers(was), issuers(now)];
    if (before.join('\n') !== after.join('\n')) {
      out.push(
        change(
          'CERT_ISSUER_CHANGED',
          `MX ${host}: the certificate issuer changed from ${before.map((i) => `"${i}"`).join(', ')} to ${after.map((i) => `"${i}"`).join(', ')}.`,
          { host, issuers: before },
          { host, issuers: after },
        ),
      );
    }
  }
  return out;
}
