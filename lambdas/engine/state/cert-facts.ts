/**
 * Certificates as facts between runs, and their rotation as a change: the leaf of an smtp or
 * tls target, and the leaf each address of each MX host of a domain presents (mta-sts and
 * dane results).
 *
 * A rotation on a DANE-protected host is worded with the host's TLSA verdict for the new
 * certificate from the same run, so "rotated, TLSA not updated" is one change (critical, with
 * the record to publish), not a CERT_ROTATED notice followed by a DANE_TLSA_MISMATCH page:
 * RFC 7672 senders defer mail from the moment the new key is served.
 *
 * Leaves are compared address by address, and only where both runs saw one: an address that
 * timed out, or a node left in DNS that never answers, hides nothing on the others. Each
 * address (and each smtp/tls target) remembers the last few fingerprints it showed, so a
 * load-balanced pool whose nodes present different certificates reports each certificate
 * once, not a rotation on every run.
 */
import { FINDINGS, type FindingCode, type Severity } from '../findings.js';
import type { Change } from '../result.js';

export interface CertFacts {
  readonly sha256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
  /** Fingerprints shown recently, newest first (this one included); a fingerprint in it is no rotation. */
  readonly seen?: readonly string[];
}

/**
 * The leaves of each MX host by address. In this run's facts an address the run resolved but
 * saw no certificate on is `null`: it exists, and keeps the leaf of an earlier run.
 */
export type MxCertFacts = Readonly<Record<string, Readonly<Record<string, CertFacts | null>>>>;

/** What a host's DANE verdict says about the certificates it presented, address by address. */
export interface TlsaView {
  /** `valid`, `invalid`, `not-deployed` or `unknown` (DaneStatus). */
  readonly verdict: string;
  /** `_25._tcp.<base domain>`. */
  readonly at: string;
  readonly endpoints: readonly TlsaEndpointView[];
  /** The codes behind an invalid or unknown verdict. */
  readonly codes: readonly string[];
}

export interface TlsaEndpointView {
  /** The fingerprint of the leaf the DANE probe saw. */
  readonly leaf: string;
  /** The record that authenticated it. */
  readonly matched?: string;
  /** No usable record matched it. */
  readonly mismatch: boolean;
  /** The 3 1 1 record of its key, for the fix. */
  readonly publish?: string;
}

/** TLSA views by MX host (lower-case, no root dot); SELF for the host of an smtp target. */
export type TlsaViews = ReadonlyMap<string, TlsaView>;
export const SELF = '';

/**
 * Small by construction; capped so that hostile names and certificates cannot grow the stored
 * item: at the caps the MX leaves take under 32 KiB of JSON, half the store's 64 KiB per item
 * (state/dynamodb.ts MAX_DOC_BYTES), where a larger item would stop the target's state.
 */
export const MAX_HOSTS = 8;
export const MAX_ADDRESSES = 4;
export const MAX_SEEN = 4;
export const MAX_TEXT = 160;
/** `AA:BB:…`, 95 characters for SHA-256. */
const MAX_FINGERPRINT = 96;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, max = MAX_TEXT): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);
const hostKey = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= 255 ? v.toLowerCase().replace(/\.$/, '') : undefined;
const addressKey = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= 64 ? v.toLowerCase() : undefined;

/** A certificate as the results carry it (CertificateInfo) or as it was stored. */
export function certFacts(cert: unknown): CertFacts | undefined {
  if (!isRecord(cert)) return undefined;
  const sha256 = text(cert['fingerprintSha256'] ?? cert['sha256'], MAX_FINGERPRINT);
  const subject = text(cert['subject']);
  const issuer = text(cert['issuer']);
  const notAfter = text(cert['notAfter']);
  if (sha256 === undefined || subject === undefined || issuer === undefined || notAfter === undefined) return undefined;
  const seen = Array.isArray(cert['seen'])
    ? cert['seen'].map((s) => text(s, MAX_FINGERPRINT)).filter((s): s is string => s !== undefined)
    : undefined;
  return { sha256, subject, issuer, notAfter, ...(seen !== undefined && seen.length > 0 ? { seen } : {}) };
}

const seenOf = (c: CertFacts): readonly string[] => c.seen ?? [c.sha256];

/** The leaf to keep: this run's, remembering the fingerprints shown before it. */
export function carryCert(previous: CertFacts | undefined, current: CertFacts): CertFacts {
  const seen = [...new Set([current.sha256, ...(previous === undefined ? [] : seenOf(previous))])].slice(0, MAX_SEEN);
  const { seen: _ignored, ...rest } = current;
  return { ...rest, seen };
}

/** A rotation: another leaf than last time, and none this target showed recently. */
export function rotated(previous: CertFacts, current: CertFacts): boolean {
  return previous.sha256 !== current.sha256 && !seenOf(previous).includes(current.sha256);
}

