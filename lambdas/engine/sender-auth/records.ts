/**
 * DMARC (RFC 7489 §6.3) and DKIM key (RFC 6376 §3.6.1) records, pure: tag-value parsing,
 * policy validation, key size. The DNS part is in check.ts.
 */
import { createHash, createPublicKey } from 'node:crypto';

/** `tag=value; tag=value` (RFC 6376 §3.2, shared by DMARC §6.4); undefined on a syntax error. */
export function parseTags(text: string): Map<string, string> | undefined {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (trimmed.length === 0) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) return undefined;
    const name = trimmed.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z][a-z0-9_]*$/.test(name) || tags.has(name)) return undefined;
    tags.set(name, trimmed.slice(eq + 1).trim());
  }
  return tags;
}

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface DmarcRecord {
  readonly p: DmarcPolicy;
  readonly sp?: DmarcPolicy;
  readonly pct: number;
  readonly adkim: 'r' | 's';
  readonly aspf: 'r' | 's';
  readonly rua: readonly string[];
  readonly ruf: readonly string[];
}

const POLICIES: ReadonlySet<string> = new Set(['none', 'quarantine', 'reject']);

export function isDmarcRecord(txt: string): boolean {
  return /^v\s*=\s*DMARC1\s*(;|$)/i.test(txt);
}

/** A record, or why it is unusable (§6.6.3: receivers then apply no DMARC). */
export function parseDmarc(txt: string): DmarcRecord | { readonly error: string } {
  const tags = parseTags(txt);
  if (tags === undefined) return { error: 'tag syntax error' };
  if (tags.get('v') !== 'DMARC1') return { error: 'does not start with v=DMARC1' };
  const p = tags.get('p')?.toLowerCase();
  if (p === undefined || !POLICIES.has(p)) return { error: `p=${p ?? '(missing)'} is not none, quarantine or reject` };
  const sp = tags.get('sp')?.toLowerCase();
  if (sp !== undefined && !POLICIES.has(sp)) return { error: `sp=${sp} is not none, quarantine or reject` };
  const pctText = tags.get('pct') ?? '100';
  const pct = /^\d{1,3}$/.test(pctText) ? Number(pctText) : NaN;
  if (!(pct >= 0 && pct <= 100)) return { error: `pct=${pctText} is not 0–100` };
  const align = (name: string): 'r' | 's' | undefined => {
    const v = (tags.get(name) ?? 'r').toLowerCase();
    return v === 'r' || v === 's' ? v : undefined;
  };
  const adkim = align('adkim');
  const aspf = align('aspf');
  if (adkim === undefined || aspf === undefined) return { error: 'adkim/aspf must be r or s' };
  const uris = (name: string) =>
    (tags.get(name) ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u.length > 0)
      .slice(0, 16);
  return {
    p: p as DmarcPolicy,
    ...(sp !== undefined ? { sp: sp as DmarcPolicy } : {}),
    pct,
    adkim,
    aspf,
    rua: uris('rua'),
    ruf: uris('ruf'),
  };
}

/** The host of a `mailto:` report URI (§6.2, with an optional `!size` suffix), lower-case. */
export function reportHost(uri: string): string | undefined {
  const m = /^mailto:[^@]+@([^!?]+)/i.exec(uri);
  return m?.[1]?.toLowerCase().replace(/\.$/, '');
}

export interface DkimKey {
  readonly keyType: string;
  /** RSA modulus length; absent for Ed25519 (fixed strength). */
  readonly bits?: number;
  readonly revoked: boolean;
  readonly testing: boolean;
  /** SHA-256 of the decoded `p=` (the fact for rotation detection). */
  readonly fingerprint?: string;
}

/** A key record, or why it is unusable. */
export function parseDkimKey(txt: string): DkimKey | { readonly error: string } {
  const tags = parseTags(txt);
  if (tags === undefined) return { error: 'tag syntax error' };
  const v = tags.get('v');
  if (v !== undefined && v !== 'DKIM1') return { error: `v=${v} is not DKIM1` };
  const keyType = (tags.get('k') ?? 'rsa').toLowerCase();
  const testing = (tags.get('t') ?? '').split(':').some((f) => f.trim().toLowerCase() === 'y');
  const p = tags.get('p');
  if (p === undefined) return { error: 'no p= tag' };
  const b64 = p.replace(/\s+/g, '');
  if (b64.length === 0) return { keyType, revoked: true, testing };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return { error: 'p= is not base64' };
  const der = Buffer.from(b64, 'base64');
  const fingerprint = createHash('sha256').update(der).digest('hex');
  if (keyType === 'ed25519') {
    // RFC 8463 §4.2: the raw 32-byte public key, not SubjectPublicKeyInfo.
    return der.length === 32
      ? { keyType, revoked: false, testing, fingerprint }
      : { error: 'Ed25519 key is not 32 bytes' };
  }
  if (keyType !== 'rsa') return { error: `unknown key type k=${keyType}` };
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (key.asymmetricKeyType !== 'rsa' || bits === undefined) return { error: 'p= is not an RSA public key' };
    return { keyType, bits, revoked: false, testing, fingerprint };
  } catch {
    return { error: 'p= is not a valid public key' };
  }
}
