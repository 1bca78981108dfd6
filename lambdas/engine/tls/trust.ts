/**
 * The trust anchors a probe verifies against: Node's bundled roots, the file named by
 * NODE_EXTRA_CA_CERTS and the run's --ca-file certificates (ProbeContext.extraCa).
 *
 * Node reads NODE_EXTRA_CA_CERTS only into its default store, which it drops as soon as
 * a connection passes its own `ca`; so the file is read here and added back, or a user's
 * documented trust-store import would silently stop working for the probe.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

const extraFileCache = new Map<string, readonly string[]>();

/** PEM certificates of the NODE_EXTRA_CA_CERTS file; empty when unset or unreadable (Node warns at startup). */
export function extraCaFromEnvironment(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const path = env['NODE_EXTRA_CA_CERTS'];
  if (path === undefined || path === '') return [];
  let cached = extraFileCache.get(path);
  if (cached === undefined) {
    try {
      cached = splitPem(readFileSync(path, 'utf8'));
    } catch {
      cached = [];
    }
    extraFileCache.set(path, cached);
  }
  return cached;
}

/** The certificates of a PEM bundle, one string each. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** All trust anchors for one run, as the `ca` option of a TLS connection. */
export function trustAnchors(extraCa: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  return [...rootCertificates, ...extraCaFromEnvironment(env), ...extraCa];
}

/** The trust anchors, parsed and indexed to build certification paths the way OpenSSL does. */
export interface AnchorIndex {
  /** Is this exact certificate a trust anchor? */
  has(cert: X509Certificate): boolean;
  /** A trust anchor that issued `cert` (issuer name matches, signature verifies), if any. */
  issuerOf(cert: X509Certificate): X509Certificate | undefined;
}

const indexes = new WeakMap<readonly string[], AnchorIndex>();

/** The anchors of one run, parsed once (~140 certificates, a few ms) and cached per extraCa list. */
export function anchorIndex(extraCa: readonly string[], env: NodeJS.ProcessEnv = process.env): AnchorIndex {
  let index = indexes.get(extraCa);
  if (index !== undefined) return index;
  const bySubject = new Map<string, X509Certificate[]>();
  const fingerprints = new Set<string>();
  for (const pem of trustAnchors(extraCa, env).flatMap(splitPem)) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      continue; // Node's own store loading skips what it cannot parse too.
    }
    fingerprints.add(cert.fingerprint256);
    // An anchor with an empty subject (undefined in Node) can issue nothing by name.
    if (cert.subject === undefined) continue;
    bySubject.set(cert.subject, [...(bySubject.get(cert.subject) ?? []), cert]);
  }
  index = {
    has: (cert) => fingerprints.has(cert.fingerprint256),
    issuerOf: (cert) =>
      cert.issuer === undefined
        ? undefined
        : bySubject.get(cert.issuer)?.find((anchor) => cert.verify(anchor.publicKey)),
  };
  indexes.set(extraCa, index);
  return index;
}
