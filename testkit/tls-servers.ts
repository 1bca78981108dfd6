/**
 * TLS and TCP servers on 127.0.0.1 port 0 for the probe's network tests: a TLS endpoint
 * with chosen credentials, ciphers, versions and DH parameters; a listener that accepts
 * and never speaks; a port where nothing listens.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ServerCredentials } from './pki.js';

export interface RunningServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>;
}

export interface RunningTlsServer extends RunningServer {
  readonly server: tls.Server;
  /** Handshake failures seen by the server (for diagnostics; tests assert the probe's view). */
  readonly clientErrors: Error[];
}

export interface TlsServerOptions extends ServerCredentials {
  /** OpenSSL cipher list for TLS ≤ 1.2. @default 'DEFAULT:@SECLEVEL=0' (serves weak test certificates) */
  readonly ciphers?: string;
  readonly minVersion?: tls.SecureVersion;
  readonly maxVersion?: tls.SecureVersion;
  /** PKCS#3 PEM (see dhParamsPem); without it the server has no DHE suites. */
  readonly dhparam?: string;
  /** ECDH groups, e.g. 'P-256'. */
  readonly ecdhCurve?: string;
}

function track(server: net.Server): { closeAll(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A probe hanging up mid-handshake is expected, not a test failure.
    socket.on('error', () => undefined);
  });
  return {
    closeAll: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function listen(server: net.Server, port = 0, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

/**
 * A TLS server from the first byte. After the handshake it says nothing and keeps the
 * connection open until the client closes it, like a mail server waiting for a command.
 */
export async function startTlsServer(options: TlsServerOptions): Promise<RunningTlsServer> {
  // The security level rides on the cipher string; without level 0, OpenSSL 3 refuses to
  // load the SHA-1 and RSA-1024 certificates and the 1024-bit DH groups the tests serve.
  const server = tls.createServer({
    key: options.key,
    cert: options.cert,
    ciphers: options.ciphers ?? 'DEFAULT:@SECLEVEL=0',
    ...(options.minVersion !== undefined ? { minVersion: options.minVersion } : {}),
    ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
    ...(options.dhparam !== undefined ? { dhparam: options.dhparam } : {}),
    ...(options.ecdhCurve !== undefined ? { ecdhCurve: options.ecdhCurve } : {}),
  });
  const clientErrors: Error[] = [];
  server.on('tlsClientError', (err) => clientErrors.push(err));
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  const tracker = track(server);
  const port = await listen(server);
  return { host: '127.0.0.1', port, server, clientErrors, close: tracker.closeAll };
}

/** Accepts TCP connections and never sends a byte: a tarpit or a wedged server. */
export async function startSilentServer(): Promise<RunningServer> {
  const server = net.createServer(() => undefined);
  const tracker = track(server);
  const port = await listen(server);
  return { host: '127.0.0.1', port, close: tracker.closeAll };
}

/**
 * The same silence on a chosen loopback address and port: a blackholed address beside a
 * working one (e.g. 127.0.0.8 next to 127.0.0.1 on the same port).
 */
export async function startSilentServerAt(host: string, port: number): Promise<{ close(): Promise<void> }> {
  const server = net.createServer(() => undefined);
  const tracker = track(server);
  await listen(server, port, host);
  return { close: tracker.closeAll };
}

/** A loopback port with nothing listening on it (connecting gets ECONNREFUSED). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
