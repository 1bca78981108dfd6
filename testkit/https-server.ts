/**
 * A real HTTPS server on 127.0.0.1 port 0 for MTA-STS policy-fetch tests, with the
 * misbehaviours a policy host shows in the wild: redirects, wrong media types, oversized
 * or endless bodies, a body dripped one byte a second, compressed bodies, huge headers.
 * Every request is recorded with its SNI and Host header, so tests can assert what the
 * probe sent.
 */
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import type { ServerCredentials } from './pki.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly host: string | undefined;
  /** The SNI the client sent (false when none). */
  readonly servername: string | false;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type Responder = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpsTestServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Changes what the server answers from now on. */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export async function startHttpsServer(
  credentials: ServerCredentials,
  responder: Responder,
  /** TLS settings of a misconfigured host, e.g. `{ maxVersion: 'TLSv1.1' }`. */
  tlsOptions: Pick<https.ServerOptions, 'minVersion' | 'maxVersion' | 'ciphers'> = {},
): Promise<HttpsTestServer> {
  let current = responder;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = https.createServer({ key: credentials.key, cert: credentials.cert, ...tlsOptions }, (req, res) => {
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host,
      servername: (req.socket as TLSSocket).servername ?? false,
      headers: req.headers,
    });
    current(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  // A client that gives up on a bad certificate is expected.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    requests,
    respond: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// --- responders --------------------------------------------------------------------------

export const GOOD_POLICY = 'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n';

/** A 200 with the body and headers given (text/plain by default). */
export function policy(
  body: string | Buffer,
  options: { status?: number; contentType?: string | null; headers?: Record<string, string> } = {},
): Responder {
  return (_req, res) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'text/plain';
    res.writeHead(options.status ?? 200, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
}

export function redirect(location: string, status = 301): Responder {
  return (_req, res) => {
    res.writeHead(status, { location, 'content-type': 'text/plain' });
    res.end(GOOD_POLICY);
  };
}

/** A body sent gzip-compressed even though the client did not ask for it. */
export function gzipped(body: string): Responder {
  return policy(gzipSync(Buffer.from(body)), { headers: { 'content-encoding': 'gzip' } });
}

/** A chunked text/plain body that never ends. */
export function endlessChunked(chunk = 'mx: filler.example.com\n'): Responder {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {
        /* until the socket pushes back */
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };
}

/** The body dripped one byte per interval (a slowloris-style server). */
export function drip(body: string, intervalMs = 1000): Responder {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
    let offset = 0;
    const timer = setInterval(() => {
      if (res.destroyed || offset >= body.length) {
        clearInterval(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body[offset]);
      offset += 1;
    }, intervalMs);
    res.on('close', () => clearInterval(timer));
  };
}

/** Response headers larger than any sane limit. */
export function hugeHeaders(bytes = 64 * 1024): Responder {
  return policy(GOOD_POLICY, { headers: { 'x-padding': 'a'.repeat(bytes) } });
}
