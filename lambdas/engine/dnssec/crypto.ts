/**
 * The cryptographic primitives of DNSSEC, all from Node's OpenSSL (`crypto.verify`,
 * `createHash`): nothing here implements an algorithm. What is ours is only the
 * translation of DNSKEY key formats into JWK and of DNSSEC signature formats into what
 * OpenSSL takes (RFC 3110, RFC 6605, RFC 8080), as the RFCs define them.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { nameToWire, type DnskeyRdata, type Name } from './wire.js';

/**
 * DNSSEC algorithms the probe validates (RFC 8624 §3.1 "MUST"/"RECOMMENDED" for
 * validation). Zones signed only with others count as insecure (RFC 4035 §5.2).
 */
export const SUPPORTED_ALGORITHMS: ReadonlyMap<number, { readonly name: string; readonly hash: string }> = new Map([
  [5, { name: 'RSASHA1', hash: 'sha1' }],
  [7, { name: 'RSASHA1-NSEC3-SHA1', hash: 'sha1' }],
  [8, { name: 'RSASHA256', hash: 'sha256' }],
  [10, { name: 'RSASHA512', hash: 'sha512' }],
  [13, { name: 'ECDSAP256SHA256', hash: 'sha256' }],
  [14, { name: 'ECDSAP384SHA384', hash: 'sha384' }],
  [15, { name: 'ED25519', hash: '' }],
  [16, { name: 'ED448', hash: '' }],
]);

/** DS digest types (RFC 4509, RFC 6605); SHA-1 (1) only when nothing stronger is offered. */
export const DS_DIGESTS: ReadonlyMap<number, string> = new Map([
  [1, 'sha1'],
  [2, 'sha256'],
  [4, 'sha384'],
]);

/** The key tag of a DNSKEY RDATA (RFC 4034 Appendix B). */
export function keyTag(rdata: Buffer): number {
  let acc = 0;
  for (let i = 0; i < rdata.length; i += 1) acc += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
  acc += (acc >> 16) & 0xffff;
  return acc & 0xffff;
}

/** The DS digest of a DNSKEY (RFC 4034 §5.1.4): digest(owner name | RDATA). */
export function dsDigest(owner: Name, dnskeyRdata: Buffer, digestType: number): Buffer | undefined {
  const hash = DS_DIGESTS.get(digestType);
  if (hash === undefined) return undefined;
  return createHash(hash).update(nameToWire(owner)).update(dnskeyRdata).digest();
}

const b64url = (b: Buffer): string => b.toString('base64url');

/** The DNSKEY's public key as a KeyObject, or undefined for an unsupported or malformed key. */
export function publicKeyOf(key: DnskeyRdata): KeyObject | undefined {
  const k = key.publicKey;
  try {
    switch (key.algorithm) {
      case 5:
      case 7:
      case 8:
      case 10: {
        // RFC 3110 §2: exponent length (1 octet, or 0 then 2 octets), exponent, modulus.
        if (k.length < 3) return undefined;
        let expLen = k[0] as number;
        let at = 1;
        if (expLen === 0) {
          expLen = k.readUInt16BE(1);
          at = 3;
        }
        const e = k.subarray(at, at + expLen);
        const n = k.subarray(at + expLen);
        if (e.length === 0 || n.length === 0) return undefined;
        return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
      }
      case 13:
      case 14: {
        // RFC 6605 §4: x | y, each the curve's size.
        const size = key.algorithm === 13 ? 32 : 48;
        if (k.length !== size * 2) return undefined;
        return createPublicKey({
          key: {
            kty: 'EC',
            crv: key.algorithm === 13 ? 'P-256' : 'P-384',
            x: b64url(k.subarray(0, size)),
            y: b64url(k.subarray(size)),
          },
          format: 'jwk',
        });
      }
      case 15:
      case 16: {
        // RFC 8080 §3: the raw public key.
        if (k.length !== (key.algorithm === 15 ? 32 : 57)) return undefined;
        return createPublicKey({
          key: { kty: 'OKP', crv: key.algorithm === 15 ? 'Ed25519' : 'Ed448', x: b64url(k) },
          format: 'jwk',
        });
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Verifies a DNSSEC signature over `data` with OpenSSL. False on any malformed input. */
export function verifySignature(algorithm: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const spec = SUPPORTED_ALGORITHMS.get(algorithm);
  if (spec === undefined) return false;
  try {
    if (algorithm === 13 || algorithm === 14) {
      // RFC 6605 §4: r | s, which OpenSSL calls IEEE P1363 encoding.
      return verify(spec.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return verify(spec.hash === '' ? null : spec.hash, data, key, signature);
  } catch {
    return false;
  }
}

/** RFC 5155 §5: IH(salt, x, k), iterated SHA-1 over the canonical wire name. */
export function nsec3Hash(name: Name, salt: Buffer, iterations: number): Buffer {
  let digest = createHash('sha1').update(nameToWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i += 1) digest = createHash('sha1').update(digest).update(salt).digest();
  return digest;
}

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** Base32 with the extended hex alphabet, no padding (RFC 4648 §7), as NSEC3 owner labels use it. */
export function base32hex(buf: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const octet of buf) {
    value = (value << 8) | octet;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31];
  return out;
}
