/**
 * The trust anchors a probe verifies against: Node's bundled roots, the file named by
 * NODE_EXTRA_CA_CERTS and the run's --ca-file certificates (ProbeContext.extraCa).
 *
 * Node reads NODE_EXTRA_CA_CERTS only into its default store, which it drops as soon as
 * a connection passes its own `ca`; so the file is read here and added back, or a user's
 * documented trust-store import would silently stop working for the probe.
 */
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

const anchorSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** The body of a PEM certificate: its DER in base64, whatever the line wrapping. */
export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * The anchors as a set of base64 DER, to recognise a trust anchor in a peer chain without
 * parsing ~140 certificates. Cached per extraCa list (one per run).
 */
export function anchorSet(extraCa: readonly string[], env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> {
  let set = anchorSets.get(extraCa);
  if (set === undefined) {
    set = new Set(
      trustAnchors(extraCa, env)
        .flatMap((pem) => splitPem(pem))
        .map(pemBody),
    );
    anchorSets.set(extraCa, set);
  }
  return set;
}
