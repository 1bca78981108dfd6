/**
 * The SMTP dialogue as named stages. Each stage either returns what it learnt or throws a
 * ProbeError carrying the stage, the reply and the findings code. The smtp check and the
 * STARTTLS connector of the tls check are both built from these.
 */
import { ipFamily } from '../net/ip.js';
import type tls from 'node:tls';
import type { Deadline } from '../deadline.js';
import { withTimeout } from '../deadline.js';
import { ProbeError } from '../errors.js';
import type { Credentials } from '../checks.js';
import { credentialSecrets } from '../mask.js';
import { DnsError, type Resolver } from '../net/resolver.js';
import { authMechanisms, hasCapability, parseEhlo, type Capabilities } from './capabilities.js';
import type { Transcript } from '../context.js';
import { SmtpConnection } from './connection.js';
import { buildTestMessage, isSafeAddress, type TestMessageInput } from './message.js';
import { askForTls, WRONG_MODE_SILENCE_MS } from './wrong-mode.js';
import { formatReply, replyText, type SmtpReply } from './reply.js';

export type Stage =
  | 'resolve'
  | 'connect'
  | 'greeting'
  | 'ehlo'
  | 'starttls'
  | 'tls'
  | 'ehlo-tls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'quit';

/** Per-stage budgets; each is further capped by the check's overall deadline. */
export const STAGE_TIMEOUT_MS = {
  resolve: 5_000,
  connect: 10_000,
  greeting: 10_000,
  command: 10_000,
  tls: 10_000,
  data: 30_000,
  quit: 2_000,
} as const;

export async function resolveHost(host: string, resolver: Resolver, deadline: Deadline): Promise<string[]> {
  if (ipFamily(host)) return [host];
  // At the deadline the queries are cancelled, not abandoned: an abandoned c-ares query
  // keeps the CLI's process alive for seconds after the result is complete.
  const cancel = new AbortController();
  try {
    return await withTimeout(
      resolver.addresses(host, { signal: cancel.signal }),
      deadline.budget(STAGE_TIMEOUT_MS.resolve),
      'DNS_ERROR',
      `DNS lookup of ${host} timed out`,
      () => cancel.abort(),
      'resolve',
    );
  } catch (err) {
    if (err instanceof DnsError) {
      if (err.isNegativeAnswer) {
        throw new ProbeError('DNS_NXDOMAIN', `${host} has no address in DNS (${err.kind})`, {
          stage: 'resolve',
          cause: err,
        });
      }
      throw new ProbeError('DNS_ERROR', `DNS lookup of ${host} failed: ${err.kind}`, { stage: 'resolve', cause: err });
    }
    throw err;
  }
}

/**
 * Connects to the first address that answers. Addresses are tried in order while the
 * deadline allows, so one dead address of a multi-homed relay does not fail the probe.
 */
export async function connect(
  addresses: readonly string[],
  port: number,
  deadline: Deadline,
  implicitTls: tls.ConnectionOptions | undefined,
  transcript?: Transcript,
): Promise<{ conn: SmtpConnection; address: string }> {
  let last: unknown;
  for (const address of addresses) {
    if (deadline.expired()) break;
    const options = {
      address,
      port,
      deadline,
      connectTimeoutMs: STAGE_TIMEOUT_MS.connect,
      ...(transcript === undefined ? {} : { transcript }),
    };
    try {
      const conn = implicitTls
        ? await SmtpConnection.connectTls(options, implicitTls)
        : await SmtpConnection.connect(options);
      return { conn, address };
    } catch (err) {
      last = err;
      // A TLS-level failure is about the service, not the address: do not retry elsewhere.
      if (err instanceof ProbeError && (err.code === 'TLS_WRONG_MODE' || err.code === 'TLS_HANDSHAKE_FAILED')) break;
    }
  }
  if (last instanceof ProbeError)
    throw new ProbeError(last.code, last.message, { stage: 'connect', cause: last.cause });
  throw new ProbeError('CONNECT_TIMEOUT', 'no address could be tried before the deadline', { stage: 'connect' });
}

/** Where a plain connection went, so a silent port can be asked whether it speaks TLS. */
export interface GreetingPeer {
  readonly address: string;
  readonly port: number;
  /** SNI for the question's ClientHello. */
  readonly servername?: string;
}

/**
 * Waits for the final `220 ` line of a (possibly multi-line) greeting. Given the `peer` of
 * a plain connection, a port still silent after WRONG_MODE_SILENCE_MS is asked over a second
 * connection whether it speaks TLS (wrong-mode.ts): a TLS answer ends the wait with
 * TLS_WRONG_MODE; anything else leaves the greeting its whole budget.
 */
