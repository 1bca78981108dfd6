/**
 * The socket side of an SMTP session: moves bytes, enforces deadlines and byte limits,
 * and hands complete replies to the session. It knows nothing about SMTP semantics.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import type { FindingCode } from '../findings.js';
import { redact } from '../mask.js';
import type { Transcript } from '../context.js';
import { isPlaintextError, oneLine, socketErrorCode, type SocketPhase } from '../net/socket-errors.js';
import { attachWire, HANDSHAKE_CAPTURE_BYTES, WireTap } from '../tls/wire.js';
import { printable, ReplyParser, type ReplyLimits, type SmtpReply } from './reply.js';

export { oneLine } from '../net/socket-errors.js';

export interface ConnectOptions {
  readonly address: string;
  readonly port: number;
  readonly deadline: Deadline;
  /** Budget for the TCP (and, for implicit TLS, the TLS) handshake. */
  readonly connectTimeoutMs: number;
  readonly limits?: ReplyLimits;
  /** `--debug`: the dialogue as it happens, secrets masked. */
  readonly transcript?: Transcript;
}

interface Waiter {
  resolve(reply: SmtpReply): void;
  reject(err: Error): void;
}

export class SmtpConnection {
  private socket: net.Socket;
  private parser: ReplyParser;
  private queue: SmtpReply[] = [];
  private waiter: Waiter | undefined;
  private failure: ProbeError | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => this.fail(this.closedError());
  // Handshake failures are classified in settleOn(); once the session is up, a reset is a
  // reset (CONNECT_RESET), and a TLS alert is a broken session, not a failed handshake.
  private readonly onError = (err: Error) =>
    this.fail(new ProbeError(socketErrorCode(err, 'session'), oneLine(err.message), { cause: err }));
  /** Secret forms masked in every reply as it arrives, before anything shortens it. */
  private secrets: readonly string[] = [];
  /** Bytes received since the last complete reply: tells a stall from a drip. */
  private partialBytes = 0;
  /** Bytes received on this connection so far: a server that sent any is not silent. */
  private receivedBytes = 0;
  private isTls = false;
  /** The TCP socket under a STARTTLS session, unref'd with it. */
  private plainSocket: net.Socket | undefined;

  private readonly transcript: Transcript | undefined;

  private constructor(socket: net.Socket, options: ConnectOptions) {
    this.socket = socket;
    this.parser = new ReplyParser(options.limits);
    this.transcript = options.transcript;
    this.transcript?.('*', `connected to ${options.address} port ${options.port}`);
    this.attach();
  }

  /** Plain TCP connection (STARTTLS or no TLS). */
  static async connect(options: ConnectOptions): Promise<SmtpConnection> {
    const socket = await openSocket(
      () => net.connect({ host: options.address, port: options.port, noDelay: true }),
      'connect',
      'tcp',
      options,
    );
    return new SmtpConnection(socket, options);
  }

  /** TLS from the first byte (ports 465/2465, RFC 8314 §3.3). */
  static async connectTls(options: ConnectOptions, tlsOptions: tls.ConnectionOptions): Promise<SmtpConnection> {
    const socket = await openSocket(
      () => tls.connect({ ...tlsOptions, host: options.address, port: options.port }),
      'secureConnect',
      'tls-first-byte',
      options,
    );
    const conn = new SmtpConnection(socket, options);
    conn.isTls = true;
    conn.traceTls();
    return conn;
  }

  get tlsSocket(): tls.TLSSocket | undefined {
    return this.isTls ? (this.socket as tls.TLSSocket) : undefined;
  }

  write(line: string): void {
    if (this.failure) throw this.failure;
    // The probe never pipelines: a reply waiting before a command is sent was not asked for
    // (a doubled greeting, a proxy out of step). Reading on would pair every later command
    // with the previous command's reply, so stop here.
    const unsolicited = this.queue[0];
    if (unsolicited !== undefined) {
      throw new ProbeError(
        'PROTOCOL_VIOLATION',
        `the server sent a reply nobody asked for (${unsolicited.code} ${unsolicited.lines.join(' ').slice(0, 120)})`,
        { responseCode: unsolicited.code },
      );
    }
    // Masked as replies are: the AUTH PLAIN token or an AUTH LOGIN password never reaches the transcript.
    this.transcript?.('C', this.secrets.length > 0 ? redact(line, this.secrets) : line);
    this.socket.write(`${line}\r\n`);
  }

  private traceTls(): void {
    const socket = this.socket as tls.TLSSocket;
    this.transcript?.('*', `TLS up: ${socket.getProtocol?.() ?? '?'} ${socket.getCipher?.()?.name ?? ''}`.trimEnd());
  }

  /**
   * Masks these secret forms in every reply from now on (call before sending credentials):
   * a server that echoes the AUTH argument must not put it into a finding, and masking the
   * reply whole, before it is cut to a finding's length, leaves no piece of it behind.
   */
  maskReplies(secrets: readonly string[]): void {
    this.secrets = [...this.secrets, ...secrets];
  }

