/**
 * Hostile or awkward SMTP/TLS servers on 127.0.0.1 port 0 for the behaviours issue 10
 * found the engine misjudging. Each speaks just enough SMTP to reach the behaviour:
 * - `startStarttlsMisbehaving`: after its 220 to STARTTLS, injects a reply in a later TCP
 *   segment, greets again in plaintext, or answers the ClientHello as an SMTP command;
 * - `startConnectionLimitedSmtp`: nodemailer's smtp-server allowing N sessions at once
 *   (421 to the others), as Postfix's anvil limits or Exchange's concurrency limit do;
 * - `startAlertAfterHandshake`: implicit TLS 1.3 that requires a client certificate, so
 *   the server's alert comes after the client's handshake completed.
 */
import net from 'node:net';
import tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import type { ServerCredentials } from './pki.js';

export interface RunningHostile {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Sessions that reached the server (greeted or refused). */
  readonly sessions: { count: number };
  close(): Promise<void>;
}

function tracked(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

export type AfterStarttls =
  /** `220`, then (in a separate write, 30 ms later) `250 injected`, then a real TLS server. */
  | 'inject-later'
  /** `220`, then the server greets again in plaintext and never starts TLS. */
  | 'greet-again'
  /** `220`, then the ClientHello is read as a command and answered `500`. */
  | 'answer-clienthello';

/** STARTTLS servers that send plaintext where the TLS handshake belongs. */
export async function startStarttlsMisbehaving(
  behaviour: AfterStarttls,
  credentials: ServerCredentials,
): Promise<RunningHostile> {
  const sessions = { count: 0 };
  const server = net.createServer((socket) => {
    sessions.count += 1;
    socket.write('220 hostile.test ESMTP\r\n');
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const verb = line.split(' ')[0]?.toUpperCase();
        if (verb === 'EHLO') socket.write('250-hostile.test\r\n250 STARTTLS\r\n');
        else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else if (verb === 'STARTTLS') {
          socket.off('data', onData);
          socket.write('220 2.0.0 Ready to start TLS\r\n');
          if (behaviour === 'inject-later') {
            setTimeout(() => {
              socket.write('250 injected after the 220\r\n');
              const secure = new tls.TLSSocket(socket, {
                isServer: true,
                key: credentials.key,
                cert: credentials.cert,
              });
              secure.on('error', () => undefined);
            }, 30);
          } else if (behaviour === 'greet-again') {
            setTimeout(() => socket.write('220 hostile.test ESMTP again\r\n'), 30);
          } else {
            socket.once('data', () => socket.write('500 5.5.2 Error: command not recognized\r\n'));
          }
          return;
        } else socket.write('250 ok\r\n');
      }
    };
    socket.on('data', onData);
  });
  const close = tracked(server);
  return { host: '127.0.0.1', port: await listen(server), sessions, close };
}

/** A well-behaved STARTTLS server that allows `maxSessions` at once and greets the rest with 421. */
export async function startConnectionLimitedSmtp(
  credentials: ServerCredentials,
  maxSessions = 1,
): Promise<RunningHostile> {
  const sessions = { count: 0 };
  const server = new SMTPServer({
    key: credentials.key,
    cert: credentials.cert,
    maxClients: maxSessions,
    authOptional: true,
    logger: false,
    disableReverseLookup: true,
    banner: 'one session per client',
  });
  server.on('error', () => undefined);
  server.server.on('connection', () => (sessions.count += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    sessions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Implicit TLS 1.3 requiring a client certificate: TLS 1.3 clients finish their handshake
 * before the server checks the (empty) certificate, so the server's `certificate required`
 * alert arrives on an established session.
 */
export async function startAlertAfterHandshake(credentials: ServerCredentials): Promise<RunningHostile> {
  const sessions = { count: 0 };
  const server = tls.createServer({
    key: credentials.key,
    cert: credentials.cert,
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('tlsClientError', () => undefined);
  server.on('connection', () => (sessions.count += 1));
  server.on('secureConnection', (socket) => {
    socket.on('error', () => undefined);
    socket.write('220 never seen\r\n');
  });
  const close = tracked(server);
  return { host: '127.0.0.1', port: await listen(server), sessions, close };
}
