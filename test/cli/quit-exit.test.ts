/**
 * The end of a one-shot `mailprobe smtp` as a whole process (issue #24): after QUIT the
 * process reports and exits by itself; it never waits for the server to close the
 * connection. The loopback servers below never close: a CLI that waited for the server's
 * FIN (or kept its socket referenced) would not exit and the test would time out.
 * The session is still reported as ended cleanly, and a missing 221 is not a finding.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';

interface Session {
  readonly lines: string[];
  /** The probe closed the connection: its FIN, or a reset when it left the 221 unread. */
  clientGone: boolean;
}

/** Greets, answers EHLO without STARTTLS, answers QUIT with 221 only when `answerQuit`, never closes. */
async function startHoldingServer(answerQuit: boolean) {
  const sessions: Session[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const session: Session = { lines: [], clientGone: false };
    sessions.push(session);
    sockets.add(socket);
    // Half-open on the client's FIN (allowHalfOpen): this server never closes its side.
    socket.on('error', () => (session.clientGone = true));
    socket.on('end', () => (session.clientGone = true));
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        session.lines.push(line);
        if (line.startsWith('EHLO')) socket.write('250-hold.test\r\n250 8BITMIME\r\n');
        else if (line === 'QUIT' && answerQuit) socket.write('221 2.0.0 bye\r\n');
      }
    });
    socket.write('220 hold.test ESMTP\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
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

const BIN = new URL('../../bin/mailprobe.mjs', import.meta.url).pathname;

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface JsonResult {
  status: string;
  completed: boolean;
  stage: string;
  findings: { code: string }[];
}

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('mailprobe smtp exits after QUIT without waiting for the server', () => {
  it.each([
    ['answers QUIT with 221 but never closes', true],
    ['never answers QUIT and never closes', false],
  ])('a server that %s: the process exits, the session is complete and clean', async (_label, answerQuit) => {
    const server = await startHoldingServer(answerQuit);
    servers.push(server);
    const run = await runCli(['smtp', `127.0.0.1:${server.port}`, '--tls', 'none', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = (JSON.parse(run.stdout) as { results: JsonResult[] }).results[0];
    expect(result).toMatchObject({ status: 'ok', completed: true, stage: 'quit', findings: [] });
    const session = server.sessions[0];
    expect(session?.lines).toEqual(['EHLO mailprobe.invalid', 'QUIT']);
    // The connection ended from the probe's side: the server never closes it.
    await vi.waitFor(() => expect(session?.clientGone).toBe(true));
  });
});
