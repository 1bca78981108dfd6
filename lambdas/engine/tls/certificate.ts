/**
 * One X.509 certificate turned into the facts a person acts on (CertificateInfo): who it
 * is for, who issued it, when it expires, how strong its key and signature are.
 */
import type { X509Certificate } from 'node:crypto';
import type { CertificateInfo } from '../result.js';
import { signatureAlgorithmName, signatureAlgorithmOid } from './der.js';

export const DAY_MS = 86_400_000;

/**
 * Node's multi-line distinguished name (`CN=a\nO=b`) on one line, as people write it.
 * RFC 5280 §4.1.2.6 allows an empty subject (the identity is then in a critical SAN), for
 * which Node's `subject` is undefined: that reads as the empty string, never a crash.
 */
export function oneLineName(name: string | undefined): string {
  return (name ?? '')
    .split('\n')
    .filter((part) => part.length > 0)
    .join(', ');
}

/** How a certificate is named in a message: its subject, or its SANs when the subject is empty. */
export function displayName(cert: X509Certificate): string {
  const subject = oneLineName(cert.subject);
  if (subject !== '') return subject;
  const names = formatAltNames(cert);
  return names.length > 0 ? `(empty subject) ${names.join(', ')}` : '(empty subject)';
}

/**
 * Splits Node's `subjectAltName` string (`DNS:a, IP Address:1.2.3.4`). Since Node 17 a
 * value containing a comma or quote is written as a JSON string (`DNS:"a,b"`), which is
 * why this is a small scanner and not split(', ').
 */
export function parseSubjectAltName(text: string | undefined): { type: string; value: string }[] {
  const entries: { type: string; value: string }[] = [];
  if (text === undefined) return entries;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        value = text.slice(colon + 2, end);
      }
      const comma = text.indexOf(', ', end);
      next = comma < 0 ? text.length : comma + 2;
    } else {
      const comma = text.indexOf(', ', colon);
      value = text.slice(colon + 1, comma < 0 ? text.length : comma);
      next = comma < 0 ? text.length : comma + 2;
    }
    entries.push({ type, value });
    i = next;
  }
  return entries;
}

/** The dNSName entries of the subject alternative names (RFC 5280 §4.2.1.6). */
export function dnsNamesOf(cert: X509Certificate): string[] {
  return parseSubjectAltName(cert.subjectAltName)
    .filter((entry) => entry.type === 'DNS')
    .map((entry) => entry.value);
}

/** Short labels for the SAN types, e.g. `DNS:mx.example.com`, `IP:192.0.2.1`. */
function formatAltNames(cert: X509Certificate): string[] {
  const labels: Record<string, string> = { 'IP Address': 'IP', email: 'email', URI: 'URI', DNS: 'DNS' };
  return parseSubjectAltName(cert.subjectAltName).map((e) => `${labels[e.type] ?? e.type}:${e.value}`);
}

const KEY_TYPES: Readonly<Record<string, string>> = {
  rsa: 'RSA',
  'rsa-pss': 'RSA-PSS',
  dsa: 'DSA',
  ec: 'EC',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
};

const CURVE_BITS: Readonly<Record<string, number>> = {
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  secp224k1: 224,
  secp192k1: 192,
  prime192v1: 192,
  prime192v2: 192,
  prime192v3: 192,
  prime239v1: 239,
  prime239v2: 239,
  prime239v3: 239,
  secp160r1: 160,
  secp160r2: 160,
  secp160k1: 160,
  brainpoolP160r1: 160,
  brainpoolP192r1: 192,
  brainpoolP224r1: 224,
  brainpoolP256r1: 256,
  brainpoolP320r1: 320,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};

export function keyOf(cert: X509Certificate): { keyType: string; keyBits?: number } {
  const key = cert.publicKey;
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  const keyType = KEY_TYPES[type] ?? type;
  if (details.modulusLength !== undefined) return { keyType, keyBits: details.modulusLength };
  if (details.namedCurve !== undefined && CURVE_BITS[details.namedCurve] !== undefined) {
    return { keyType, keyBits: CURVE_BITS[details.namedCurve] };
  }
  if (type === 'ed25519') return { keyType, keyBits: 256 };
  if (type === 'ed448') return { keyType, keyBits: 456 };
  return { keyType };
}

export function signatureAlgorithmOf(cert: X509Certificate): string {
  try {
    return signatureAlgorithmName(signatureAlgorithmOid(cert.raw));
  } catch {
    // Node parsed this certificate already, so this is unreachable for real input.
    return 'unknown';
  }
}

/**
 * Self-signed: its issuer is its subject and its signature verifies with its own key (a
 * root, or a homemade server certificate). Not X509Certificate.checkIssued, which also
 * demands keyCertSign in keyUsage and so misses self-signed server certificates.
 */
export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.subject !== undefined && cert.subject === cert.issuer && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

export function notAfterMs(cert: X509Certificate): number {
  return Date.parse(cert.validTo);
}

export function notBeforeMs(cert: X509Certificate): number {
  return Date.parse(cert.validFrom);
}

/** Whole days left, rounded down (so "0" means it expires within 24 hours); negative once expired. */
export function daysUntil(whenMs: number, nowMs: number): number {
  return Math.floor((whenMs - nowMs) / DAY_MS);
}

export function describeCertificate(cert: X509Certificate, nowMs: number): CertificateInfo {
  const notAfter = notAfterMs(cert);
  return {
    subject: oneLineName(cert.subject),
    issuer: oneLineName(cert.issuer),
    subjectAltNames: formatAltNames(cert),
    serialNumber: cert.serialNumber,
    notBefore: new Date(notBeforeMs(cert)).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    daysToExpiry: daysUntil(notAfter, nowMs),
    ...keyOf(cert),
    signatureAlgorithm: signatureAlgorithmOf(cert),
    fingerprintSha256: cert.fingerprint256,
    selfIssued: isSelfSigned(cert),
  };
}
