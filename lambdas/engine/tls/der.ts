/**
 * Just enough DER to read a certificate's signature algorithm, which Node's X509Certificate
 * does not expose before Node 24. A full ASN.1 library (@peculiar/x509) would need a global
 * Reflect polyfill and add its weight to every Lambda bundle for one OID.
 *
 * RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm
 * AlgorithmIdentifier, signatureValue BIT STRING }; AlgorithmIdentifier ::= SEQUENCE {
 * algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }.
 */
import { MailprobeError } from '../errors.js';

export class DerError extends MailprobeError {
  override readonly name = 'DerError';
  constructor(message: string) {
    super(message);
  }
}

interface Tlv {
  readonly tag: number;
  /** Offset of the contents. */
  readonly start: number;
  /** Offset just past the contents. */
  readonly end: number;
}

/** Reads one tag-length-value at `offset`, refusing anything that runs past `limit`. */
function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated TLV at ${offset}`);
  const tag = der[offset] as number;
  // High-tag-number form never occurs in the structures read here (X.690 §8.1.2.4).
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported tag form at ${offset}`);
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // DER forbids the indefinite form (0x80) and 4 bytes already cover any certificate.
    if (count === 0 || count > 4 || start + count > limit) throw new DerError(`bad length at ${offset}`);
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + (der[start + i] as number);
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new DerError(`length past the end at ${offset}`);
  return { tag, start, end };
}

/** Dotted form of an OBJECT IDENTIFIER's contents (X.690 §8.19). */
export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i] as number;
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  if ((bytes[bytes.length - 1] as number) & 0x80) throw new DerError('truncated OID');
  return arcs.join('.');
}

/** The OID of the outer signatureAlgorithm of a DER certificate. */
export function signatureAlgorithmOid(der: Uint8Array): string {
  const certificate = readTlv(der, 0, der.length);
  if (certificate.tag !== 0x30) throw new DerError('certificate is not a SEQUENCE');
  const tbs = readTlv(der, certificate.start, certificate.end);
  const algorithm = readTlv(der, tbs.end, certificate.end);
  if (algorithm.tag !== 0x30) throw new DerError('signatureAlgorithm is not a SEQUENCE');
  const oid = readTlv(der, algorithm.start, algorithm.end);
  if (oid.tag !== 0x06) throw new DerError('signatureAlgorithm has no OID');
  return decodeOid(der.subarray(oid.start, oid.end));
}

/** OpenSSL's names for the signature algorithms found on certificates (RFC 3279, 4055, 5758, 8410). */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
  '1.3.101.112': 'ED25519',
  '1.3.101.113': 'ED448',
};

/** OpenSSL's name for a signature algorithm OID, or the dotted OID when unknown. */
export function signatureAlgorithmName(oid: string): string {
  return SIGNATURE_ALGORITHMS[oid] ?? oid;
}

/** SHA-1, MD5 and MD2 signatures: collisions are practical, so clients reject them. */
export function isWeakSignatureAlgorithm(name: string): boolean {
  return /^(md2|md5|sha1)WithRSAEncryption$|^ecdsa-with-SHA1$|^dsa-with-SHA1$/.test(name);
}
