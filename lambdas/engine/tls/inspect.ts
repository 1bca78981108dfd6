/**
 * Probe handshakes complete whatever the certificate, so a bad one can still be described:
 * the client trusts nothing blindly, it just does not abort. Verification is then
 * classified here, from OpenSSL's verify result code (never its message text), the
 * chain the server sent (chain.ts), the probe's clock and the host name.
 */
import { X509Certificate } from 'node:crypto';
import { ipFamily } from '../net/ip.js';
import * as tls from 'node:tls';
import type { Clock } from '../deadline.js';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';
import type { ProbeContext, Thresholds } from '../context.js';
import type { CertificateInfo, TlsSessionInfo } from '../result.js';
import { describeCertificate, dnsNamesOf, isSelfSigned } from './certificate.js';
import { isWeakSignatureAlgorithm } from './der.js';
import type { IdentityMode } from './identity.js';
import { checkHostname } from './identity.js';
import { anchorIndex, secureContextWithAnchors } from './trust.js';
import { classifyChain } from './chain.js';

/** Everything OpenSSL offers, at security level 0 so weak servers are measured, not refused. */
export const PROBE_CIPHERS = 'DEFAULT:@SECLEVEL=0';
/** Ephemeral finite-field DH suites only (TLS ≤ 1.2), to learn the server's DH group size. */
export const DHE_ONLY_CIPHERS = 'kDHE:!aNULL:!eNULL:@SECLEVEL=0';
/** Below what any server still uses; the probe reports small groups instead of refusing them. */
export const PROBE_MIN_DH_SIZE = 512;

/** The context-level knobs of a probe handshake. */
export interface TlsProfile {
  /** @default 'TLSv1' */
  readonly minVersion?: tls.SecureVersion;
  /** @default 'TLSv1.3' */
  readonly maxVersion?: tls.SecureVersion;
  /** OpenSSL cipher string for TLS ≤ 1.2. @default PROBE_CIPHERS */
  readonly ciphers?: string;
  /**
   * Load the run's trust anchors. Handshakes that only measure (DH size, versions) judge
   * no certificate and skip them: Node's shared default store costs nothing to reuse.
   * @default true
   */
  readonly anchors?: boolean;
}

// Parsing the ~140 bundled roots costs 25–40 ms of CPU per secure context; a probe makes
// several handshakes and a Lambda runs many probes, so contexts are built once per trust
// store and profile and shared (as https.Agent does).
const contexts = new WeakMap<readonly string[], Map<string, tls.SecureContext>>();

function secureContextFor(extraCa: readonly string[], profile: TlsProfile): tls.SecureContext {
  let byProfile = contexts.get(extraCa);
  if (byProfile === undefined) contexts.set(extraCa, (byProfile = new Map()));
  const minVersion = profile.minVersion ?? 'TLSv1';
  const maxVersion = profile.maxVersion ?? 'TLSv1.3';
  const ciphers = profile.ciphers ?? PROBE_CIPHERS;
  const anchors = profile.anchors ?? true;
  const key = `${minVersion}|${maxVersion}|${ciphers}|${anchors}`;
  let context = byProfile.get(key);
  if (context === undefined) {
    // Without anchors the context still verifies against Node's bundled roots (as before).
    context = anchors
      ? secureContextWithAnchors({ minVersion, maxVersion, ciphers }, extraCa)
      : tls.createSecureContext({ minVersion, maxVersion, ciphers });
    byProfile.set(key, context);
  }
  return context;
}

/**
 * Options for a probe handshake that completes even on bad certificates. Versions and
 * ciphers live in the (cached) secureContext: pass a `profile` to change them, since Node
 * ignores `ca`, `ciphers`, `minVersion` and `maxVersion` next to a secureContext.
 */
