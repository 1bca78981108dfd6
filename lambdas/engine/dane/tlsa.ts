/**
 * TLSA records and certificate matching for SMTP (RFC 6698 §2, RFC 7671, RFC 7672 §3), as
 * pure functions: the check supplies the validated records and the chain the server sent.
 *
 * - DANE-EE(3) matches the server's own certificate or key; names and dates are ignored
 *   (RFC 7672 §3.1.1: the TLSA record is the binding).
 * - DANE-TA(2) matches a CA certificate or key in the presented chain; the chain below it
 *   must verify up to it, be in date, and the leaf must carry a reference name: the MX
 *   host, or the TLSA base domain after CNAME expansion (RFC 7672 §3.1.2, §3.2.2).
 * - PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 §3.1.3), as are unknown
 *   selectors or matching types and digests of the wrong length (RFC 7671 §4).
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { dnsNamesOf, notAfterMs, notBeforeMs } from '../tls/certificate.js';
import { matchesDnsId } from '../tls/identity.js';
import type { TlsaRdata } from '../dnssec/wire.js';

export const USAGE = { PKIX_TA: 0, PKIX_EE: 1, DANE_TA: 2, DANE_EE: 3 } as const;
export const SELECTOR = { CERT: 0, SPKI: 1 } as const;
export const MATCHING = { FULL: 0, SHA256: 1, SHA512: 2 } as const;

const DIGEST_LENGTH: Readonly<Record<number, number>> = { [MATCHING.SHA256]: 32, [MATCHING.SHA512]: 64 };

export interface TlsaRecordInfo {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  /** Certificate association data, lower-case hex. */
  readonly data: string;
  /** `3 1 1 ab12…` as in a zone file. */
  readonly text: string;
  readonly usable: boolean;
  /** Why the record is unusable. */
  readonly unusable?: string;
}

/** Why a record cannot be used for SMTP, or undefined when it can. */
export function unusableReason(r: TlsaRdata): string | undefined {
  if (r.usage === USAGE.PKIX_TA || r.usage === USAGE.PKIX_EE) {
    return `usage ${r.usage} (PKIX-${r.usage === 0 ? 'TA' : 'EE'}) is unusable for SMTP (RFC 7672 §3.1.3)`;
  }
  if (r.usage !== USAGE.DANE_TA && r.usage !== USAGE.DANE_EE) return `unknown usage ${r.usage}`;
  if (r.selector !== SELECTOR.CERT && r.selector !== SELECTOR.SPKI) return `unknown selector ${r.selector}`;
  if (r.matchingType !== MATCHING.FULL && r.matchingType !== MATCHING.SHA256 && r.matchingType !== MATCHING.SHA512) {
    return `unknown matching type ${r.matchingType}`;
  }
  const want = DIGEST_LENGTH[r.matchingType];
  if (want !== undefined && r.data.length !== want) {
    return `matching type ${r.matchingType} needs ${want} bytes of data, the record has ${r.data.length}`;
  }
  if (r.data.length === 0) return 'empty certificate association data';
  return undefined;
}

export function describeTlsa(r: TlsaRdata): TlsaRecordInfo {
  const why = unusableReason(r);
  const data = r.data.toString('hex');
  return {
    usage: r.usage,
    selector: r.selector,
    matchingType: r.matchingType,
    data,
    text: `${r.usage} ${r.selector} ${r.matchingType} ${data}`,
    usable: why === undefined,
    ...(why !== undefined ? { unusable: why } : {}),
  };
}

/** The certificate association data of `cert` for a selector and matching type (RFC 6698 §2.1.2-3). */
export function associationData(cert: X509Certificate, selector: number, matchingType: number): Buffer {
  const selected = selector === SELECTOR.SPKI ? cert.publicKey.export({ type: 'spki', format: 'der' }) : cert.raw;
  if (matchingType === MATCHING.SHA256) return createHash('sha256').update(selected).digest();
  if (matchingType === MATCHING.SHA512) return createHash('sha512').update(selected).digest();
  return Buffer.from(selected);
}

export function recordMatches(
  r: Pick<TlsaRecordInfo, 'selector' | 'matchingType' | 'data'>,
  cert: X509Certificate,
): boolean {
  return associationData(cert, r.selector, r.matchingType).toString('hex') === r.data;
}

export interface DaneMatch {
  /** Index into the TLSA records. */
  readonly record: number;
  /** 0 for the leaf; the chain's length for a trust anchor the server left out (`2 x 0` records). */
  readonly depth: number;
}

export type DaneVerdict =
  | { readonly ok: true; readonly match: DaneMatch }
  /** Every usable record failed; `reasons` says why, record by record. */
  | { readonly ok: false; readonly reasons: readonly string[] };

export interface MatchOptions {
  /** Reference identifiers for DANE-TA: the MX host and, after a CNAME, the TLSA base domain. */
  readonly names: readonly string[];
  readonly nowMs: number;
}

/**
 * Authenticates a presented chain (leaf first, as the server sent it) against TLSA records.
 * The first usable record that authenticates it wins, DANE-EE before DANE-TA.
 */
