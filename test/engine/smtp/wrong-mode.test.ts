/**
 * STARTTLS (or plain SMTP) against a port that speaks TLS from the first byte (issue #24
 * item 3): the port is silent, so after WRONG_MODE_SILENCE_MS the probe asks it with a
 * ClientHello over a second connection. A TLS answer is TLS_WRONG_MODE; a plain server
 * that merely greets late keeps its whole greeting budget and its dialogue untouched.
 */
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { runSmtpCheck } from '../../../lambdas/engine/smtp/check.js';
import { classifyAnswer, WRONG_MODE_SILENCE_MS } from '../../../lambdas/engine/smtp/wrong-mode.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startTlsServer } from '../../../testkit/tls-servers.js';

/** Long enough for the silence, the question and a late greeting after it. */
const TIMEOUT_MS = WRONG_MODE_SILENCE_MS + 4_000;

let pki: TestPki;
let ctx: ProbeContext;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem], timeoutMs: TIMEOUT_MS });
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const spec = (port: number, tls: SmtpCheckSpec['tls']): SmtpCheckSpec => ({
  check: 'smtp',
  host: '127.0.0.1',
  port,
  tls,
});

describe('classifyAnswer: the first bytes of the answer to a ClientHello', () => {
  it.each([
    ['a TLS 1.2 handshake record (ServerHello)', [0x16, 0x03, 0x03, 0x00, 0x7a], true],
    ['a TLS 1.0 record version', [0x16, 0x03, 0x01, 0x00, 0x31], true],
    ['a TLS alert (no common protocol)', [0x15, 0x03, 0x01, 0x00, 0x02], true],
    ['an SMTP greeting', [...Buffer.from('220 m')], false],
    ['an SMTP error to the binary line', [...Buffer.from('500 5')], false],
    ['SSL 2 style bytes', [0x80, 0x2e, 0x01, 0x00, 0x02], false],
    ['a handshake type with a wrong version byte', [0x16, 0x02, 0x00, 0x00, 0x00], false],
    ['application data (not a first answer)', [0x17, 0x03, 0x03, 0x00, 0x10], false],
    ['one byte only', [0x16], false],
    ['nothing', [], false],
  ])('%s → speaksTls %s', (_what, bytes, speaksTls) => {
    expect(classifyAnswer(Buffer.from(bytes)).speaksTls).toBe(speaksTls);
  });
});

interface SlowServer {
  readonly port: number;
  /** Per connection, in order of arrival: the bytes it received before the server spoke. */
  readonly earlyBytes: Buffer[];
  /** Per connection: the lines it sent after the greeting. */
  readonly lines: string[][];
}

/**
 * A plain SMTP server that says nothing for `greetAfterMs` on every connection; bytes that
 * arrive before that (a ClientHello) are answered with `answerToEarlyBytes` (or nothing).
 * After the greeting it answers EHLO without STARTTLS and QUIT with 221.
 */
async function startSlowGreeter(greetAfterMs: number, answerToEarlyBytes: Buffer | undefined): Promise<SlowServer> {
  const earlyBytes: Buffer[] = [];
  const lines: string[][] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const index = earlyBytes.push(Buffer.alloc(0)) - 1;
    const mine: string[] = [];
    lines.push(mine);
    let greeted = false;
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      if (!greeted) {
        const first = (earlyBytes[index]?.length ?? 0) === 0;
        earlyBytes[index] = Buffer.concat([earlyBytes[index] ?? Buffer.alloc(0), chunk]);
        if (first && answerToEarlyBytes !== undefined) socket.write(answerToEarlyBytes);
        return;
      }
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        mine.push(line);
        if (line.startsWith('EHLO')) socket.write('250-slow.example\r\n250 8BITMIME\r\n');
        else if (line === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    const timer = setTimeout(() => {
      greeted = true;
      if (!socket.destroyed) socket.write('220 slow.example ESMTP\r\n');
    }, greetAfterMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, earlyBytes, lines };
}

describe('a silent port asked whether it speaks TLS', () => {
  it.each(['starttls', 'none'] as const)(
    'an implicit-TLS server probed with --tls %s is TLS_WRONG_MODE at the greeting stage',
    async (mode) => {
      const server = await startTlsServer(pki.credentials());
      cleanups.push(server.close);
      const result = await runSmtpCheck(spec(server.port, mode), ctx);
      expect(result.findings.map((f) => f.code)).toEqual(['TLS_WRONG_MODE']);
      expect(result.stage).toBe('greeting');
      expect(result.findings[0]?.message).toMatch(/TLS handshake record/);
      expect(result.greeting).toBeUndefined();
    },
  );

  it('a slow plain server that answers the ClientHello with garbage keeps its greeting budget and its dialogue', async () => {
    const server = await startSlowGreeter(WRONG_MODE_SILENCE_MS + 1_000, Buffer.from('500 5.5.2 what?\r\n'));
    const result = await runSmtpCheck(spec(server.port, 'none'), ctx);
    expect(result.findings.map((f) => f.code)).toEqual([]);
    expect(result.status).toBe('ok');
    expect(result.greeting).toBe('220 slow.example ESMTP');
    // Two connections: the probe's session and the question. The ClientHello went only to
    // the second; the session's connection sent nothing before the greeting.
    expect(server.earlyBytes).toHaveLength(2);
    expect(server.earlyBytes[0]).toHaveLength(0);
    expect(server.earlyBytes[1]?.[0]).toBe(0x16);
    expect(server.lines[0]?.[0]).toBe('EHLO mailprobe.invalid');
  });

  it('a slow plain server that ignores the ClientHello still greets in time: no finding', async () => {
    const server = await startSlowGreeter(WRONG_MODE_SILENCE_MS + 1_000, undefined);
    const result = await runSmtpCheck(spec(server.port, 'none'), ctx);
    expect(result.findings.map((f) => f.code)).toEqual([]);
    expect(result.greeting).toBe('220 slow.example ESMTP');
  });

  it('a port that never greets and answers the ClientHello with nothing is GREETING_TIMEOUT after the whole budget', async () => {
    const server = await startSlowGreeter(60_000, undefined);
    const result = await runSmtpCheck(spec(server.port, 'starttls'), ctx);
    expect(result.findings.map((f) => f.code)).toEqual(['GREETING_TIMEOUT']);
    expect(server.earlyBytes).toHaveLength(2);
    expect(server.earlyBytes[1]?.[0]).toBe(0x16);
  });

  it('a port that never greets and answers the ClientHello with an SMTP reply is not TLS_WRONG_MODE', async () => {
    const server = await startSlowGreeter(60_000, Buffer.from('220 late.example ESMTP\r\n'));
    const result = await runSmtpCheck(spec(server.port, 'starttls'), ctx);
    expect(result.findings.map((f) => f.code)).toEqual(['GREETING_TIMEOUT']);
  });

  it('a server that greets at once is never asked (one connection only)', async () => {
    const server = await startSlowGreeter(0, undefined);
    const result = await runSmtpCheck(spec(server.port, 'none'), ctx);
    expect(result.findings.map((f) => f.code)).toEqual([]);
    expect(server.earlyBytes).toHaveLength(1);
  });
});