export function tlsClientOptions(
  ctx: ProbeContext,
  servername: string,
  profile: TlsProfile = {},
): tls.ConnectionOptions {
  const host = servername.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return {
    secureContext: secureContextFor(ctx.extraCa, profile),
    rejectUnauthorized: false,
    // Name checks happen in inspectTlsSession with the right rules (pkix or DNS-ID); Node's
    // own check would only overwrite the chain's verify result in authorizationError.
    checkServerIdentity: () => undefined,
    // RFC 6066 §3: SNI carries host names only, never IP literals.
    ...(ipFamily(host) === 0 ? { servername: host } : {}),
    minDHSize: PROBE_MIN_DH_SIZE,
  };
}

/** A host name without IPv6 brackets. */
function hostOf(servername: string): string {
  return servername.replace(/^\[(.*)\]$/, '$1');
}

/** The chain as Node reports it, leaf first: what the server sent, plus issuers Node found in the trust store. */
export function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (current?.raw !== undefined && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    // A root's issuerCertificate is itself; the `seen` set ends the walk there.
    current = current.issuerCertificate;
  }
  return chain;
}

export interface InspectOptions {
  /** The name the certificate must be valid for. */
  readonly servername: string;
  readonly identity: IdentityMode;
  readonly clock: Clock;
  readonly thresholds: Thresholds;
  /**
   * The run's extra trust anchors (ctx.extraCa). Needed to tell an untrusted chain from a
   * trusted one when a certificate is also out of date, and to leave out certificates
   * the server sends beyond the path clients use (see chain.ts); pass it.
   */
  readonly extraCa?: readonly string[];
}

export interface InspectedSession {
  readonly tls: TlsSessionInfo;
  readonly findings: Finding[];
  /** Chain trusted, dates valid on the probe's clock and the name matches. */
  readonly verified: boolean;
}

function dateFindings(chain: readonly CertificateInfo[], nowMs: number): Finding[] {
  const out: Finding[] = [];
  for (const cert of chain) {
    const notAfter = Date.parse(cert.notAfter);
    const notBefore = Date.parse(cert.notBefore);
    if (notAfter < nowMs) {
      const days = Math.floor((nowMs - notAfter) / 86_400_000);
      out.push(
        finding(
          'CERT_EXPIRED',
          `certificate "${cert.subject}" (issuer "${cert.issuer}") expired on ${cert.notAfter}, ${days} day(s) ago`,
        ),
      );
    }
    if (notBefore > nowMs) {
      out.push(finding('CERT_NOT_YET_VALID', `certificate "${cert.subject}" is not valid before ${cert.notBefore}`));
    }
  }
  return out;
}

function earliestOf(chain: readonly CertificateInfo[]): CertificateInfo | undefined {
  let earliest: CertificateInfo | undefined;
  for (const cert of chain) {
    if (earliest === undefined || Date.parse(cert.notAfter) < Date.parse(earliest.notAfter)) earliest = cert;
  }
  return earliest;
}

function expiringFinding(earliest: CertificateInfo | undefined, nowMs: number, t: Thresholds): Finding | undefined {
  if (earliest === undefined || Date.parse(earliest.notAfter) < nowMs) return undefined;
  const days = earliest.daysToExpiry;
  if (days > t.warnDays) return undefined;
  const message = `certificate "${earliest.subject}" expires on ${earliest.notAfter}, in ${days} day(s)`;
  return finding('CERT_EXPIRING', message, { severity: days <= t.criticalDays ? 'critical' : 'warning' });
}

