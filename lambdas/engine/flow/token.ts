/**
 * The flow token: proof that a message in a mailbox is one this deployment sent, at the
 * time it says. Anyone can send mail to the flow's recipient; without the key they cannot
 * make a token that verifies, so a forged or replayed message cannot mark a lost one as
 * delivered. Format: `mp1.<flow name, base64url>.<send time, epoch ms>.<nonce>.<HMAC>`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MailprobeError } from '../errors.js';

/** The header the token travels in; searched for by IMAP and read by the SES receiver. */
export const TOKEN_HEADER = 'X-Mailprobe-Flow';
const VERSION = 'mp1';
/** HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to half the output or more). */
const MAC_BYTES = 16;
/** A key shorter than this could be guessed offline from a few captured tokens. */
export const MIN_KEY_BYTES = 32;
/** Flow names are config identifiers; a longer one in a token is not ours. */
export const MAX_FLOW_NAME = 64;
/** Tokens are short; refuse to even parse a header value longer than this. */
export const MAX_TOKEN_LENGTH = 256;

export class FlowKeyError extends MailprobeError {
  override readonly name = 'FlowKeyError';
}

/**
 * The per-deployment key from its stored form (a Secrets Manager string): base64 or hex of
 * at least MIN_KEY_BYTES bytes. Throws FlowKeyError naming what is wrong, never the key.
 */
export function parseFlowKey(secret: string): Buffer {
  const text = secret.trim();
  const bytes =
    /^[0-9a-f]+$/i.test(text) && text.length % 2 === 0
      ? Buffer.from(text, 'hex')
      : /^[A-Za-z0-9+/_-]+=*$/.test(text)
        ? Buffer.from(text, 'base64')
        : undefined;
  if (bytes === undefined) throw new FlowKeyError('the flow key is neither hex nor base64');
  if (bytes.length < MIN_KEY_BYTES) {
    throw new FlowKeyError(`the flow key has ${bytes.length} bytes, at least ${MIN_KEY_BYTES} are needed`);
  }
  return bytes;
}

/** A fresh random key (the CLI makes one per run: its tokens only need to verify within the run). */
export function generateFlowKey(): Buffer {
  return randomBytes(MIN_KEY_BYTES);
}

export interface FlowToken {
  readonly flow: string;
  /** Epoch ms of the send. */
  readonly sentAt: number;
  readonly nonce: string;
  /** The whole token as it goes into the header. */
  readonly value: string;
}

function mac(key: Buffer, flow: string, sentAt: number, nonce: string): Buffer {
  // NUL separators: no (flow, time, nonce) triple can collide with another one's encoding.
  return createHmac('sha256', key).update(`${VERSION}\0${flow}\0${sentAt}\0${nonce}`).digest().subarray(0, MAC_BYTES);
}

export function createToken(
  key: Buffer,
  flow: string,
  sentAt: number,
  nonce = randomBytes(6).toString('hex'),
): FlowToken {
  if (flow.length === 0 || flow.length > MAX_FLOW_NAME) {
    throw new RangeError(`a flow name has 1 to ${MAX_FLOW_NAME} characters`);
  }
  const name = Buffer.from(flow, 'utf8').toString('base64url');
  const value = `${VERSION}.${name}.${sentAt}.${nonce}.${mac(key, flow, sentAt, nonce).toString('base64url')}`;
  return { flow, sentAt, nonce, value };
}

/**
 * The token in `value` if it is well formed and its MAC verifies with `key`, else undefined.
 * The comparison is constant-time, so the MAC cannot be learnt byte by byte from timing.
 */
export function verifyToken(key: Buffer, value: string): FlowToken | undefined {
  const text = value.trim();
  if (text.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = text.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
  const [, name, time, nonce, given] = parts as [string, string, string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(name) || !/^[0-9]{1,15}$/.test(time) || !/^[0-9a-f]{1,32}$/.test(nonce)) {
    return undefined;
  }
  const flow = Buffer.from(name, 'base64url').toString('utf8');
  if (flow.length === 0 || flow.length > MAX_FLOW_NAME) return undefined;
  const sentAt = Number(time);
  const expected = mac(key, flow, sentAt, nonce);
  const actual = Buffer.from(given, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined;
  return { flow, sentAt, nonce, value: text };
}
