/**
 * The trust anchors a probe verifies against: Node's bundled roots, the file named by
 * NODE_EXTRA_CA_CERTS and the run's --ca-file certificates (ProbeContext.extraCa).
 *
 * Node reads NODE_EXTRA_CA_CERTS only into its default store, which it drops as soon as
 * a connection passes its own `ca`; so the file is read here and added back, or a user's
 * documented trust-store import would silently stop working for the probe.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls, { rootCertificates } from 'node:tls';
import { issuerAndSubjectDer } from './der.js';

const extraFileCache = new Map<string, readonly string[]>();

/**
 * PEM certificates of the NODE_EXTRA_CA_CERTS file that Node's bundled roots do not already
 * hold; empty when unset or unreadable (Node warns at startup). Machines often point it at
 * the whole system bundle, which repeats nearly every bundled root: adding those again
 * cost ~30 ms per secure context for nothing (bench/cli-speed.ts).
 */
export function extraCaFromEnvironment(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const path = env['NODE_EXTRA_CA_CERTS'];
  if (path === undefined || path === '') return [];
  let cached = extraFileCache.get(path);
  if (cached === undefined) {
    try {
      const bundled = new Set(rootCertificates.map(pemBody));
      cached = splitPem(readFileSync(path, 'utf8')).filter((pem) => !bundled.has(pemBody(pem)));
    } catch {
      cached = [];
    }
    extraFileCache.set(path, cached);
  }
  return cached;
}

/** The base64 of a PEM certificate without armour or line breaks: equal for equal certificates. */
function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
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

interface Anchor {
  readonly pem: string;
  parsed?: X509Certificate | null;
}

function parsedAnchor(anchor: Anchor): X509Certificate | undefined {
  if (anchor.parsed === undefined) {
    try {
      anchor.parsed = new X509Certificate(anchor.pem);
    } catch {
      anchor.parsed = null; // Node's own store loading skips what it cannot parse too.
    }
  }
  return anchor.parsed ?? undefined;
}

function derOfPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''), 'base64');
}

/**
 * The anchors of one run, cached per extraCa list and built only when a chain is judged.
 * Parsing all ~140 roots into X509Certificates costs ~70 ms of a one-shot CLI run; instead
 * each anchor is keyed by the SHA-256 of its DER and the DER of its subject Name (a few
 * base64 decodes), and only the anchors whose subject matches an issuer are parsed.
 * Matching names by their DER bytes is stricter than OpenSSL's canonical comparison; where
 * an encoding differs, the anchor OpenSSL found is still recognised: Node appends it to
 * the peer chain (getPeerCertificate(true)), and `has` matches it by fingerprint.
 */
export function anchorIndex(extraCa: readonly string[], env: NodeJS.ProcessEnv = process.env): AnchorIndex {
  let index = indexes.get(extraCa);
  if (index !== undefined) return index;
  let built: { fingerprints: Set<string>; bySubjectDer: Map<string, Anchor[]> } | undefined;
  const build = () => {
    if (built !== undefined) return built;
    const fingerprints = new Set<string>();
    const bySubjectDer = new Map<string, Anchor[]>();
    for (const pem of trustAnchors(extraCa, env).flatMap(splitPem)) {
      const anchor: Anchor = { pem };
      try {
        const der = derOfPem(pem);
        fingerprints.add(fingerprintOf(der));
        const subject = issuerAndSubjectDer(der).subject;
        // An anchor with an empty subject can issue nothing by name.
        if (subject.length === 0) continue;
        const key = Buffer.from(subject).toString('hex');
        bySubjectDer.set(key, [...(bySubjectDer.get(key) ?? []), anchor]);
      } catch {
        continue; // Not a certificate we can read; OpenSSL's own store loading skips it too.
      }
    }
    return (built = { fingerprints, bySubjectDer });
  };
  const issuedBy = (cert: X509Certificate, anchor: Anchor) => {
    const parsed = parsedAnchor(anchor);
    return parsed !== undefined &&
      parsed.subject !== undefined &&
      cert.issuer === parsed.subject &&
      cert.verify(parsed.publicKey)
      ? parsed
      : undefined;
  };
  index = {
    has: (cert) => build().fingerprints.has(cert.fingerprint256),
    issuerOf: (cert) => {
      const { bySubjectDer } = build();
      let issuerKey: string | undefined;
      try {
        issuerKey = Buffer.from(issuerAndSubjectDer(cert.raw).issuer).toString('hex');
      } catch {
        issuerKey = undefined;
      }
      for (const anchor of (issuerKey !== undefined ? bySubjectDer.get(issuerKey) : undefined) ?? []) {
        const found = issuedBy(cert, anchor);
        if (found !== undefined) return found;
      }
      return undefined;
    },
  };
  indexes.set(extraCa, index);
  return index;
}

/** The colon-separated upper-case hex SHA-256 that X509Certificate.fingerprint256 gives. */
function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)?.join(':') ?? '';
}

/** Secure context options other than the trust anchors, which secureContextWithAnchors supplies. */
type ContextOptions = Omit<tls.SecureContextOptions, 'ca'>;

interface NativeContext {
  addCACert?: (pem: string) => void;
}

/**
 * A secure context that trusts the bundled roots, NODE_EXTRA_CA_CERTS and `extraCa`.
 *
 * Passing them all as `ca` makes Node parse ~140 PEM roots in JavaScript per context
 * (50–130 ms each; a tls posture check builds several). Without `ca`, Node uses its native
 * root store, parsed once per process; the extra anchors are then added to the context's
 * own copy of that store. That copy holds the bundled roots but not NODE_EXTRA_CA_CERTS
 * (Node adds those to the shared store only), so they are added back here.
 */
export function secureContextWithAnchors(
  options: ContextOptions,
  extraCa: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): tls.SecureContext {
  const extra = [...extraCaFromEnvironment(env), ...extraCa];
  if (extra.length === 0) return tls.createSecureContext(options);
  const context = tls.createSecureContext(options);
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.addCACert !== 'function') {
    // A Node without the native method: the slower documented way.
    return tls.createSecureContext({ ...options, ca: trustAnchors(extraCa, env) });
  }
  for (const pem of extra) native.addCACert(pem);
  return context;
}