export function matchChain(
  records: readonly TlsaRecordInfo[],
  chain: readonly X509Certificate[],
  options: MatchOptions,
): DaneVerdict {
  const leaf = chain[0];
  if (leaf === undefined) return { ok: false, reasons: ['the server sent no certificate'] };
  const reasons: string[] = [];
  const order = records
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.usable)
    .sort((a, b) => b.r.usage - a.r.usage);
  for (const { r, i } of order) {
    if (r.usage === USAGE.DANE_EE) {
      if (recordMatches(r, leaf)) return { ok: true, match: { record: i, depth: 0 } };
      reasons.push(`${short(r)}: does not match the server's certificate`);
      continue;
    }
    // DANE-TA: a CA certificate above the leaf that the server sent (RFC 7671 §5.2.2).
    const depth = chain.findIndex((c, d) => d > 0 && recordMatches(r, c));
    if (depth < 0) {
      // A record with the whole key or certificate (matching type 0) may stand for a TA the
      // server left out: the top of the chain must then be signed by it (RFC 7671 §5.2.2).
      const absent = absentAnchorProblem(r, chain, options);
      if (absent === undefined) return { ok: true, match: { record: i, depth: chain.length } };
      reasons.push(`${short(r)}: ${absent}`);
      continue;
    }
    const problem = pathProblem(chain, depth, options);
    if (problem === undefined) return { ok: true, match: { record: i, depth } };
    reasons.push(`${short(r)}: matches certificate ${depth} of the chain, but ${problem}`);
  }
  return { ok: false, reasons };
}

/**
 * Why a `2 0 0` / `2 1 0` record does not authenticate the chain through a trust anchor the
 * server did not send, or undefined when it does: the certificate at the top of the chain is
 * signed by the record's key (and names the record's certificate as its issuer), and the
 * path below it verifies, is in date and names the host.
 */
function absentAnchorProblem(
  r: TlsaRecordInfo,
  chain: readonly X509Certificate[],
  options: MatchOptions,
): string | undefined {
  const none = 'matches no CA certificate the server sent';
  if (r.matchingType !== MATCHING.FULL) return none;
  let key: KeyObject;
  let subject: string | undefined;
  try {
    const data = Buffer.from(r.data, 'hex');
    if (r.selector === SELECTOR.CERT) {
      const anchor = new X509Certificate(data);
      key = anchor.publicKey;
      subject = anchor.subject;
    } else {
      key = createPublicKey({ key: data, format: 'der', type: 'spki' });
    }
  } catch {
    return `${none}, and its data is no ${r.selector === SELECTOR.CERT ? 'certificate' : 'public key'}`;
  }
  const top = chain[chain.length - 1] as X509Certificate;
  if ((subject !== undefined && top.issuer !== subject) || !top.verify(key)) return none;
  if (notAfterMs(top) < options.nowMs)
    return `the top certificate expired on ${new Date(notAfterMs(top)).toISOString()}`;
  if (notBeforeMs(top) > options.nowMs)
    return `the top certificate is not valid before ${new Date(notBeforeMs(top)).toISOString()}`;
  const problem = pathProblem(chain, chain.length - 1, options);
  return problem === undefined ? undefined : `signs the top of the chain (the server left it out), but ${problem}`;
}

function short(r: TlsaRecordInfo): string {
  return r.text.length > 30 ? `${r.text.slice(0, 30)}…` : r.text;
}

/** What is wrong with the path from the leaf up to the trust anchor at `taDepth`, if anything. */
function pathProblem(chain: readonly X509Certificate[], taDepth: number, options: MatchOptions): string | undefined {
  for (let d = 0; d < taDepth; d += 1) {
    const cert = chain[d] as X509Certificate;
    const issuer = chain[d + 1] as X509Certificate;
    if (!issuer.ca) return `certificate ${d + 1} is not a CA certificate`;
    if (cert.issuer !== issuer.subject || !cert.verify(issuer.publicKey)) {
      return `certificate ${d} is not signed by certificate ${d + 1}`;
    }
    if (notAfterMs(cert) < options.nowMs)
      return `certificate ${d} expired on ${new Date(notAfterMs(cert)).toISOString()}`;
    if (notBeforeMs(cert) > options.nowMs)
      return `certificate ${d} is not valid before ${new Date(notBeforeMs(cert)).toISOString()}`;
  }
  const leaf = chain[0] as X509Certificate;
  const sans = dnsNamesOf(leaf);
  // RFC 7672 §3.2.3: DNS-ID SANs; the CN only when the certificate has none.
  const presented = sans.length > 0 ? sans : commonNames(leaf.subject);
  if (!options.names.some((n) => matchesDnsId(n, presented))) {
    return `the certificate is not for ${options.names.join(' or ')} (it names ${presented.join(', ') || 'nothing'})`;
  }
  return undefined;
}

function commonNames(subject: string): string[] {
  return subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
}

/** The TLSA record text (`3 1 1 …`) for a certificate, for hints. */
export function recordFor(cert: X509Certificate, usage: number, selector: number, matchingType: number): string {
  return `${usage} ${selector} ${matchingType} ${associationData(cert, selector, matchingType).toString('hex')}`;
}
