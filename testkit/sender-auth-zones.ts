/**
 * The sender-auth scenarios as DNS zones, shared by the engine tests, the Mail::SPF
 * comparison and the CLI/handler state tests. Keys are generated per process.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Zone } from './dns-server.js';

function rsaKey(bits: number): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** A TXT value as DNS carries it: character-strings of at most 255 bytes. */
export function split255(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 255) out.push(text.slice(i, i + 255));
  return out;
}

export const KEYS = {
  rsa2048: rsaKey(2048),
  rsa2048b: rsaKey(2048),
  rsa1024: rsaKey(1024),
  rsa512: rsaKey(512),
  ed25519: generateKeyPairSync('ed25519')
    .publicKey.export({ type: 'spki', format: 'der' })
    .subarray(-32)
    .toString('base64'),
};

const A = { A: ['192.0.2.10'] };

/**
 * An include tree over 4 levels: root (2 terms) → a (3) → c (3) → d (2), and b (1) makes the
 * 11th term. With `ten`, d has one term: exactly 10, which receivers accept.
 */
export function lookupTree(base: string, ten = false): Zone {
  const n = (label: string) => `${label}.${base}`;
  return {
    [base]: { TXT: [`v=spf1 include:${n('a')} include:${n('b')} -all`], MX: [{ priority: 10, exchange: n('mx') }] },
    [n('a')]: { TXT: [`v=spf1 a:${n('h1')} mx:${base} include:${n('c')} -all`] },
    [n('c')]: { TXT: [`v=spf1 a:${n('h2')} a:${n('h3')} include:${n('d')} -all`] },
    [n('d')]: { TXT: [ten ? `v=spf1 a:${n('h4')} -all` : `v=spf1 a:${n('h4')} exists:%{i}.${n('h5')} -all`] },
    [n('b')]: { TXT: [`v=spf1 a:${n('h6')} -all`] },
    [n('mx')]: A,
    ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [n(`h${i}`), A])),
  };
}

export function scenarioZone(): Zone {
  const deep: Zone = {};
  for (let i = 0; i < 50; i++) deep[`l${i}.deep.example`] = { TXT: [`v=spf1 include:l${i + 1}.deep.example -all`] };
  deep['l50.deep.example'] = { TXT: ['v=spf1 -all'] };
  return {
    ...lookupTree('eleven.example'),
    ...lookupTree('ten.example', true),
    ...deep,
    // A well-kept domain: one include, DMARC reject with reports at home, a 2048-bit key and an Ed25519 one.
    'good.example': {
      TXT: ['v=spf1 include:_spf.good.example -all', 'google-site-verification=abc'],
      MX: [{ priority: 10, exchange: 'mx.good.example' }],
    },
    '_spf.good.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all'] },
    'mx.good.example': A,
    '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@good.example; adkim=s'] },
    's1._domainkey.good.example': { TXT: [split255(`v=DKIM1; k=rsa; p=${KEYS.rsa2048}`)] },
    // An SES Easy DKIM selector: a CNAME to the key SES publishes.
    'sestoken1._domainkey.good.example': { CNAME: 'sestoken1.dkim.amazonses.example' },
    'sestoken1.dkim.amazonses.example': { TXT: [split255(`p=${KEYS.rsa2048}`)] },
    'ed._domainkey.good.example': { TXT: [`v=DKIM1; k=ed25519; p=${KEYS.ed25519}`] },
    // Everything wrong at once.
    'bad.example': { TXT: ['v=spf1 ip4:192.0.2.1 ptr ?all'], MX: [{ priority: 10, exchange: 'mx.good.example' }] },
    '_dmarc.bad.example': {
      TXT: ['v=DMARC1; p=none; rua=mailto:reports@elsewhere.example,mailto:r@authorized.example'],
    },
    'bad.example._report._dmarc.authorized.example': { TXT: ['v=DMARC1'] },
    'revoked._domainkey.bad.example': { TXT: ['v=DKIM1; k=rsa; p='] },
    'weak._domainkey.bad.example': { TXT: [`v=DKIM1; k=rsa; p=${KEYS.rsa1024}`] },
    'tiny._domainkey.bad.example': { TXT: [`v=DKIM1; k=rsa; p=${KEYS.rsa512}`] },
    'test._domainkey.bad.example': { TXT: [split255(`v=DKIM1; t=y; k=rsa; p=${KEYS.rsa2048}`)] },
    'garbage._domainkey.bad.example': { TXT: ['v=DKIM1; k=rsa; p=bm90IGEga2V5'] },
    // Two SPF records: permerror (RFC 7208 §4.5).
    'two.example': {
      TXT: ['v=spf1 -all', 'v=spf1 include:_spf.good.example -all'],
      MX: [{ priority: 10, exchange: 'mx.good.example' }],
    },
    '_dmarc.two.example': { TXT: ['v=DMARC1; p=quarantine; pct=50'] },
    // An include loop.
    'loop.example': { TXT: ['v=spf1 include:loop2.example -all'], A: ['192.0.2.1'] },
    'loop2.example': { TXT: ['v=spf1 include:loop.example -all'] },
    // A void-lookup storm: every a: name is NXDOMAIN.
    'void.example': {
      TXT: ['v=spf1 a:v1.void.example a:v2.void.example a:v3.void.example a:v4.void.example -all'],
      A: ['192.0.2.1'],
    },
    // Include of a name without SPF, and a label with a NUL.
    'dangling.example': { TXT: ['v=spf1 include:nospf.example -all'], A: ['192.0.2.1'] },
    'nospf.example': { TXT: ['hello'] },
    'nul.example': { TXT: ['v=spf1 include:evil\u0000.example -all'], A: ['192.0.2.1'] },
    // 10,000 characters of SPF in 255-byte strings.
    'huge.example': {
      TXT: [
        split255(`v=spf1 ${Array.from({ length: 700 }, (_, i) => `ip4:10.${i >> 8}.${i & 255}.0/24`).join(' ')} -all`),
      ],
      A: ['192.0.2.1'],
    },
    // Null MX with an SPF record that lets senders through; and a domain that cannot receive at all.
    'nullmx.example': { TXT: ['v=spf1 include:_spf.good.example -all'], MX: [{ priority: 0, exchange: '.' }] },
    'nullok.example': { TXT: ['v=spf1 -all'], MX: [{ priority: 0, exchange: '.' }] },
    '_dmarc.nullok.example': { TXT: ['v=DMARC1; p=reject'] },
    'nomail.example': { TXT: ['v=spf1 -all'] },
    // DMARC inherited from the organisational domain; a subdomain of good.example without its own record.
    'news.good.example': { TXT: ['v=spf1 -all'], MX: [{ priority: 10, exchange: 'mx.good.example' }] },
    'broken.example': 'SERVFAIL',
    '_dmarc.broken.example': 'SERVFAIL',
    's1._domainkey.broken.example': 'SERVFAIL',
    'slow.example': 'TIMEOUT',
  };
}