function strengthFindings(chain: readonly X509Certificate[], infos: readonly CertificateInfo[]): Finding[] {
  const out: Finding[] = [];
  infos.forEach((info, i) => {
    const finiteField = info.keyType === 'RSA' || info.keyType === 'RSA-PSS' || info.keyType === 'DSA';
    // EC below 256 bits (P-224, P-192, 160-bit curves): under 128-bit security, and outside
    // what CA/B Forum certificates and TLS 1.3 (RFC 8446 §4.2.7) allow.
    const weakCurve = info.keyType === 'EC' && info.keyBits !== undefined && info.keyBits < 256;
    if ((finiteField && (info.keyBits ?? 0) < 2048) || weakCurve) {
      out.push(
        finding('CERT_WEAK_KEY', `certificate "${info.subject}" has a ${info.keyBits ?? '?'}-bit ${info.keyType} key`),
      );
    }
    // A root's own signature is never checked (it is trusted by presence), so SHA-1 there is harmless.
    const cert = chain[i];
    if (cert !== undefined && isWeakSignatureAlgorithm(info.signatureAlgorithm) && !(cert.ca && isSelfSigned(cert))) {
      out.push(
        finding('CERT_WEAK_SIGNATURE', `certificate "${info.subject}" is signed with ${info.signatureAlgorithm}`),
      );
    }
  });
  return out;
}

/** Describes and judges the TLS session of a completed probe handshake. */
export function inspectTlsSession(socket: tls.TLSSocket, opts: InspectOptions): InspectedSession {
  const nowMs = opts.clock.now();
  const sent = peerChain(socket);
  const findings: Finding[] = [];

  // Node puts the OpenSSL verify code (a string, despite its typing as Error) here.
  const code = socket.authorized ? undefined : String(socket.authorizationError ?? 'UNSPECIFIED');
  const anchors = opts.extraCa !== undefined ? anchorIndex(opts.extraCa) : undefined;
  const verdict = classifyChain(code, sent, anchors);
  if (!verdict.trusted) findings.push(verdict.finding);
  // A trusted chain is judged on the path clients use; an untrusted one on all it shows.
  const chain = verdict.trusted ? verdict.path : sent;
  const infos = chain.map((cert) => describeCertificate(cert, nowMs));

  const dates = dateFindings(infos, nowMs);
  findings.push(...dates);

  const leaf = chain[0];
  const nameMatches = leaf !== undefined && checkHostname(opts.servername, leaf, opts.identity);
  if (leaf !== undefined && !nameMatches) {
    const names =
      opts.identity === 'dns-id' ? dnsNamesOf(leaf).join(', ') : (infos[0]?.subjectAltNames ?? []).join(', ');
    findings.push(
      finding(
        'CERT_NAME_MISMATCH',
        `certificate "${infos[0]?.subject ?? ''}" is not valid for ${opts.servername}; it names ${names === '' ? 'no subject alternative names' : names}`,
      ),
    );
  }

  // Node's pkix check fell back to the subject CN: OpenSSL-based MTAs accept that, but RFC
  // 9525 dropped CN-IDs and Go's and rustls's stacks (and MTA-STS, RFC 8461 §4.2) refuse it.
  if (leaf !== undefined && nameMatches && opts.identity === 'pkix' && ipFamily(hostOf(opts.servername)) === 0) {
    if (dnsNamesOf(leaf).length === 0) {
      findings.push(
        finding(
          'CERT_NAME_CN_ONLY',
          `certificate "${infos[0]?.subject ?? ''}" names ${opts.servername} only in its subject CN, with no DNS name in its subject alternative names`,
        ),
      );
    }
  }

  const earliest = earliestOf(infos);
  const expiring = expiringFinding(earliest, nowMs, opts.thresholds);
  if (expiring !== undefined) findings.push(expiring);
  findings.push(...strengthFindings(chain, infos));

  const verified = verdict.trusted && dates.length === 0 && nameMatches;
  const ephemeral = socket.getEphemeralKeyInfo();
  const session: TlsSessionInfo = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    ...(ephemeral !== null && ephemeral !== undefined && 'type' in ephemeral && ephemeral.type !== undefined
      ? { ephemeralKey: ephemeral }
      : {}),
    verified,
    servername: opts.servername,
    ...(infos[0] !== undefined ? { certificate: infos[0] } : {}),
    chain: infos,
    ...(earliest !== undefined
      ? {
          earliestExpiry: {
            subject: earliest.subject,
            notAfter: earliest.notAfter,
            daysToExpiry: earliest.daysToExpiry,
          },
        }
      : {}),
  };
  return { tls: session, findings, verified };
}
