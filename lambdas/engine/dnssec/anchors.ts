/**
 * DNSSEC trust anchors: DS or DNSKEY records in zone-file presentation format, for any
 * zone (as a resolver's `trust-anchor` setting). Names under an anchor are validated from
 * it; names under no anchor are insecure. The default is the IANA root zone KSKs.
 */
import { normaliseName, type Name } from './wire.js';
import { MailprobeError } from '../errors.js';

export type TrustAnchor =
  | {
      readonly kind: 'DS';
      readonly zone: Name;
      readonly keyTag: number;
      readonly algorithm: number;
      readonly digestType: number;
      readonly digest: Buffer;
    }
  | {
      readonly kind: 'DNSKEY';
      readonly zone: Name;
      readonly flags: number;
      readonly protocol: number;
      readonly algorithm: number;
      readonly publicKey: Buffer;
    };

export class TrustAnchorError extends MailprobeError {
  override readonly name = 'TrustAnchorError';
}

/**
 * The root zone's KSKs as IANA publishes them (data.iana.org/root-anchors/root-anchors.xml):
 * KSK-2017 (20326) and KSK-2024 (38696), both RSASHA256 with SHA-256 digests.
 */
export const IANA_ROOT_ANCHORS_TEXT = `
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
`;

/** Largest anchor file accepted: a handful of keys is a few kilobytes. */
export const MAX_ANCHOR_FILE_BYTES = 256 * 1024;

const CLASSES = new Set(['IN']);

/**
 * Parses DS and DNSKEY records; `;` comments and `( … )` continuation lines as in zone
 * files. Every other record type, and every malformed line, is an error naming the line.
 */
export function parseTrustAnchors(text: string): TrustAnchor[] {
  if (Buffer.byteLength(text) > MAX_ANCHOR_FILE_BYTES) {
    throw new TrustAnchorError(`trust anchor file larger than ${MAX_ANCHOR_FILE_BYTES} bytes`);
  }
  const anchors: TrustAnchor[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const startLine = i + 1;
    let line = (lines[i] ?? '').replace(/;.*/, '');
    // Parentheses join lines (RFC 1035 §5.1).
    while (line.includes('(') && !line.includes(')') && i + 1 < lines.length) {
      i += 1;
      line += ` ${(lines[i] ?? '').replace(/;.*/, '')}`;
    }
    const tokens = line
      .replace(/[()]/g, ' ')
      .trim()
      .split(/\s+/)
      .filter((t) => t !== '');
    if (tokens.length === 0) continue;
    if (tokens[0]?.startsWith('$')) continue;
    const fail = (why: string): never => {
      throw new TrustAnchorError(`line ${startLine}: ${why}`);
    };
    const owner = tokens.shift() as string;
    if (!owner.endsWith('.')) fail(`owner "${owner}" must be fully qualified (end with ".")`);
    // Optional TTL and class, in either order.
    for (let k = 0; k < 2; k += 1) {
      if (/^\d+$/.test(tokens[0] ?? '')) tokens.shift();
      else if (CLASSES.has((tokens[0] ?? '').toUpperCase())) tokens.shift();
    }
    const type = (tokens.shift() ?? '').toUpperCase();
    const zone = normaliseName(owner);
    const int = (value: string | undefined, what: string, max: number): number => {
      if (value === undefined || !/^\d+$/.test(value) || Number(value) > max) fail(`bad ${what} "${value ?? ''}"`);
      return Number(value);
    };
    if (type === 'DS') {
      const keyTag = int(tokens[0], 'key tag', 65535);
      const algorithm = int(tokens[1], 'algorithm', 255);
      const digestType = int(tokens[2], 'digest type', 255);
      const hex = tokens.slice(3).join('');
      if (!/^([0-9a-fA-F]{2})+$/.test(hex)) fail('DS digest must be hexadecimal');
      anchors.push({ kind: 'DS', zone, keyTag, algorithm, digestType, digest: Buffer.from(hex, 'hex') });
    } else if (type === 'DNSKEY') {
      const flags = int(tokens[0], 'flags', 65535);
      const protocol = int(tokens[1], 'protocol', 255);
      const algorithm = int(tokens[2], 'algorithm', 255);
      const b64 = tokens.slice(3).join('');
      if (b64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) fail('DNSKEY public key must be base64');
      if (protocol !== 3) fail('DNSKEY protocol must be 3');
      anchors.push({ kind: 'DNSKEY', zone, flags, protocol, algorithm, publicKey: Buffer.from(b64, 'base64') });
    } else {
      fail(`expected a DS or DNSKEY record, got "${type || '(nothing)'}"`);
    }
  }
  if (anchors.length === 0) throw new TrustAnchorError('no DS or DNSKEY record found');
  return anchors;
}

export const IANA_ROOT_ANCHORS: readonly TrustAnchor[] = parseTrustAnchors(IANA_ROOT_ANCHORS_TEXT);

/** The anchor zone closest to `name` (the longest zone name that encloses it), if any. */
export function closestAnchorZone(name: Name, anchors: readonly TrustAnchor[]): Name | undefined {
  let best: Name | undefined;
  for (const a of anchors) {
    const enclosing = a.zone === '' || name === a.zone || name.endsWith(`.${a.zone}`);
    if (enclosing && (best === undefined || a.zone.length > best.length)) best = a.zone;
  }
  return best;
}
