/**
 * The optional test message: small, clearly labelled, CRLF line ends and dot-stuffing
 * (RFC 5321 §4.5.2), so it reaches e.g. the SES mailbox simulator intact.
 */
import { randomUUID } from 'node:crypto';

/** RFC 5321 §4.5.2: a line starting with "." gets one more; lines end in CRLF. */
export function dotStuff(body: string): string {
  return body
    .split(/\r?\n/)
    .map((line) => (line.startsWith('.') ? `.${line}` : line))
    .join('\r\n');
}

export interface TestMessageInput {
  readonly from: string;
  readonly to: string;
  readonly target: string;
  readonly date: Date;
  readonly messageId?: string;
  /** Extra header fields (the flow's token), checked by isSafeHeader. */
  readonly headers?: readonly (readonly [string, string])[];
  /** @default `mailprobe test message for <target>` */
  readonly subject?: string;
}

export function buildTestMessage(input: TestMessageInput): { messageId: string; data: string } {
  const messageId = input.messageId ?? `<${randomUUID()}@mailprobe.invalid>`;
  const text = [
    `From: mailprobe <${input.from}>`,
    `To: <${input.to}>`,
    `Subject: ${input.subject ?? `mailprobe test message for ${input.target}`}`,
    `Date: ${input.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Auto-Submitted: auto-generated',
    'X-Mailprobe: test',
    ...(input.headers ?? [])
      .filter(([name, value]) => isSafeHeader(name, value))
      .map(([name, value]) => `${name}: ${value}`),
    '',
    `This is an automated test message sent by mailprobe to check ${input.target}.`,
    'It needs no action and can be deleted.',
  ].join('\n');
  // The terminating "<CRLF>.<CRLF>" is added by the session, after stuffing.
  return { messageId, data: dotStuff(text) };
}

/** Addresses go in angle brackets; refuse anything that could smuggle a command. */
export function isSafeAddress(address: string): boolean {
  // eslint-disable-next-line no-control-regex
  return address.length <= 254 && !/[\x00-\x20<>\x7f]/.test(address);
}

/** A header field that cannot end the header section or inject another field (RFC 5322 §2.2). */
export function isSafeHeader(name: string, value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[!-9;-~]{1,76}$/.test(name) && value.length <= 900 && !/[\x00-\x1f\x7f]/.test(value);
}