export async function readGreeting(conn: SmtpConnection, deadline: Deadline, peer?: GreetingPeer): Promise<SmtpReply> {
  const budgetMs = deadline.budget(STAGE_TIMEOUT_MS.greeting);
  const greeting = conn.read('greeting', budgetMs, 'GREETING_TIMEOUT');
  const reply = peer === undefined ? await greeting : await greetingOrWrongMode(conn, greeting, budgetMs, peer);
  if (reply.code !== 220) {
    throw replyError('GREETING_REJECTED', 'greeting', reply, 'the server refused the session');
  }
  return reply;
}

async function greetingOrWrongMode(
  conn: SmtpConnection,
  greeting: Promise<SmtpReply>,
  budgetMs: number,
  peer: GreetingPeer,
): Promise<SmtpReply> {
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const asked = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, WRONG_MODE_SILENCE_MS);
  }).then(async () => {
    // A greeting that has begun (even one byte of a drip) is plain SMTP: nothing to ask.
    if (conn.heardFrom || stop.signal.aborted) return;
    const started = Date.now();
    const answer = await askForTls({ ...peer, timeoutMs: budgetMs - WRONG_MODE_SILENCE_MS, signal: stop.signal });
    if (!answer.speaksTls || conn.heardFrom) return;
    const silentMs = WRONG_MODE_SILENCE_MS + (Date.now() - started);
    conn.abort(
      new ProbeError(
        'TLS_WRONG_MODE',
        `no greeting within ${Math.round(silentMs)} ms, and the port answers a TLS ClientHello with ${answer.evidence}: ` +
          'it speaks TLS from the first byte (RFC 8314 §3.3), so STARTTLS or plain SMTP cannot work here; use --tls implicit',
        { stage: 'greeting' },
      ),
    );
  });
  // An error of the question is no evidence either way; the greeting's own outcome decides.
  asked.catch(() => undefined);
  try {
    return await greeting;
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

export async function command(
  conn: SmtpConnection,
  line: string,
  stage: Stage,
  deadline: Deadline,
  budgetMs: number = STAGE_TIMEOUT_MS.command,
): Promise<SmtpReply> {
  conn.write(line);
  return conn.read(stage, deadline.budget(budgetMs));
}

/**
 * The EHLO/HELO argument: a domain as is, an address as an address literal (RFC 5321
 * §4.1.3: `[192.0.2.1]`, `[IPv6:2001:db8::1]`); a bare address is not a valid domain.
 */
export function ehloArgument(name: string): string {
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  const family = ipFamily(bare);
  if (family === 4) return `[${bare}]`;
  if (family === 6) return `[IPv6:${bare}]`;
  return name;
}

/** EHLO, falling back to HELO when EHLO is not understood (500/502, RFC 5321 §4.1.4). */
export async function ehlo(
  conn: SmtpConnection,
  name: string,
  stage: 'ehlo' | 'ehlo-tls',
  deadline: Deadline,
): Promise<{ capabilities: Capabilities; usedHelo: boolean }> {
  const argument = ehloArgument(name);
  const reply = await command(conn, `EHLO ${argument}`, stage, deadline);
  if (reply.code === 250) return { capabilities: parseEhlo(reply), usedHelo: false };
  if (reply.code === 500 || reply.code === 502) {
    const helo = await command(conn, `HELO ${argument}`, stage, deadline);
    if (helo.code === 250)
      return { capabilities: { serverName: replyText(helo), keywords: new Map() }, usedHelo: true };
    throw replyError('EHLO_REJECTED', stage, helo, 'the server rejected EHLO and HELO');
  }
  throw replyError('EHLO_REJECTED', stage, reply, 'the server rejected EHLO');
}

/**
 * STARTTLS (RFC 3207). Returns the number of bytes the server sent after its 220 and
 * before the handshake: those were discarded unread (§6, response injection).
 */
export async function startTls(
  conn: SmtpConnection,
  capabilities: Capabilities,
  tlsOptions: tls.ConnectionOptions,
  deadline: Deadline,
  /** Called between the 220 and the handshake, so callers can time the two apart. */
  onHandshake?: () => void,
  /** Keep the server's handshake flight (tls/wire.ts). */
  captureHandshake = false,
): Promise<{ extraBytes: number }> {
  if (!hasCapability(capabilities, 'STARTTLS')) {
    throw new ProbeError('STARTTLS_NOT_OFFERED', 'the server does not advertise STARTTLS in its EHLO reply', {
      stage: 'starttls',
    });
  }
  const reply = await command(conn, 'STARTTLS', 'starttls', deadline);
  if (reply.code !== 220) throw replyError('STARTTLS_REJECTED', 'starttls', reply, 'the server refused STARTTLS');
  onHandshake?.();
  try {
    return await conn.startTls(tlsOptions, deadline.budget(STAGE_TIMEOUT_MS.tls), captureHandshake);
  } catch (err) {
    if (err instanceof ProbeError) {
      throw new ProbeError(err.code, err.message, { stage: 'tls', cause: err.cause });
    }
    throw err;
  }
}

/** AUTH PLAIN (RFC 4616) when offered, else LOGIN. The secret never appears in an error. */
export async function authenticate(
  conn: SmtpConnection,
  capabilities: Capabilities,
  credentials: Credentials,
  deadline: Deadline,
): Promise<{ mechanism: string }> {
  const offered = authMechanisms(capabilities);
  // Servers echo commands in their errors: mask every form of the secret in what comes back.
  conn.maskReplies(credentialSecrets(credentials));
  let final: SmtpReply;
  let mechanism: string;
  if (offered.includes('PLAIN')) {
    mechanism = 'PLAIN';
    const token = Buffer.from(`\0${credentials.username}\0${credentials.password}`, 'utf8').toString('base64');
    final = await command(conn, `AUTH PLAIN ${token}`, 'auth', deadline);
  } else if (offered.includes('LOGIN')) {
    mechanism = 'LOGIN';
    let reply = await command(conn, 'AUTH LOGIN', 'auth', deadline);
    if (reply.code === 334) {
      reply = await command(conn, Buffer.from(credentials.username, 'utf8').toString('base64'), 'auth', deadline);
    }
    if (reply.code === 334) {
      reply = await command(conn, Buffer.from(credentials.password, 'utf8').toString('base64'), 'auth', deadline);
    }
    final = reply;
  } else {
    throw new ProbeError(
      'AUTH_UNAVAILABLE',
      offered.length > 0
        ? `the server offers AUTH ${offered.join(' ')} but not PLAIN or LOGIN`
        : 'the server does not offer AUTH after TLS',
      { stage: 'auth' },
    );
  }
  if (final.code === 235) return { mechanism };
  if (final.code >= 400 && final.code < 500) {
    throw replyError('AUTH_TEMPFAIL', 'auth', final, `AUTH ${mechanism} failed temporarily`);
  }
  // RFC 4954 §6: 504 mechanism not supported, 534 mechanism too weak, 538 encryption required;
  // 500/502: AUTH not understood. None says the credentials are wrong: rotating them would not help.
  if ([500, 502, 504, 534, 538].includes(final.code)) {
    throw replyError('AUTH_UNAVAILABLE', 'auth', final, `the server refused AUTH ${mechanism} itself`);
  }
  throw replyError('AUTH_FAILED', 'auth', final, `AUTH ${mechanism} was rejected`);
}

export interface MessageOutcome {
  readonly messageId: string;
  /** The server's reply to the end of DATA, e.g. SES's `250 Ok <id>`. */
  readonly reply: string;
}

/** MAIL FROM, RCPT TO, DATA with the labelled test message. */
export async function sendTestMessage(
  conn: SmtpConnection,
  from: string,
  to: string,
  target: string,
  now: Date,
  deadline: Deadline,
  extra: Pick<TestMessageInput, 'headers' | 'subject'> = {},
): Promise<MessageOutcome> {
  if (!isSafeAddress(from) || !isSafeAddress(to)) {
    throw new ProbeError('SENDER_REJECTED', 'the test message addresses contain characters not allowed in SMTP', {
      stage: 'mail',
    });
  }
  const mail = await command(conn, `MAIL FROM:<${from}>`, 'mail', deadline);
  if (mail.code !== 250) throw replyError('SENDER_REJECTED', 'mail', mail, `MAIL FROM:<${from}> was rejected`);
  const rcpt = await command(conn, `RCPT TO:<${to}>`, 'rcpt', deadline);
  if (rcpt.code !== 250 && rcpt.code !== 251) {
    throw replyError('RECIPIENT_REJECTED', 'rcpt', rcpt, `RCPT TO:<${to}> was rejected`);
  }
  const data = await command(conn, 'DATA', 'data', deadline);
  if (data.code !== 354) throw replyError('MESSAGE_REJECTED', 'data', data, 'DATA was refused');
  const message = buildTestMessage({ from, to, target, date: now, ...extra });
  conn.writeRaw(`${message.data}\r\n.\r\n`);
  const done = await conn.read('data', deadline.budget(STAGE_TIMEOUT_MS.data));
  if (done.code !== 250) {
    // SES answers the end of DATA with `554 Message rejected: Email address is not verified`
    // when the From identity is not verified in the region: that is a sender problem.
    const code = /not verified/i.test(replyText(done)) ? 'SENDER_REJECTED' : 'MESSAGE_REJECTED';
    throw replyError(code, 'data', done, 'the message was rejected after DATA');
  }
  return { messageId: message.messageId, reply: formatReply(done) };
}

export function replyError(
  code: ConstructorParameters<typeof ProbeError>[0],
  stage: Stage,
  reply: SmtpReply,
  what: string,
): ProbeError {
  return new ProbeError(code, `${what}: ${formatReply(reply)}`, {
    stage,
    responseCode: reply.code,
    response: formatReply(reply),
  });
}
