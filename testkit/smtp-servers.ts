/**
 * SMTP servers on 127.0.0.1 port 0 for the probe's tests:
 * - `startSmtpServer`: a real, well-behaved server (nodemailer's smtp-server) with
 *   STARTTLS or implicit TLS, AUTH and configurable rejections;
 * - `startScriptedSmtp`: a raw server driven line by line, for the hostile cases no
 *   real server produces on purpose (injection after STARTTLS, garbage, drips).
 */
import net from 'node:net';
import tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { ServerCredentials } from './pki.js';

export interface RunningSmtp {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Messages accepted by DATA (raw text). */
  readonly messages: string[];
  /** Credentials presented to AUTH, for asserting what the probe sent. */
  readonly authAttempts: { username: string; password: string }[];
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  readonly credentials: ServerCredentials;
  /** TLS from the first byte (465-style). @default false */
  readonly implicitTls?: boolean;
  /** Per-SNI-name key and chain (as mail hosts sharing one server do); `credentials` otherwise. */
  readonly sniOptions?: Readonly<Record<string, ServerCredentials>>;
  /** Do not advertise STARTTLS. @default false */
  readonly hideStartTls?: boolean;
  /** The accepted user/password; anything else gets `authFailure`. */
  readonly user?: { username: string; password: string };
  /** Reply to a failed AUTH. @default 535 */
  readonly authFailureCode?: 535 | 454;
  /** Reject MAIL FROM with this code and text. */
  readonly rejectSender?: { code: number; text: string };
  /** Reject the message at the end of DATA with this code and text. */
  readonly rejectData?: { code: number; text: string };
  /** Called with each accepted message before the 250 reply (a relay that delivers it on). */
  readonly onMessage?: (raw: Buffer) => void | Promise<void>;
  /** Extra TLS settings passed to the server's secure context (e.g. a weak DH group). */
  readonly tls?: {
    readonly dhparam?: string;
    readonly ciphers?: string;
    readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2';
    readonly maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  };
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startSmtpServer(options: SmtpServerOptions): Promise<RunningSmtp> {
  const messages: string[] = [];
  const authAttempts: { username: string; password: string }[] = [];
  const config: SMTPServerOptions = {
    ...options.tls,
    secure: options.implicitTls ?? false,
    key: options.credentials.key,
    cert: options.credentials.cert,
    hideSTARTTLS: options.hideStartTls ?? false,
    ...(options.sniOptions !== undefined ? { sniOptions: { ...options.sniOptions } } : {}),
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: true,
    logger: false,
    banner: 'mailprobe test server',
    // Reverse DNS of 127.0.0.1 would reach for a resolver and add latency unrelated to the probe.
    disableReverseLookup: true,
    onAuth(auth, _session, callback) {
      const attempt = { username: auth.username ?? '', password: auth.password ?? '' };
      authAttempts.push(attempt);
      const user = options.user;
      if (user && attempt.username === user.username && attempt.password === user.password) {
        callback(null, { user: attempt.username });
        return;
      }
      const code = options.authFailureCode ?? 535;
      callback(
        smtpError(code, code === 454 ? 'Temporary authentication failure' : 'Authentication credentials invalid'),
      );
    },
    onMailFrom(_address, _session, callback) {
      const reject = options.rejectSender;
      callback(reject ? smtpError(reject.code, reject.text) : undefined);
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const reject = options.rejectData;
        if (reject) {
          callback(smtpError(reject.code, reject.text));
          return;
        }
        const raw = Buffer.concat(chunks);
        messages.push(raw.toString('utf8'));
        Promise.resolve(options.onMessage?.(raw)).then(
          () => callback(null, 'Ok queued as 0102018c-test'),
          (err: unknown) => callback(smtpError(451, `relay failed: ${String(err)}`)),
        );
      });
    },
  };
  const server = new SMTPServer(config);
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    messages,
    authAttempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What a scripted server does with one client line. */
export type ScriptAction =
  | string // reply (CRLF added per line if missing)
  | { readonly raw: string } // bytes exactly as given
  | { readonly startTls: string; readonly inject?: string } // reply, optional injected bytes, then TLS
  | { readonly close: true; readonly before?: string }
  | { readonly reset: true } // TCP RST, as a crashing server or a firewall sends
  | { readonly silent: true };

export interface ScriptedOptions {
  /** Sent on connect; `undefined` sends nothing (a server that never greets). */
  readonly greeting?: string | { readonly drip: string; readonly intervalMs: number };
  readonly credentials?: ServerCredentials;
  /** Reply to each command; the default answers like a minimal server. */
  readonly onCommand?: (line: string, secure: boolean) => ScriptAction | undefined;
}

export interface RunningScripted {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Every line each connection sent, in order. */
  readonly received: string[];
  close(): Promise<void>;
}

function defaultReply(line: string, secure: boolean): ScriptAction {
  const verb = line.split(' ')[0]?.toUpperCase() ?? '';
  if (verb === 'EHLO') return secure ? '250-test\r\n250 AUTH PLAIN' : '250-test\r\n250 STARTTLS';
  if (verb === 'QUIT') return { close: true, before: '221 bye\r\n' };
  return '250 ok';
}

export async function startScriptedSmtp(options: ScriptedOptions): Promise<RunningScripted> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const serve = (socket: net.Socket, secure: boolean, raw: net.Socket = socket) => {
    socket.on('error', () => undefined);
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        received.push(line);
        const action = options.onCommand?.(line, secure) ?? defaultReply(line, secure);
        if (typeof action === 'string') {
          socket.write(action.endsWith('\r\n') ? action : `${action}\r\n`);
        } else if ('raw' in action) {
          socket.write(action.raw);
        } else if ('reset' in action) {
          raw.resetAndDestroy();
        } else if ('close' in action) {
          if (action.before !== undefined) socket.end(action.before);
          else socket.end();
        } else if ('startTls' in action) {
          socket.off('data', onData);
          socket.write(`${action.startTls}\r\n${action.inject ?? ''}`);
          const creds = options.credentials;
          if (!creds) throw new Error('startTls needs credentials');
          const secureSocket = new tls.TLSSocket(socket, { isServer: true, key: creds.key, cert: creds.cert });
          serve(secureSocket, true, raw);
          return;
        }
      }
    };
    socket.on('data', onData);
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const greeting = options.greeting;
    if (typeof greeting === 'string') {
      socket.write(greeting);
    } else if (greeting !== undefined) {
      let i = 0;
      const timer = setInterval(() => {
        if (i >= greeting.drip.length || socket.destroyed) {
          clearInterval(timer);
          return;
        }
        socket.write(greeting.drip[i++] ?? '');
      }, greeting.intervalMs);
      timers.add(timer);
    }
    serve(socket, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
