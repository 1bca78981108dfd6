import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../../../lambdas/engine/errors.js';
import {
  authMechanisms,
  describeCapabilities,
  hasCapability,
  parseEhlo,
} from '../../../lambdas/engine/smtp/capabilities.js';
import { buildTestMessage, dotStuff, isSafeAddress } from '../../../lambdas/engine/smtp/message.js';
import { parseReplyLine, ReplyParser } from '../../../lambdas/engine/smtp/reply.js';

describe('parseReplyLine (RFC 5321 §4.2)', () => {
  it.each([
    ['250-first', { ok: true, code: 250, final: false, text: 'first' }],
    ['250 last', { ok: true, code: 250, final: true, text: 'last' }],
    ['250', { ok: true, code: 250, final: true, text: '' }],
    ['220 smtp.example.com ESMTP', { ok: true, code: 220, final: true, text: 'smtp.example.com ESMTP' }],
    ['554 5.7.1 no', { ok: true, code: 554, final: true, text: '5.7.1 no' }],
  ])('parses %j', (line, expected) => {
    expect(parseReplyLine(line)).toEqual(expected);
  });

  it.each(['hello', '25', '2500 x', '250x', '650 bad class', '150 preliminary', '', ' 250 leading space'])(
    'rejects %j',
    (line) => {
      expect(parseReplyLine(line).ok).toBe(false);
    },
  );
});