  writeRaw(data: string): void {
    if (this.failure) throw this.failure;
    this.socket.write(data);
  }

  /**
   * Next reply, within `timeoutMs`. On timeout the error code is `timeoutCode` if nothing
   * of the reply arrived, DEADLINE_EXCEEDED if some did (a server dripping bytes).
   */
  read(stage: string, timeoutMs: number, timeoutCode: FindingCode = 'DEADLINE_EXCEEDED'): Promise<SmtpReply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(withStage(this.failure, stage));
    return new Promise<SmtpReply>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          const partial = this.partialBytes;
          const code = partial > 0 ? 'DEADLINE_EXCEEDED' : timeoutCode;
          const what = partial > 0 ? `only ${partial} bytes of the reply arrived` : 'no reply arrived';
          reject(new ProbeError(code, `${what} within ${Math.round(timeoutMs)} ms (stage ${stage})`, { stage }));
        },
        Math.max(0, timeoutMs),
      );
      this.waiter = {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(withStage(err, stage));
        },
      };
    });
  }

  /**
   * Hands the socket to TLS after a 220 to STARTTLS. Returns how many bytes the server had
   * sent beyond that 220: RFC 3207 §6 requires discarding them (response injection).
   */
  async startTls(
    tlsOptions: tls.ConnectionOptions,
    timeoutMs: number,
    /** Keep the whole server flight (the certificate list as sent, see tls/wire.ts). */
    captureHandshake = false,
  ): Promise<{ extraBytes: number }> {
    const extraBytes = this.parser.pendingBytes + this.queue.reduce((n, r) => n + r.lines.join('').length + 6, 0);
    this.queue = [];
    this.parser.reset();
    this.partialBytes = 0;
    this.detach();
    const plain = this.socket;
    // The tap sees what arrives in later TCP segments, which OpenSSL consumes as records.
    const tap = new WireTap(plain, captureHandshake ? HANDSHAKE_CAPTURE_BYTES : PLAINTEXT_HEAD_BYTES);
    const secure = tls.connect({ ...tlsOptions, socket: tap });
    try {
      await settleOn(secure, 'secureConnect', timeoutMs, 'TLS handshake', 'tls-after-starttls');
    } catch (err) {
      secure.destroy();
      plain.destroy();
      throw err instanceof ProbeError && isPlaintextError(err.cause) ? plaintextError(tap.received(), err) : err;
    }
    attachWire(secure, tap);
    this.socket = secure;
    this.plainSocket = plain;
    this.isTls = true;
    this.failure = undefined;
    this.attach();
    this.traceTls();
    return { extraBytes };
  }

  /**
   * Sends QUIT and returns at once; never throws. The session's outcome is already known,
   * so the probe does not spend a round trip on the 221: the connection waits for it (RFC
   * 5321 §4.1.1.10: the client SHOULD) and closes by itself once it arrives, the server
   * hangs up or `timeoutMs` passes, without keeping the process alive meanwhile.
   */
  quitInBackground(timeoutMs: number): void {
    try {
      this.write('QUIT');
    } catch {
      this.close();
      return;
    }
    this.socket.unref();
    this.plainSocket?.unref();
    const timer = setTimeout(() => this.close(), Math.max(0, timeoutMs));
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      this.close();
    };
    // The 221 (or any reply), a reset or the server's close all end the wait.
    this.waiter = { resolve: done, reject: done };
  }

  /** Sends QUIT and waits briefly for 221; never throws (the session's outcome is known). */
  async quit(timeoutMs: number): Promise<void> {
    try {
      this.write('QUIT');
      await this.read('quit', timeoutMs);
    } catch {
      // A server that hangs up without 221 has not broken anything a user can fix.
    } finally {
      this.close();
    }
  }

  /** Hands the TLS socket over to a caller that speaks to it directly (the tls check). */
  release(): tls.TLSSocket {
    if (!this.isTls) throw new Error('release() needs a TLS connection');
    this.detach();
    return this.socket as tls.TLSSocket;
  }

  /** Whether the server has sent anything at all on this connection. */
  get heardFrom(): boolean {
    return this.receivedBytes > 0;
  }

  /** Ends the connection with `err`: a pending read rejects with it now, not at its timeout. */
  abort(err: ProbeError): void {
    this.fail(err);
    this.close();
  }

  close(): void {
    this.detach();
    this.socket.destroy();
  }

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.on('close', this.onClose);
    this.socket.on('error', this.onError);
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
    // Keep a listener so a late error on a discarded socket cannot crash the process.
    this.socket.on('error', () => undefined);
  }

  private receive(chunk: Buffer): void {
    this.receivedBytes += chunk.length;
    let replies: SmtpReply[];
    try {
      replies = this.parser.push(chunk);
      if (this.secrets.length > 0) {
        replies = replies.map((r) => ({ code: r.code, lines: r.lines.map((l) => redact(l, this.secrets)) }));
      }
    } catch (err) {
      const parseError = err instanceof ProbeError ? err : new ProbeError('PROTOCOL_VIOLATION', String(err));
      this.fail(
        this.secrets.length > 0
          ? new ProbeError(parseError.code, redact(parseError.message, this.secrets))
          : parseError,
      );
      this.socket.destroy();
      return;
    }
    this.partialBytes = this.parser.pendingBytes;
    if (this.transcript !== undefined) {
      for (const reply of replies) {
        reply.lines.forEach((l, i) =>
          this.transcript?.('S', `${reply.code}${i < reply.lines.length - 1 ? '-' : ' '}${l}`),
        );
      }
    }
    for (const reply of replies) {
      const waiter = this.waiter;
      if (waiter) {
        this.waiter = undefined;
        waiter.resolve(reply);
      } else {
        this.queue.push(reply);
      }
    }
  }

  private closedError(): ProbeError {
    return this.parser.inReply
      ? new ProbeError('PROTOCOL_VIOLATION', 'the server closed the connection in the middle of a reply')
      : new ProbeError('CONNECT_RESET', 'the server closed the connection');
  }

  private fail(err: ProbeError): void {
    if (!this.failure) this.failure = err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}