/** The leaves of one host's addresses: mta-sts `probes`, or dane `endpoints` (chain leaf first). */
function hostLeaves(report: Record<string, unknown>, check: unknown): Record<string, CertFacts | null> | undefined {
  const list = check === 'dane' ? report['endpoints'] : report['probes'];
  if (!Array.isArray(list)) return undefined;
  const out: Record<string, CertFacts | null> = {};
  for (const entry of list.slice(0, MAX_ADDRESSES)) {
    if (!isRecord(entry)) continue;
    const address = addressKey(entry['address']);
    if (address === undefined) continue;
    const chain = entry['chain'];
    const leaf =
      check === 'dane'
        ? certFacts(Array.isArray(chain) ? chain[0] : undefined)
        : certFacts(isRecord(entry['tls']) ? entry['tls']['certificate'] : undefined);
    out[address] = leaf ?? null;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * The MX leaves an mta-sts result (its own MX probes) or a dane result (its endpoints)
 * observed, by host and address. One source per check: the DANE probe sends the TLSA base
 * domain as SNI, the mta-sts probe the MX name, and a server may answer them differently.
 */
export function mxCertFactsOf(result: Record<string, unknown>): MxCertFacts | undefined {
  const out = new Map<string, Record<string, CertFacts | null>>();
  const list = result['mx'];
  for (const report of Array.isArray(list) ? list : []) {
    if (!isRecord(report)) continue;
    const host = hostKey(report['host']);
    if (host === undefined || out.has(host) || out.size >= MAX_HOSTS) continue;
    const leaves = hostLeaves(report, result['check']);
    if (leaves !== undefined) out.set(host, leaves);
  }
  return out.size === 0 ? undefined : Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** Stored MX leaves, or undefined when they are not in the expected shape. */
export function parseMxCertFacts(value: unknown): MxCertFacts | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, Record<string, CertFacts>> = {};
  for (const [host, addresses] of Object.entries(value)) {
    if (!isRecord(addresses)) return undefined;
    const leaves: Record<string, CertFacts> = {};
    for (const [address, cert] of Object.entries(addresses)) {
      const leaf = certFacts(cert);
      if (leaf === undefined) return undefined;
      leaves[address] = leaf;
    }
    out[host] = leaves;
  }
  return out;
}

/**
 * The MX leaves to keep. A host this run saw: its addresses as resolved now, each with this
 * run's leaf or, where it saw none, the last one. A host it did not see keeps its leaves while
 * it is still an MX host. This run's hosts come first when the cap is reached.
 */
export function mergeMxCerts(
  previous: MxCertFacts | undefined,
  current: MxCertFacts | undefined,
  mxHosts: readonly string[] | undefined,
): MxCertFacts | undefined {
  const out: [string, Record<string, CertFacts>][] = [];
  for (const [host, addresses] of Object.entries(current ?? {})) {
    const before = previous?.[host] ?? {};
    const leaves: Record<string, CertFacts> = {};
    for (const [address, leaf] of Object.entries(addresses)) {
      const was = before[address] ?? undefined;
      if (leaf !== null) leaves[address] = carryCert(was, leaf);
      else if (was !== undefined) leaves[address] = was;
    }
    if (Object.keys(leaves).length > 0) out.push([host, leaves]);
  }
  for (const [host, addresses] of Object.entries(previous ?? {})) {
    if (current?.[host] !== undefined || (mxHosts !== undefined && !mxHosts.includes(host))) continue;
    const leaves = Object.fromEntries(Object.entries(addresses).filter((e): e is [string, CertFacts] => e[1] !== null));
    if (Object.keys(leaves).length > 0) out.push([host, leaves]);
  }
  return out.length === 0 ? undefined : Object.fromEntries(out.slice(0, MAX_HOSTS));
}

function tlsaView(report: Record<string, unknown>): TlsaView | undefined {
  const verdict = text(report['verdict']);
  if (verdict === undefined || verdict === 'not-deployed') return undefined;
  const tlsa = isRecord(report['tlsa']) ? report['tlsa'] : {};
  const at = text(tlsa['name']) ?? `_25._tcp.${text(report['host']) ?? ''}`;
  const endpoints: TlsaEndpointView[] = [];
  for (const e of Array.isArray(report['endpoints']) ? report['endpoints'] : []) {
    if (!isRecord(e) || !Array.isArray(e['chain'])) continue;
    const leaf = certFacts(e['chain'][0])?.sha256;
    if (leaf === undefined) continue;
    const matched = isRecord(e['matched']) ? text(e['matched']['record'], 1024) : undefined;
    const publish = text(e['currentKeyRecord'], 1024);
    endpoints.push({
      leaf,
      mismatch: Array.isArray(e['mismatch']),
      ...(matched !== undefined ? { matched } : {}),
      ...(publish !== undefined ? { publish } : {}),
    });
  }
  const findings = Array.isArray(report['findings']) ? report['findings'].filter(isRecord) : [];
  const codes = [...new Set(findings.map((f) => text(f['code'])).filter((c): c is string => c !== undefined))];
  return { verdict, at, endpoints, codes: codes.filter((c) => c !== 'DANE_NO_ROLLOVER' || verdict !== 'valid') };
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
const unique = (certs: readonly CertFacts[]) => [...new Map(certs.map((c) => [c.sha256, c])).values()];

interface TlsaJudgement {
  /** Added to the head: ", TLSA updated" or ", TLSA not updated". */
  readonly head: string;
  readonly tail: string;
  readonly stale: boolean;
  readonly after: Record<string, unknown>;
}

/**
 * The TLSA half of a rotation: what the DANE verdict says of the new certificates (the
 * endpoints that presented them), not of other addresses of the host.
 */
function judgeTlsa(v: TlsaView | undefined, fresh: readonly string[], who: string): TlsaJudgement | undefined {
  if (v === undefined) return undefined;
  const relevant = v.endpoints.filter((e) => fresh.includes(e.leaf));
  const base = { verdict: v.verdict, at: v.at };
  if (relevant.length > 0 && relevant.some((e) => e.mismatch)) {
    const publish = relevant.find((e) => e.mismatch && e.publish !== undefined)?.publish;
    const fix =
      publish === undefined ? '' : ` Publish \`${v.at}. IN TLSA ${publish}\` (and a record for the next key).`;
    return {
      head: ', TLSA not updated',
      tail: ` No usable TLSA record at ${v.at} matches the new certificate, so senders that validate DANE defer all mail to ${who} (DANE_TLSA_MISMATCH).${fix}`,
      stale: true,
      after: { ...base, updated: false, ...(publish !== undefined ? { publish } : {}) },
    };
  }
  const matched = relevant.find((e) => e.matched !== undefined)?.matched;
  if (matched !== undefined) {
    return {
      head: ', TLSA updated',
      tail: ` The TLSA records at ${v.at} authenticate the new certificate (${short(matched)}): DANE senders keep delivering.`,
      stale: false,
      after: { ...base, updated: true, matched },
    };
  }
  const codes = v.codes.length > 0 ? ` (${v.codes.join(', ')})` : '';
  const state =
    v.verdict === 'invalid' ? 'is invalid' : v.verdict === 'valid' ? 'is valid' : 'could not be established';
  return { head: '', tail: ` The DANE verdict for ${who} ${state}${codes}.`, stale: false, after: base };
}

/** CERT_ROTATED (with the TLSA verdict) and CERT_ISSUER_CHANGED for one leaf. */
export function leafChanges(was: CertFacts, now: CertFacts, tlsa: TlsaView | undefined): Change[] {
  if (!rotated(was, now)) return [];
  const t = judgeTlsa(tlsa, [now.sha256], tlsa === undefined ? '' : tlsa.at.replace(/^_25\._tcp\./, ''));
  const out = [
    change(
      'CERT_ROTATED',
      `The leaf certificate changed${t?.head ?? ''}: was ${describe(was)}; now ${describe(now)}.${t?.tail ?? ''}`,
      view(was),
      { ...view(now), ...(t === undefined ? {} : { tlsa: t.after }) },
      t?.stale === true ? 'critical' : undefined,
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

/**
 * CERT_ROTATED (with the host's TLSA verdict for the new leaves) and CERT_ISSUER_CHANGED for
 * every MX host with an address that showed a leaf in both runs and a new one now.
 */
export function mxCertChanges(
  previous: MxCertFacts | undefined,
  current: MxCertFacts | undefined,
  views: TlsaViews,
): Change[] {
  if (previous === undefined || current === undefined) return [];
  const out: Change[] = [];
  for (const [host, addresses] of Object.entries(current)) {
    const before = previous[host];
    if (before === undefined) continue; // a new MX host: MX_SET_CHANGED says so
    const pairs = Object.entries(addresses).flatMap(([address, now]) => {
      const was = before[address];
      return now !== null && was != null && rotated(was, now) ? [{ address, was, now }] : [];
    });
    if (pairs.length === 0) continue;
    const was = unique(pairs.map((p) => p.was));
    const now = unique(pairs.map((p) => p.now));
    const t = judgeTlsa(
      views.get(host),
      now.map((c) => c.sha256),
      `MX ${host}`,
    );
    const where = pairs.map((p) => p.address).join(', ');
    out.push(
      change(
        'CERT_ROTATED',
        `MX ${host}: certificate rotated${t?.head ?? ''} (${where}). Was ${describeAll(was)}; now ${describeAll(now)}.${t?.tail ?? ''}`,
        { host, addresses: pairs.map((p) => p.address), certificates: was.map(view) },
        {
          host,
          addresses: pairs.map((p) => p.address),
          certificates: now.map(view),
          ...(t === undefined ? {} : { tlsa: t.after }),
        },
        t?.stale === true ? 'critical' : undefined,
      ),
    );
    const issuers = (l: readonly CertFacts[]) => [...new Set(l.map((c) => c.issuer))].sort();
    const [from, to] = [issuers(was), issuers(now)];
    if (from.join('\n') !== to.join('\n')) {
      out.push(
        change(
          'CERT_ISSUER_CHANGED',
          `MX ${host}: the certificate issuer changed from ${from.map((i) => `"${i}"`).join(', ')} to ${to.map((i) => `"${i}"`).join(', ')}.`,
          { host, issuers: from },
          { host, issuers: to },
        ),
      );
    }
  }
  return out;
}
