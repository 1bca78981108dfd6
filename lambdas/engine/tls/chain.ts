/**
 * Was the chain trusted? Node's TLS client accepts every verify error and keeps only the
 * LAST one OpenSSL met (its verify callback always continues), and OpenSSL checks dates
 * after it builds the chain: an expired certificate from an unknown CA reports
 * CERT_HAS_EXPIRED, hiding UNABLE_TO_GET_ISSUER_CERT_LOCALLY. So the verdict combines the
 * OpenSSL code with the chain itself: whether it reaches a trust anchor, and its shape.
 */
import type { X509Certificate } from 'node:crypto';
import type { Finding } from '../findings.js';
import { finding } from '../findings.js';
import { displayName, isSelfSigned, oneLineName } from './certificate.js';
import type { AnchorIndex } from './trust.js';

export type ChainVerdict =
  | { readonly trusted: true; readonly path: readonly X509Certificate[] }
  | { readonly trusted: false; readonly finding: Finding };

// OpenSSL verify codes (X509_V_ERR_*) as Node names them in authorizationError.
const DATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);
// Security-level codes cannot occur at @SECLEVEL=0; were they to, CERT_WEAK_* says it better.
const WEAKNESS_CODES = new Set(['EE_KEY_TOO_SMALL', 'CA_KEY_TOO_SMALL', 'CA_MD_TOO_WEAK']);
// Codes about a missing or untrusted issuer: the chain's shape tells which finding it is.
const SHAPE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * The certification path a client validates: the chain walked up from the leaf, ending at
 * the first certificate that is a trust anchor or is issued by one. OpenSSL prefers
 * anchors this way (X509_V_FLAG_TRUSTED_FIRST), so certificates the server sends beyond
 * that point, such as an expired cross-certificate to a retired root, are never used.
 * Undefined when the chain reaches no anchor.
 */
export function verifiedPath(chain: readonly X509Certificate[], anchors: AnchorIndex): X509Certificate[] | undefined {
  for (let i = 0; i < chain.length; i += 1) {
    const cert = chain[i] as X509Certificate;
    if (anchors.has(cert)) return chain.slice(0, i + 1);
    const anchor = anchors.issuerOf(cert);
    if (anchor !== undefined) return [...chain.slice(0, i + 1), anchor];
    const issuer = chain[i + 1];
    if (issuer === undefined || cert.issuer !== issuer.subject || !cert.verify(issuer.publicKey)) return undefined;
  }
  return undefined;
}

/** Names the trust problem of a chain that reaches no anchor, from its shape. */
function shapeFinding(chain: readonly X509Certificate[]): Finding {
  const leaf = chain[0] as X509Certificate;
  const top = chain[chain.length - 1] as X509Certificate;
  const leafName = `"${displayName(leaf)}"`;
  if (chain.length === 1 && isSelfSigned(leaf)) {
    return finding('CERT_SELF_SIGNED', `certificate ${leafName} is self-signed and not in the trust store`);
  }
  if (isSelfSigned(top)) {
    return finding(
      'CERT_UNTRUSTED',
      `certificate ${leafName} chains to root "${displayName(top)}", which is not in the trust store`,
    );
  }
  // Only end-entity certificates and no issuer in the store: almost always a server that
  // omits its intermediate (public CAs never issue from the root itself).
  if (!top.ca) {
    return finding(
      'CERT_CHAIN_INCOMPLETE',
      `the server sent certificate ${leafName} without its issuer "${oneLineName(top.issuer)}", which is not in the trust store either (missing intermediate, or an unknown CA)`,
    );
  }
  return finding(
    'CERT_UNTRUSTED',
    `certificate ${leafName} chains up to "${oneLineName(top.issuer)}", which is not in the trust store`,
  );
}

/**
 * The chain's verdict and, when trusted, the path to judge dates and strength on.
 * @param code  the OpenSSL verify code, undefined when Node reported the chain authorized
 * @param anchors  the run's trust anchors; without them a date error is taken to mean
 *   the chain itself was fine (which misses "untrusted and expired") and the whole chain
 *   is judged (which reports unused cross-certificates)
 */
export function classifyChain(
  code: string | undefined,
  chain: readonly X509Certificate[],
  anchors?: AnchorIndex,
): ChainVerdict {
  const path = anchors !== undefined ? verifiedPath(chain, anchors) : undefined;
  if (code === undefined) return { trusted: true, path: path ?? chain };
  if (chain.length === 0) {
    return { trusted: false, finding: finding('CERT_UNTRUSTED', 'the server sent no certificate') };
  }
  const benign = DATE_CODES.has(code) || WEAKNESS_CODES.has(code);
  if (benign && (anchors === undefined || path !== undefined)) return { trusted: true, path: path ?? chain };
  if (SHAPE_CODES.has(code) || benign) return { trusted: false, finding: shapeFinding(chain) };
  const leafName = displayName(chain[0] as X509Certificate);
  return {
    trusted: false,
    finding: finding('CERT_UNTRUSTED', `certificate "${leafName}" failed verification (OpenSSL ${code})`),
  };
}
