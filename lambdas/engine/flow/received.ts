/**
 * What a Received: field (RFC 5321 §4.4) says about the hop it records: who handed the
 * message to whom, from which address, and whether TLS protected it. MTAs write it in
 * their own ways; the forms read here are Postfix's `(using TLSv1.3 with cipher …)` and
 * `with ESMTPS`, Exim's `with esmtps (TLS1.3) tls …`, Microsoft's `(version=TLS1_2,
 * cipher=…)`, Google's `(version=TLS1_3 cipher=… bits=…)`, and RFC 3848's protocol names
 * (ESMTPS, ESMTPSA, UTF8SMTPS, LMTPS) that SES and most others use.
 *
 * Pure, linear-time regexes only (no nested quantifiers), each field cut to a bounded length.
 */

/** `tls`/`none`: a network hop with or without TLS; `local`: not an SMTP hop (LMTP, pickup, HTTP). */
export type HopTransport = 'tls' | 'none' | 'local' | 'unknown';

export interface Hop {
  /** The name the sending side gave (HELO or reverse DNS), if stated. */
  readonly from?: string;
  /** The address of the sending side, from the `[…]` in the from clause. */
  readonly fromAddress?: string;
  /** The receiving server. */
  readonly by?: string;
  /** The `with` protocol as written (ESMTPS, esmtpsa, Microsoft SMTP Server, LMTP…). */
  readonly protocol?: string;
  readonly transport: HopTransport;
  /** Normalised as Node names them: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3. */
  readonly tlsVersion?: string;
  readonly cipher?: string;
  /** Epoch ms of the date after the `;`, when it parses. */
  readonly at?: number;
}

/** The chain a flow keeps; a longer one is a loop or an attack (RFC 5321 §6.3 says ≥ 100 hops is a loop). */
export const MAX_HOPS = 100;
/** A Received field longer than this is cut before parsing. */
export const MAX_RECEIVED_LENGTH = 2_048;

/** RFC 3848 §1 (and 8689's UTF8 forms): an S means TLS, an A means AUTH. */
const TLS_PROTOCOLS = /^(?:utf8)?(?:e?smtps|esmtpsa|lmtps|lmtpsa|utf8smtpsa?)$/i;
const PLAIN_PROTOCOLS = /^(?:utf8)?(?:e?smtp|esmtpa|utf8smtpa?)$/i;
const LOCAL_PROTOCOLS = /^(?:lmtp|lmtpa|local|mapi|http|https|httprest|imap|pop3|uucp|ws|wss)$/i;

function tlsVersionName(raw: string): string | undefined {
  const m = /^(?:tls)v?(1)(?:[._](\d))?$/i.exec(raw);
  if (m === null) return /^sslv3$/i.test(raw) ? 'SSLv3' : undefined;
  const minor = m[2] ?? '0';
  return minor === '0' ? 'TLSv1' : `TLSv1.${minor}`;
}

function clauseAfter(text: string, keyword: string): string | undefined {
  // A keyword is a whole word outside the comments; comments are dropped by the caller.
  const m = new RegExp(`(?:^|\\s)${keyword}\\s+([^\\s;()]+)`, 'i').exec(text);
  return m?.[1];
}

/** Comment nesting removed; deeper than this is not a real MTA's field. */
const MAX_COMMENT_DEPTH = 8;

/** Strips `( … )` comments (RFC 5322 §3.2.2), innermost first, a bounded number of levels. */
function withoutComments(text: string): string {
  let out = text;
  for (let depth = 0; depth < MAX_COMMENT_DEPTH; depth += 1) {
    const next = out.replace(/\([^()]*\)/g, ' ');
    if (next === out) break;
    out = next;
  }
  return out;
}

export function parseReceived(field: string): Hop {
  const value = field.slice(0, MAX_RECEIVED_LENGTH);
  const semicolon = value.lastIndexOf(';');
  const body = semicolon >= 0 ? value.slice(0, semicolon) : value;
  const dateText = semicolon >= 0 ? value.slice(semicolon + 1).trim() : '';
  const bare = withoutComments(body);
  const from = clauseAfter(bare, 'from');
  const by = clauseAfter(bare, 'by');
  let protocol = clauseAfter(bare, 'with');
  // Microsoft writes a phrase, not a token: `with Microsoft SMTP Server (version=…)`.
  if (/\swith\s+Microsoft\s+SMTP\s+Server/i.test(bare)) protocol = 'Microsoft SMTP Server';
  const fromClause = /(?:^|\s)from\s+[^\s;]+\s*\(([^()]*)\)/i.exec(body)?.[1] ?? '';
  const fromAddress =
    /\[(?:IPv6:)?([0-9a-fA-F:.]{2,45})\]/.exec(fromClause)?.[1] ??
    /\[(?:IPv6:)?([0-9a-fA-F:.]{2,45})\]/.exec(bare)?.[1];

  // The TLS facts, in each MTA's words.
  const postfix = /using\s+(TLSv1(?:\.\d)?|SSLv3)\s+with\s+cipher\s+([A-Za-z0-9_-]+)/i.exec(body);
  const keyed = /version=(TLS1_\d|TLSv1(?:\.\d)?|TLS1\.\d)[,\s]+cipher=([A-Za-z0-9_-]+)/i.exec(body);
  const exim = /\(\s*(TLS1(?:\.\d)?)(?::([A-Za-z0-9_-]+)(?::\d+)?)?\s*\)(?:\s+tls\s+([A-Za-z0-9_-]+))?/i.exec(body);
  let tlsVersion: string | undefined;
  let cipher: string | undefined;
  if (postfix) [tlsVersion, cipher] = [tlsVersionName(postfix[1]!), postfix[2]];
  else if (keyed) [tlsVersion, cipher] = [tlsVersionName(keyed[1]!), keyed[2]];
  else if (exim && protocol !== undefined && /^esmtps/i.test(protocol)) {
    [tlsVersion, cipher] = [tlsVersionName(exim[1]!), exim[2] ?? exim[3]];
  }

  let transport: HopTransport;
  if (tlsVersion !== undefined || /Google Transport Security/i.test(body)) transport = 'tls';
  else if (protocol === undefined) transport = from === undefined ? 'local' : 'unknown';
  else if (TLS_PROTOCOLS.test(protocol)) transport = 'tls';
  else if (PLAIN_PROTOCOLS.test(protocol) || protocol === 'Microsoft SMTP Server') transport = 'none';
  else if (LOCAL_PROTOCOLS.test(protocol)) transport = 'local';
  else transport = 'unknown';

  const at = dateText === '' ? NaN : Date.parse(dateText.replace(/\s*\([^()]*\)\s*$/, ''));
  return {
    ...(from !== undefined ? { from } : {}),
    ...(fromAddress !== undefined ? { fromAddress } : {}),
    ...(by !== undefined ? { by } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    transport,
    ...(tlsVersion !== undefined ? { tlsVersion } : {}),
    ...(cipher !== undefined ? { cipher } : {}),
    ...(Number.isFinite(at) ? { at } : {}),
  };
}

export interface ReceivedChain {
  /** Oldest hop first (the header order reversed: each MTA prepends its field). */
  readonly hops: readonly Hop[];
  /** Received fields beyond MAX_HOPS, not parsed. */
  readonly dropped: number;
}

/** `fields` in header order (newest first), as in the message. */
export function parseReceivedChain(fields: readonly string[]): ReceivedChain {
  const kept = fields.slice(0, MAX_HOPS);
  return { hops: kept.map(parseReceived).reverse(), dropped: Math.max(0, fields.length - MAX_HOPS) };
}
