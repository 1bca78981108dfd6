/**
 * SES email receiving for flows: the receipt rule stores the message in S3 (S3 action) and
 * then invokes the receiver (Lambda action) with the receipt event
 * (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html).
 * The event carries SES's verdicts; the message itself is read from S3 through an injected
 * getter, capped, and its token verified like an IMAP arrival.
 */
import type { Arrival, Verdicts } from './arrival.js';
import { readArrival } from './arrival.js';
import { MailprobeError } from '../errors.js';

/** Where the receipt rule's S3 action writes (shared with the TLS-RPT mail receiver's bucket). */
export const FLOW_INCOMING_PREFIX = 'flow/';
/** A flow message is ~1 KB; anything past this is not ours and is not read further. */
export const MAX_SES_MESSAGE_BYTES = 1024 * 1024;

/** SES email receiving exists only in these regions (SES developer guide, "Email receiving endpoints"). */
export const SES_RECEIVING_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'il-central-1',
  'me-central-1',
  'af-south-1',
];

export class SesRegionError extends MailprobeError {
  override readonly name = 'SesRegionError';
}

/** Refuses a region without SES receiving, at plan time, with the list. */
export function assertSesReceivingRegion(region: string): void {
  if (!SES_RECEIVING_REGIONS.includes(region)) {
    throw new SesRegionError(
      `SES email receiving is not available in ${region}; use one of ${SES_RECEIVING_REGIONS.join(', ')}, or receive the flow over IMAP`,
    );
  }
}

export interface SesReceipt {
  readonly messageId: string;
  /** Epoch ms of the receipt. */
  readonly receivedAt: number;
  readonly recipients: readonly string[];
  readonly verdicts: Verdicts;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function verdict(receipt: Record<string, unknown>, field: string): string | undefined {
  const v = receipt[field];
  if (!isRecord(v) || typeof v['status'] !== 'string') return undefined;
  const status = v['status'].toLowerCase();
  // GRAY: SES could not decide; PROCESSING_FAILED: SES's own fault. Neither is a verdict on the mail.
  return ['pass', 'fail', 'gray', 'processing_failed'].includes(status) ? status : undefined;
}

/** The receipts in a receipt event; records of another shape are skipped. */
export function readReceiptEvent(event: unknown): SesReceipt[] {
  const records = isRecord(event) && Array.isArray(event['Records']) ? event['Records'].slice(0, 100) : [];
  const out: SesReceipt[] = [];
  for (const record of records) {
    const ses = isRecord(record) ? record['ses'] : undefined;
    if (!isRecord(ses) || !isRecord(ses['mail']) || !isRecord(ses['receipt'])) continue;
    const { mail, receipt } = ses as { mail: Record<string, unknown>; receipt: Record<string, unknown> };
    const messageId = mail['messageId'];
    // The id becomes an S3 key: refuse anything that could walk elsewhere in the bucket.
    if (typeof messageId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(messageId) || messageId.includes('..'))
      continue;
    const receivedAt = Date.parse(typeof receipt['timestamp'] === 'string' ? receipt['timestamp'] : '');
    if (!Number.isFinite(receivedAt)) continue;
    const recipients = Array.isArray(receipt['recipients'])
      ? receipt['recipients'].filter((r): r is string => typeof r === 'string').slice(0, 50)
      : [];
    const verdicts: Record<string, string> = {};
    for (const [name, field] of [
      ['spf', 'spfVerdict'],
      ['dkim', 'dkimVerdict'],
      ['dmarc', 'dmarcVerdict'],
      ['spam', 'spamVerdict'],
      ['virus', 'virusVerdict'],
    ] as const) {
      const v = verdict(receipt, field);
      if (v !== undefined) verdicts[name] = v;
    }
    out.push({ messageId, receivedAt, recipients, verdicts });
  }
  return out;
}

/** Reads up to `maxBytes` of the object; more means "too large" (returns the cut bytes and `truncated`). */
export type ObjectGetter = (key: string, maxBytes: number) => Promise<{ body: Buffer; truncated: boolean }>;

/** The flow arrival in one receipt, or undefined when the message carries no valid token. */
export async function readSesArrival(
  receipt: SesReceipt,
  key: Buffer,
  getObject: ObjectGetter,
  prefix = FLOW_INCOMING_PREFIX,
): Promise<Arrival | undefined> {
  const object = await getObject(`${prefix}${receipt.messageId}`, MAX_SES_MESSAGE_BYTES);
  return readArrival({
    message: object.body,
    key,
    arrivedAt: receipt.receivedAt,
    source: 'ses',
    folder: 'inbox',
    verdicts: receipt.verdicts,
    truncated: object.truncated,
  });
}
