/**
 * IMAP polling against a real Dovecot (IMAP over TLS, Maildir): only token messages are
 * read and deleted, the junk folder is searched, forged tokens are ignored, size caps hold;
 * and against hostile IMAP servers (a 1 GB literal, a server that drips), bounded by the caps
 * and the deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import { ProbeError } from '../../../lambdas/engine/errors.js';
import { arrivalFindings, readArrival } from '../../../lambdas/engine/flow/arrival.js';
import { pollImap } from '../../../lambdas/engine/flow/imap.js';
import { createToken, TOKEN_HEADER } from '../../../lambdas/engine/flow/token.js';
import { buildTestMessage } from '../../../lambdas/engine/smtp/message.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startDovecot, type DovecotInstance } from '../../../testkit/system/dovecot.js';

const key = Buffer.alloc(32, 5);

function message(token: string | undefined, extra = ''): string {
  return buildTestMessage({
    from: 'probe@send.example.test',
    to: 'probe@in.example.test',
    target: 'flow',
    date: new Date(),
    ...(token !== undefined ? { headers: [[TOKEN_HEADER, token]] as const } : {}),
  }).data.concat(extra);
}

describe('pollImap against Dovecot', () => {
  let pki: TestPki;
  let dovecot: DovecotInstance;

  beforeAll(async () => {
    pki = await createTestPki();
    dovecot = await startDovecot({ tls: pki.credentials() });
  }, 60_000);
  afterAll(async () => {
    await dovecot?.stop();
  });

  const poll = (maxMessageBytes?: number) =>
    pollImap({
      spec: { host: '127.0.0.1', port: dovecot.imapsPort, auth: { username: 'x', passwordEnv: 'X' } },
      credentials: { username: dovecot.user, password: dovecot.password },
      deadline: new Deadline(15_000),
      extraCa: [pki.caPem],
      ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}),
    });

  it('finds token messages in INBOX and Junk, leaves other mail alone, deletes what it read', async () => {
    const inbox = createToken(key, 'imap-flow', Date.now());
    const junk = createToken(key, 'imap-flow', Date.now() + 1);
    const forged = createToken(Buffer.alloc(32, 6), 'imap-flow', Date.now());
    dovecot.save(message(inbox.value));
    dovecot.save(message(junk.value), 'Junk');
    dovecot.save(message(forged.value));
    dovecot.save(message(undefined));

    const result = await poll();
    expect(result.junkFolder).toBe('Junk');
    expect(result.messages).toHaveLength(3);
    const arrivals = result.messages
      .map((m) =>
        readArrival({
          message: m.source,
          key,
          arrivedAt: m.internalDate,
          source: 'imap',
          folder: m.folder,
          verdicts: {},
        }),
      )
      .filter((a) => a !== undefined);
    expect(arrivals.map((a) => [a.token, a.folder]).sort()).toEqual(
      [
        [inbox.value, 'inbox'],
        [junk.value, 'junk'],
      ].sort(),
    );
    const junkArrival = arrivals.find((a) => a.folder === 'junk')!;
    expect(arrivalFindings(junkArrival).map((f) => f.code)).toEqual(['FLOW_SPAM']);
    // The forged token message was deleted with the matches; the unrelated message stays.
    expect(dovecot.count('INBOX')).toBe(1);
    expect(dovecot.count('Junk')).toBe(0);
  });

  it('reads a 50 MB message only up to the cap', async () => {
    const token = createToken(key, 'imap-flow', Date.now());
    dovecot.save(message(token.value, `\r\n${'a'.repeat(76)}`.repeat((50 * 1024 * 1024) / 78)));
    const result = await poll(64 * 1024);
    expect(result.messages).toHaveLength(1);
    expect(result.messages[0]!.truncated).toBe(true);
    expect(result.messages[0]!.source.length).toBeLessThanOrEqual(64 * 1024);
    expect(
      readArrival({
        message: result.messages[0]!.source,
        key,
        arrivedAt: 0,
        source: 'imap',
        folder: 'inbox',
        verdicts: {},
      })?.token,
    ).toBe(token.value);
  }, 60_000);

  it('refuses a server whose certificate does not verify, before sending the password', async () => {
    await expect(
      pollImap({
        spec: { host: '127.0.0.1', port: dovecot.imapsPort, auth: { username: 'x', passwordEnv: 'X' } },
        credentials: { username: dovecot.user, password: dovecot.password },
        deadline: new Deadline(10_000),
        extraCa: [],
      }),
    ).rejects.toMatchObject({ code: 'FLOW_RECEIVE_FAILED' });
  });
});

describe('pollImap against hostile servers', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });

  async function hostile(script: (socket: tls.TLSSocket) => void): Promise<{ port: number; close: () => void }> {
    const server = tls.createServer(pki.credentials(), script);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
  }

  const pollAt = (port: number, ms: number) =>
    pollImap({
      spec: { host: '127.0.0.1', port, auth: { username: 'u', passwordEnv: 'X' } },
      credentials: { username: 'u', password: 'p' },
      deadline: new Deadline(ms),
      extraCa: [pki.caPem],
      maxMessageBytes: 64 * 1024,
    });

  it('fails a 1 GB literal at once instead of buffering it', async () => {
    const server = await hostile((socket) => {
      socket.on('error', () => undefined);
      socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
      socket.on('data', (data: Buffer) => {
        const tag = data.toString().split(' ')[0];
        socket.write(`* CAPABILITY {1073741824}\r\n`);
        socket.write('x'.repeat(1024));
        void tag;
      });
    });
    try {
      const err = await pollAt(server.port, 10_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProbeError);
      expect((err as ProbeError).code).toBe('FLOW_RECEIVE_FAILED');
    } finally {
      server.close();
    }
  });

  it('ends a server that drips one byte at a time at the deadline', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = await hostile((socket) => {
      socket.on('error', () => undefined);
      const greeting = '* OK ready but very slowly, one byte at a time\r\n';
      let i = 0;
      const t = setInterval(() => {
        if (socket.destroyed) return clearInterval(t);
        socket.write(greeting[i % greeting.length]!);
        i += 1;
      }, 50);
      timers.push(t);
    });
    try {
      const err = await pollAt(server.port, 1_500).catch((e: unknown) => e);
      expect((err as ProbeError).code).toBe('FLOW_RECEIVE_FAILED');
    } finally {
      timers.forEach(clearInterval);
      server.close();
    }
  });
});