function withStage(err: ProbeError | Error, stage: string): ProbeError {
  if (err instanceof ProbeError) {
    if (err.stage !== undefined) return err;
    return new ProbeError(err.code, err.message, {
      stage,
      ...(err.responseCode !== undefined ? { responseCode: err.responseCode } : {}),
      ...(err.response !== undefined ? { response: err.response } : {}),
      cause: err.cause,
    });
  }
  return new ProbeError('CONNECT_RESET', oneLine(err.message), { stage, cause: err });
}

async function openSocket<S extends net.Socket>(
  create: () => S,
  readyEvent: 'connect' | 'secureConnect',
  phase: SocketPhase,
  options: ConnectOptions,
): Promise<S> {
  const budget = options.deadline.budget(options.connectTimeoutMs);
  const socket = create();
  try {
    await settleOn(socket, readyEvent, budget, 'connect', phase);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Waits for `event` on a socket, mapping errors, early close and the timeout to ProbeErrors. */
function settleOn(
  socket: net.Socket,
  event: string,
  timeoutMs: number,
  what: string,
  phase: SocketPhase,
): Promise<void> {
  const tlsPhase = phase !== 'tcp';
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(event, onReady);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new ProbeError(socketErrorCode(err, phase), `${what} failed: ${oneLine(err.message)}`, { cause: err }));
    };
    const onClose = () => {
      cleanup();
      reject(
        new ProbeError(tlsPhase ? 'TLS_HANDSHAKE_FAILED' : 'CONNECT_RESET', `${what}: connection closed by the server`),
      );
    };
    const timer = setTimeout(
      () => {
        cleanup();
        // Still in the TCP handshake: nothing answered. Past it: the TLS handshake stalled.
        const tcpPending = socket.connecting;
        socket.destroy();
        reject(
          new ProbeError(
            tcpPending ? 'CONNECT_TIMEOUT' : 'DEADLINE_EXCEEDED',
            tcpPending
              ? `no answer to the TCP connection within ${Math.round(timeoutMs)} ms`
              : `${what}: the TLS handshake did not complete within ${Math.round(timeoutMs)} ms`,
          ),
        );
      },
      Math.max(0, timeoutMs),
    );
    socket.once(event, onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** Bytes after the 220 kept to tell injected replies from a server that never started TLS. */
const PLAINTEXT_HEAD_BYTES = 512;

/**
 * Plaintext where the TLS handshake belonged, after a 220 to STARTTLS. The mode is right
 * (the server said 220), so this is never TLS_WRONG_MODE. SMTP replies a client would
 * act on (2xx/3xx other than a new 220 greeting) are injected responses: STARTTLS_EXTRA_DATA.
 * Anything else (an error reply to the ClientHello, a second greeting, other bytes) is a
 * server that did not start TLS: TLS_HANDSHAKE_FAILED.
 */
function plaintextError(head: Buffer, err: ProbeError): ProbeError {
  const text = head.toString('latin1');
  const quoted = printable(text.split(/\r?\n/)[0] ?? '', 120);
  const injected = /^(2(?!20)[0-9]{2}|3[0-9]{2})[ -]/.test(text);
  if (injected) {
    return new ProbeError(
      'STARTTLS_EXTRA_DATA',
      `the server sent SMTP replies after its 220 to STARTTLS instead of a TLS handshake (${head.length}+ bytes, first: "${quoted}")`,
      { stage: 'tls', cause: err.cause },
    );
  }
  return new ProbeError(
    'TLS_HANDSHAKE_FAILED',
    `the server answered the TLS handshake with plaintext after its 220 to STARTTLS${quoted === '' ? '' : ` ("${quoted}")`}: it did not start TLS`,
    { stage: 'tls', cause: err.cause },
  );
}
