import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import { ProbeError } from '../../../lambdas/engine/errors.js';
import type { Resolver } from '../../../lambdas/engine/net/resolver.js';
import { DnsError } from '../../../lambdas/engine/net/resolver.js';
import { createContext } from '../../../lambdas/engine/context.js';
import type { ProbeContext } from '../../../lambdas/engine/context.js';
import { connectErrorCode, implicitTlsConnector } from '../../../lambdas/engine/tls/connect.js';
import { tlsClientOptions } from '../../../lambdas/engine/tls/inspect.js';
import type { TestPki } from '../../../testkit/pki.js';
import { createTestPki } from '../../../testkit/pki.js';
import type { RunningServer } from '../../../testkit/tls-servers.js';
import { startSilentServer, startTlsServer, unusedPort } from '../../../testkit/tls-servers.js';

let pki: TestPki;
let ctx: ProbeContext;
const servers: RunningServer[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem] });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function rejection(promise: Promise<unknown>): Promise<ProbeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProbeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** A TCP server that answers every connection with `onConnection`. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<RunningServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const running: RunningServer = {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(running);
  return running;
}

describe('implicitTlsConnector', () => {
  it('resolves with the socket once the handshake completed', async () => {
    const server = await startTlsServer(pki.credentials());
    servers.push(server);
    const socket = await implicitTlsConnector(
      'localhost',
      server.port,
      '127.0.0.1',
    )(tlsClientOptions(ctx, 'localhost'), new Deadline(10_000));
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerX509Certificate()?.subject).toBe('CN=localhost');
    socket.destroy();
  });

  it('resolves the host through the injected resolver', async () => {
    const server = await startTlsServer(pki.credentials());
    servers.push(server);
    const resolver: Resolver = {
      addresses: async (host) => {
        if (host === 'mail.test') return ['127.0.0.1'];
        throw new DnsError('NXDOMAIN', host, 'A/AAAA');
      },
      mx: async () => [],
      txt: async () => [],
    };
    const socket = await implicitTlsConnector(
      'mail.test',
      server.port,
      undefined,
      resolver,
    )(tlsClientOptions(ctx, 'localhost'), new Deadline(10_000));
    expect(socket.remoteAddress).toBe('127.0.0.1');
    socket.destroy();
    const err = await rejection(
      implicitTlsConnector(
        'missing.test',
        server.port,
        undefined,
        resolver,
      )(tlsClientOptions(ctx, 'missing.test'), new Deadline(10_000)),
    );
    expect(err.code).toBe('DNS_NXDOMAIN');
    expect(err.stage).toBe('resolve');
  });

  it('nothing listening: CONNECT_REFUSED', async () => {
    const port = await unusedPort();
    const err = await rejection(
      implicitTlsConnector('127.0.0.1', port)(tlsClientOptions(ctx, '127.0.0.1'), new Deadline(10_000)),
    );
    expect(err.code).toBe('CONNECT_REFUSED');
    expect(err.stage).toBe('connect');
  });

  it('accepts TCP and never answers: DEADLINE_EXCEEDED at the deadline', async () => {
    const server = await startSilentServer();
    servers.push(server);
    const started = Date.now();
    const err = await rejection(
      implicitTlsConnector('127.0.0.1', server.port)(tlsClientOptions(ctx, '127.0.0.1'), new Deadline(300)),
    );
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(err.stage).toBe('tls');
    // Proves the deadline works (a generous bound, not a timing assertion).
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('an expired deadline fails before connecting', async () => {
    const deadline = new Deadline(0);
    const err = await rejection(implicitTlsConnector('127.0.0.1', 1)(tlsClientOptions(ctx, '127.0.0.1'), deadline));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
  });

  it('an SMTP greeting where TLS was expected: TLS_WRONG_MODE', async () => {
    const server = await rawServer((socket) => socket.write('220 mail.example.com ESMTP ready\r\n'));
    const err = await rejection(
      implicitTlsConnector('127.0.0.1', server.port)(tlsClientOptions(ctx, 'localhost'), new Deadline(10_000)),
    );
    expect(err.code).toBe('TLS_WRONG_MODE');
  });

  it('a server that drops the connection mid-handshake: CONNECT_RESET', async () => {
    const server = await rawServer((socket) => socket.once('data', () => socket.destroy()));
    const err = await rejection(
      implicitTlsConnector('127.0.0.1', server.port)(tlsClientOptions(ctx, 'localhost'), new Deadline(10_000)),
    );
    expect(err.code).toBe('CONNECT_RESET');
    expect(err.stage).toBe('tls');
  });

  it('a handshake the server refuses: TLS_HANDSHAKE_FAILED', async () => {
    const server = await startTlsServer({ ...pki.credentials(), minVersion: 'TLSv1.3' });
    servers.push(server);
    const err = await rejection(
      implicitTlsConnector('127.0.0.1', server.port)(
        tlsClientOptions(ctx, 'localhost', { maxVersion: 'TLSv1.2' }),
        new Deadline(10_000),
      ),
    );
    expect(err.code).toBe('TLS_HANDSHAKE_FAILED');
    expect(err.message).not.toMatch(/\n/);
    expect(err.message).toMatch(/^127\.0\.0\.1:\d+: ERR_SSL_/);
  });
});

describe('connectErrorCode', () => {
  it.each([
    ['ECONNREFUSED', 'CONNECT_REFUSED'],
    ['ECONNRESET', 'CONNECT_RESET'],
    ['EPIPE', 'CONNECT_RESET'],
    ['ETIMEDOUT', 'CONNECT_TIMEOUT'],
    ['EHOSTUNREACH', 'CONNECT_TIMEOUT'],
    ['ENOTFOUND', 'DNS_NXDOMAIN'],
    ['EAI_AGAIN', 'DNS_ERROR'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS_WRONG_MODE'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'TLS_HANDSHAKE_FAILED'],
    [undefined, 'TLS_HANDSHAKE_FAILED'],
  ])('%s → %s', (code, expected) => {
    expect(connectErrorCode(Object.assign(new Error('x'), { code }))).toBe(expected);
  });
});
