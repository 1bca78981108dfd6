/**
 * QUIT without a round trip: the smtp check sends QUIT and reports at once; the connection
 * waits for the 221 in the background and closes by itself (connection.ts quitInBackground).
 * A real loopback server records what the probe sent and when the probe hung up.
 */
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createContext } from '../../../lambdas/engine/context.js';
import { runSmtpCheck } from '../../../lambdas/engine/smtp/check.js';

interface Session {
  readonly lines: string[];
  /** Set when the probe closed its side of the connection. */
  clientClosed: boolean;
}

/** Greets, answers EHLO without STARTTLS, and answers QUIT only when `answerQuit`. */
async function startServer(answerQuit: boolean) {
  const sessions: Session[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const session: Session = { lines: [], clientClosed: false };
    sessions.push(session);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('end', () => (session.clientClosed = true));
    socket.on('close', () => (session.clientClosed = true));
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        session.lines.push(line);
        if (line.startsWith('EHLO')) socket.write('250-quit.test\r\n250 8BITMIME\r\n');
        else if (line === 'QUIT' && answerQuit) socket.end('221 2.0.0 bye\r\n');
      }
    });
    socket.write('220 quit.test ESMTP\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('QUIT', () => {
  const ctx = createContext({ timeoutMs: 10_000 });

  it('reports before the 221: a server that never answers QUIT still gives a completed session', async () => {
    const server = await startServer(false);
    servers.push(server);
    const result = await runSmtpCheck({ check: 'smtp', host: '127.0.0.1', port: server.port, tls: 'none' }, ctx);
    expect(result.status).toBe('ok');
    expect(result.completed).toBe(true);
    expect(result.stage).toBe('quit');
    expect(result.findings).toEqual([]);
    // The result came before the server could even read the QUIT: this continuation runs as
    // a microtask, before any I/O callback. A probe that waited for the 221 (here: for its
    // 2 s quit budget) would have let the server record QUIT long before.
    expect(server.sessions[0]?.lines).toEqual(['EHLO mailprobe.invalid']);
    // QUIT went out, and the probe hangs up by itself (its quit budget) although no 221 came.
    await vi.waitFor(() => expect(server.sessions[0]?.lines).toEqual(['EHLO mailprobe.invalid', 'QUIT']), {
      timeout: 10_000,
    });
    await vi.waitFor(() => expect(server.sessions[0]?.clientClosed).toBe(true), { timeout: 10_000 });
  });

  it('closes once the 221 arrives', async () => {
    const server = await startServer(true);
    servers.push(server);
    const result = await runSmtpCheck({ check: 'smtp', host: '127.0.0.1', port: server.port, tls: 'none' }, ctx);
    expect(result.completed).toBe(true);
    await vi.waitFor(() => expect(server.sessions[0]?.clientClosed).toBe(true), { timeout: 10_000 });
    expect(server.sessions[0]?.lines.at(-1)).toBe('QUIT');
  });
});
