/**
 * Chain hygiene: what is wrong with the certificate list a server sends even when
 * clients manage to build a path from it (the ESA and SEG troubleshooting guides' usual
 * suspects after a renewal). Works on the list exactly as sent (tls/wire.ts), which
 * Node's own view hides: it reorders, drops duplicates and unused certificates.
 *
 * Severities: a duplicate or a wrong order breaks some clients (older or strict stacks
 * that take the list as a path: RFC 5246 §7.4.2 requires each certificate to certify the
 * one before it), so they are warnings; a root sent along or an unused leftover costs
 * bytes in every handshake but breaks nobody (RFC 8446 §4.4.2 lets clients ignore them),
 * so CERT_CHAIN_EXTRA is info.
 */
import type { X509Certificate } from 'node:crypto';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';
import { displayName, isSelfSigned, oneLineName } from './certificate.js';
import type { AnchorIndex } from './trust.js';

export interface ChainHygiene {
  readonly findings: Finding[];
  /**
   * When the server sends CA certificates but none issued its leaf (a stale intermediate
   * left from the previous certificate): a sentence naming what was sent and which issuer
   * the leaf expects, for the CERT_CHAIN_INCOMPLETE / CERT_UNTRUSTED finding.
   */
  readonly staleIntermediate?: string;
}

function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.issuer === issuer.subject && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export function chainHygiene(sent: readonly X509Certificate[], anchors?: AnchorIndex): ChainHygiene {
  const findings: Finding[] = [];
  const leaf = sent[0];
  if (leaf === undefined) return { findings };

  // Duplicates, by fingerprint; the rest of the analysis uses each certificate once.
  const unique: X509Certificate[] = [];
  const counts = new Map<string, number>();
  for (const cert of sent) {
    const n = counts.get(cert.fingerprint256) ?? 0;
    counts.set(cert.fingerprint256, n + 1);
    if (n === 0) unique.push(cert);
  }
  const duplicated = unique.filter((c) => (counts.get(c.fingerprint256) ?? 0) > 1);
  if (duplicated.length > 0) {
    findings.push(
      finding(
        'CERT_CHAIN_DUPLICATE',
        `the server sends ${duplicated.map((c) => `"${displayName(c)}" ${counts.get(c.fingerprint256)} times`).join(', ')}`,
      ),
    );
  }

  // The path from the leaf through what was sent, wherever each issuer sits in the list.
  const path: number[] = [0];
  for (let current = leaf; !isSelfSigned(current);) {
    const next = unique.findIndex((cand, i) => !path.includes(i) && issued(current, cand));
    if (next < 0) break;
    path.push(next);
    current = unique[next] as X509Certificate;
  }
  if (path.some((at, i) => at !== i)) {
    const expected = path.map((i) => `"${displayName(unique[i] as X509Certificate)}"`).join(' → ');
    findings.push(
      finding(
        'CERT_CHAIN_ORDER',
        `the server sends its chain out of order (as sent: ${unique.map((c) => `"${displayName(c)}"`).join(', ')}); clients expect ${expected}`,
      ),
    );
  }

  const onPath = new Set(path);
  const root = path.map((i) => unique[i] as X509Certificate).find((c, i) => i > 0 && isSelfSigned(c));
  const leftovers = unique.filter((_, i) => !onPath.has(i));
  const caLeftovers = leftovers.filter((c) => c.ca);
  const leafIssuerSent = path.length > 1;
  const leafIssuerInStore = anchors?.issuerOf(leaf) !== undefined;
  const extras: string[] = [];
  if (root !== undefined) extras.push(`the root "${displayName(root)}" (clients use their own copy)`);
  if (leftovers.length > 0 && (leafIssuerSent || leafIssuerInStore)) {
    extras.push(`certificates on no path from the leaf: ${leftovers.map((c) => `"${displayName(c)}"`).join(', ')}`);
  }
  if (extras.length > 0) findings.push(finding('CERT_CHAIN_EXTRA', `the server sends ${extras.join('; and ')}`));

  if (!leafIssuerSent && !leafIssuerInStore && caLeftovers.length > 0) {
    return {
      findings,
      staleIntermediate: `the server sends intermediate ${caLeftovers.map((c) => `"${displayName(c)}"`).join(', ')}, which did not issue certificate "${displayName(leaf)}"; its issuer is "${oneLineName(leaf.issuer)}" (a stale intermediate left from a previous certificate?)`,
    };
  }
  return { findings };
}
