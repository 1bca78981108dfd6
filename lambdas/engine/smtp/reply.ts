/**
 * SMTP reply parsing (RFC 5321 §4.2), pure and incremental: the socket code pushes bytes
 * in, complete replies come out. Byte limits live here so a hostile server cannot make
 * the probe buffer a megabyte per target.
 */
import { ProbeError } from '../errors.js';

export interface SmtpReply {
  /** The three-digit reply code. */
  readonly code: number;
  /** The text of each line, without the code and separator. */
  readonly lines: readonly string[];
}

export interface ReplyLimits {
  /**
   * Longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 sets 512 octets;
   * real servers exceed it (long EHLO keywords, banners), so the default is lenient.
   */
  readonly maxLineBytes: number;
  /** Most lines in one multi-line reply. */
  readonly maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyLimits = { maxLineBytes: 4096, maxLines: 256 };

export type ParsedLine =
  | { readonly ok: true; readonly code: number; readonly final: boolean; readonly text: string }
  | { readonly ok: false; readonly reason: string };

/**
 * One reply line: `Reply-code [ SP / "-" textstring ]`. A bare code (`250`) is a final
 * line too. Codes start with 2–5 (§4.2.1); anything else is not SMTP.
 */
export function parseReplyLine(line: string): ParsedLine {
  if (!/^[2-5][0-9][0-9]/.test(line)) {
    return { ok: false, reason: `not an SMTP reply line: ${printable(line)}` };
  }
  const code = Number(line.slice(0, 3));
  if (line.length === 3) return { ok: true, code, final: true, text: '' };
  const separator = line[3];
  if (separator === ' ') return { ok: true, code, final: true, text: line.slice(4) };
  if (separator === '-') return { ok: true, code, final: false, text: line.slice(4) };
  return { ok: false, reason: `bad separator after reply code: ${printable(line)}` };
}

/** Makes server text safe to put in a finding: printable ASCII, bounded length. */
export function printable(text: string, max = 200): string {
  const clean = text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function replyText(reply: SmtpReply): string {
  return reply.lines.join(' ').trim();
}

/** `535 5.7.8 Authentication credentials invalid` — the form findings quote. */
export function formatReply(reply: SmtpReply): string {
  return printable(`${reply.code} ${replyText(reply)}`.trim(), 300);
}

/**
 * Incremental parser. `push` returns the replies completed by a chunk and throws a
 * ProbeError(PROTOCOL_VIOLATION) on malformed or over-long input.
 */
export class ReplyParser {
  private buffer: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private code: number | undefined;
  private readonly limits: ReplyLimits;

  constructor(limits: ReplyLimits = DEFAULT_REPLY_LIMITS) {
    this.limits = limits;
  }

  /** Bytes received that are not yet part of a complete reply (for RFC 3207 §6 checks). */
  get pendingBytes(): number {
    return this.buffer.length + this.lines.reduce((n, l) => n + l.length + 2, 0);
  }

  /** True while a reply is partly received (some lines or bytes, no final line yet). */
  get inReply(): boolean {
    return this.pendingBytes > 0;
  }

  /** Drops everything buffered: after STARTTLS nothing received in clear text may be used. */
  reset(): void {
    this.buffer = Buffer.alloc(0);
    this.lines = [];
    this.code = undefined;
  }

  push(chunk: Buffer): SmtpReply[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const replies: SmtpReply[] = [];
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline < 0) {
        if (this.buffer.length >= this.limits.maxLineBytes) {
          throw new ProbeError(
            'PROTOCOL_VIOLATION',
            `reply line longer than ${this.limits.maxLineBytes} bytes without a line end`,
          );
        }
        return replies;
      }
      if (newline + 1 > this.limits.maxLineBytes) {
        throw new ProbeError('PROTOCOL_VIOLATION', `reply line longer than ${this.limits.maxLineBytes} bytes`);
      }
      // Accept a bare LF as well as CRLF: being strict here finds nothing a user can act on.
      const end = newline > 0 && this.buffer[newline - 1] === 0x0d ? newline - 1 : newline;
      const line = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(newline + 1);
      const parsed = parseReplyLine(line);
      if (!parsed.ok) throw new ProbeError('PROTOCOL_VIOLATION', parsed.reason);
      if (this.code !== undefined && parsed.code !== this.code) {
        throw new ProbeError(
          'PROTOCOL_VIOLATION',
          `reply code changed within a multi-line reply (${this.code} then ${parsed.code})`,
        );
      }
      this.code = parsed.code;
      this.lines.push(parsed.text);
      if (this.lines.length > this.limits.maxLines) {
        throw new ProbeError('PROTOCOL_VIOLATION', `multi-line reply longer than ${this.limits.maxLines} lines`);
      }
      if (parsed.final) {
        replies.push({ code: parsed.code, lines: this.lines });
        this.lines = [];
        this.code = undefined;
      }
    }
  }
}