function parseAll(input: string | Buffer, parser = new ReplyParser()) {
  return parser.push(Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1'));
}

describe('ReplyParser', () => {
  it('assembles a multi-line reply and waits for the final line', () => {
    const parser = new ReplyParser();
    expect(parseAll('250-mx.example.com\r\n250-PIPELINING\r\n', parser)).toEqual([]);
    expect(parser.inReply).toBe(true);
    const [reply] = parseAll('250 STARTTLS\r\n', parser);
    expect(reply).toEqual({ code: 250, lines: ['mx.example.com', 'PIPELINING', 'STARTTLS'] });
    expect(parser.inReply).toBe(false);
  });

  it('splits two replies delivered in one chunk and keeps their order', () => {
    const replies = parseAll('220 ready\r\n250 injected\r\n');
    expect(replies.map((r) => r.code)).toEqual([220, 250]);
  });

  it('accepts replies split at every byte boundary', () => {
    const text = '220-hello\r\n220 world\r\n';
    const parser = new ReplyParser();
    const replies = [...text].flatMap((c) => parseAll(c, parser));
    expect(replies).toEqual([{ code: 220, lines: ['hello', 'world'] }]);
  });

  it('accepts a bare LF line end', () => {
    expect(parseAll('250 ok\n')).toEqual([{ code: 250, lines: ['ok'] }]);
  });

  it('rejects a code change within one reply', () => {
    expect(() => parseAll('250-a\r\n251 b\r\n')).toThrow(/reply code changed/);
  });

  it('rejects garbage with PROTOCOL_VIOLATION', () => {
    try {
      parseAll('SSH-2.0-OpenSSH_9.2\r\n');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProbeError);
      expect((err as ProbeError).code).toBe('PROTOCOL_VIOLATION');
    }
  });

  it('refuses an over-long line before buffering it', () => {
    const parser = new ReplyParser({ maxLineBytes: 1024, maxLines: 10 });
    expect(() => parser.push(Buffer.alloc(2000, 0x41))).toThrow(/longer than 1024 bytes/);
  });

  it('refuses a reply with too many lines', () => {
    const parser = new ReplyParser({ maxLineBytes: 1024, maxLines: 3 });
    expect(() => parseAll('250-a\r\n250-b\r\n250-c\r\n250-d\r\n', parser)).toThrow(/longer than 3 lines/);
  });

  it('counts bytes left over after a complete reply (RFC 3207 §6)', () => {
    const parser = new ReplyParser();
    parseAll('220 go ahead\r\n250 inj', parser);
    expect(parser.pendingBytes).toBe(7);
    parser.reset();
    expect(parser.pendingBytes).toBe(0);
  });

  it('never throws anything but ProbeError and never buffers more than the limit (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }), (chunks) => {
        const parser = new ReplyParser({ maxLineBytes: 512, maxLines: 50 });
        try {
          for (const chunk of chunks) {
            for (const reply of parser.push(Buffer.from(chunk))) {
              expect(reply.code).toBeGreaterThanOrEqual(200);
              expect(reply.code).toBeLessThan(600);
            }
            expect(parser.pendingBytes).toBeLessThanOrEqual(512 * 51);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(ProbeError);
        }
      }),
    );
  });

  it('round-trips any well-formed multi-line reply (property)', () => {
    const text = fc.string({ maxLength: 60 }).filter((s) => !/[\r\n]/.test(s));
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), fc.array(text, { minLength: 1, maxLength: 8 }), (code, lines) => {
        const wire = lines.map((l, i) => `${code}${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
        expect(parseAll(Buffer.from(wire, 'latin1'))).toEqual([{ code, lines }]);
      }),
    );
  });
});

describe('parseEhlo', () => {
  const reply = (...lines: string[]) => ({ code: 250, lines });

  it('reads keywords one by one, upper-cased, with parameters', () => {
    const caps = parseEhlo(
      reply('mx.example.com Hello', 'PIPELINING', 'SIZE 10240000', 'starttls', 'AUTH PLAIN LOGIN'),
    );
    expect(caps.serverName).toBe('mx.example.com');
    expect(hasCapability(caps, 'STARTTLS')).toBe(true);
    expect(caps.keywords.get('SIZE')).toEqual(['10240000']);
    expect(authMechanisms(caps)).toEqual(['PLAIN', 'LOGIN']);
    expect(describeCapabilities(caps)).toEqual(['PIPELINING', 'SIZE 10240000', 'STARTTLS', 'AUTH PLAIN LOGIN']);
  });

  it('understands the pre-standard AUTH=LOGIN form', () => {
    const caps = parseEhlo(reply('relay', 'AUTH=LOGIN PLAIN', 'AUTH CRAM-MD5'));
    expect(authMechanisms(caps)).toEqual(['LOGIN', 'PLAIN', 'CRAM-MD5']);
  });

  it('does not take a keyword that merely contains STARTTLS for STARTTLS', () => {
    const caps = parseEhlo(reply('mx', 'X-NOT-STARTTLS', 'XSTARTTLS', '8BITMIME STARTTLS'));
    expect(hasCapability(caps, 'STARTTLS')).toBe(false);
  });

  it('ignores lines that are not keywords', () => {
    const caps = parseEhlo(reply('mx', '', '-bad', '!!!'));
    expect(caps.keywords.size).toBe(0);
  });
});

describe('test message', () => {
  it('dot-stuffs lines that start with a dot and uses CRLF', () => {
    expect(dotStuff('a\n.b\n..c\nd.')).toBe('a\r\n..b\r\n...c\r\nd.');
  });

  it('builds a labelled message with CRLF line ends only', () => {
    const { data, messageId } = buildTestMessage({
      from: 'probe@example.com',
      to: 'success@simulator.amazonses.com',
      target: 'email-smtp.eu-west-1.amazonaws.com:587',
      date: new Date('2026-01-02T03:04:05Z'),
      messageId: '<id@mailprobe.invalid>',
    });
    expect(messageId).toBe('<id@mailprobe.invalid>');
    expect(data).toContain('Subject: mailprobe test message for email-smtp.eu-west-1.amazonaws.com:587\r\n');
    expect(data).toContain('Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n');
    expect(data.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it.each([
    ['probe@example.com', true],
    ['a b@example.com', false],
    ['x@y>\r\nRCPT TO:<z', false],
    ['', true],
  ])('isSafeAddress(%j) is %s', (address, safe) => {
    expect(isSafeAddress(address)).toBe(safe);
  });
});
