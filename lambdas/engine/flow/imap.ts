/**
 * Looking for flow messages in a mailbox over IMAP, with imapflow: TLS only (implicit, or
 * STARTTLS required before LOGIN), the certificate verified; a search for the token header
 * only (the server filters, the probe never lists the mailbox); only matched UIDs fetched,
 * each cut at maxMessageBytes; the matches deleted once read (forged ones too: they are
 * ours to clean, and would be searched again every run). The junk folder is searched as
 * well, so "delivered to spam" is a finding rather than a loss.
 *
 * Everything runs under the caller's deadline: when it passes, the connection is closed,
 * whatever the server is doing (dripping bytes, announcing a 1 GB literal).
 */
import { isIP } from 'node:net';
import { ImapFlow } from 'imapflow';
import type { Credentials, ImapReceiveSpec } from '../checks.js';
import type { Deadline } from '../deadline.js';
import { withTimeout } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { TOKEN_HEADER } from './token.js';

/** A flow message is ~1 KB: anything larger is read only this far (enough for the headers and a DKIM body of this size). */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
/** Matches read per folder per run; a mailbox flooded with forged tokens cannot make the run unbounded. */
export const MAX_MATCHES_PER_FOLDER = 50;
/** IMAP protocol lines are short; a server that never ends one is cut here. */
const MAX_LINE_BYTES = 64 * 1024;

export interface FoundMessage {
  readonly uid: number;
  readonly folder: 'inbox' | 'junk';
  readonly source: Buffer;
  /** Epoch ms of the server's INTERNALDATE (when it stored the message). */
  readonly internalDate: number;
  readonly size: number;
  /** `source` holds only the first maxMessageBytes of a larger message. */
  readonly truncated: boolean;
}

export interface ImapPollOptions {
  readonly spec: ImapReceiveSpec;
  readonly credentials: Credentials;
  readonly deadline: Deadline;
  /** Extra trust anchors (PEM), as for the SMTP checks. */
  readonly extraCa: readonly string[];
  /** @default DEFAULT_MAX_MESSAGE_BYTES */
  readonly maxMessageBytes?: number;
  /** Delete the matches after reading them. @default true */
  readonly deleteMatches?: boolean;
}

export interface ImapPoll {
  readonly messages: readonly FoundMessage[];
  /** The junk folder searched, if one was found. */
  readonly junkFolder?: string;
}

function imapError(err: unknown, what: string): ProbeError {
  if (err instanceof ProbeError) return err;
  const e = err as { message?: string; code?: string; responseText?: string; authenticationFailed?: boolean };
  const detail = e.responseText ?? e.code ?? e.message ?? String(err);
  return new ProbeError('FLOW_RECEIVE_FAILED', `IMAP ${what}: ${detail}`, { stage: 'imap', cause: err });
}

export async function pollImap(options: ImapPollOptions): Promise<ImapPoll> {
  const { spec, credentials, deadline } = options;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const tlsMode = spec.tls ?? 'implicit';
  const budget = deadline.remainingMs();
  const client = new ImapFlow({
    host: spec.host,
    port: spec.port ?? (tlsMode === 'implicit' ? 993 : 143),
    secure: tlsMode === 'implicit',
    // Credentials never cross an unencrypted or unverified connection.
    doSTARTTLS: tlsMode === 'starttls' ? true : undefined,
    // RFC 6066 §3: SNI carries host names only; an address is verified against the certificate's IP SANs.
    ...(isIP(spec.host) === 0 ? { servername: spec.host } : {}),
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(options.extraCa.length > 0 ? { ca: [...options.extraCa] } : {}),
    },
    auth: { user: credentials.username, pass: credentials.password },
    logger: false,
    disableAutoIdle: true,
    disableCompression: true,
    connectionTimeout: budget,
    greetingTimeout: budget,
    socketTimeout: budget,
    maxLineLength: MAX_LINE_BYTES,
    // A literal is at most a capped message plus its framing; a 1 GB announcement fails at once.
    maxLiteralSize: maxBytes + 4096,
    maxResponseSize: 2 * (maxBytes + 4096) + MAX_LINE_BYTES,
  });
  // imapflow reports socket errors as events too; without a listener they would crash the process.
  client.on('error', () => undefined);
  let stage = 'connect';
  const work = async (): Promise<ImapPoll> => {
    await client.connect();
    stage = 'list';
    const folders = await client.list();
    const junk = spec.junkFolder ?? folders.find((f) => f.specialUse === '\\Junk')?.path;
    const messages: FoundMessage[] = [];
    const targets: { path: string; folder: 'inbox' | 'junk' }[] = [{ path: spec.folder ?? 'INBOX', folder: 'inbox' }];
    if (junk !== undefined && junk !== (spec.folder ?? 'INBOX')) targets.push({ path: junk, folder: 'junk' });
    for (const target of targets) {
      stage = `open ${target.path}`;
      const lock = await client.getMailboxLock(target.path);
      try {
        stage = `search ${target.path}`;
        const found = await client.search({ header: { [TOKEN_HEADER]: 'mp1.' } }, { uid: true });
        const uids = (found === false || found === undefined ? [] : found).slice(0, MAX_MATCHES_PER_FOLDER);
        for (const uid of uids) {
          stage = `fetch ${target.path}`;
          const msg = await client.fetchOne(
            String(uid),
            { uid: true, size: true, internalDate: true, source: { start: 0, maxLength: maxBytes } },
            { uid: true },
          );
          if (msg === false || msg.source === undefined) continue;
          const size = msg.size ?? msg.source.length;
          const date =
            msg.internalDate instanceof Date ? msg.internalDate.getTime() : Date.parse(String(msg.internalDate));
          messages.push({
            uid,
            folder: target.folder,
            source: msg.source.subarray(0, maxBytes),
            internalDate: Number.isFinite(date) ? date : Date.now(),
            size,
            truncated: size > maxBytes,
          });
        }
        if (uids.length > 0 && options.deleteMatches !== false) {
          stage = `delete in ${target.path}`;
          await client.messageDelete(uids.join(','), { uid: true });
        }
      } finally {
        lock.release();
      }
    }
    stage = 'logout';
    await client.logout();
    return { messages, ...(junk !== undefined ? { junkFolder: junk } : {}) };
  };
  const running = work();
  // After a timeout the work still settles (closing makes it reject): never leave that unhandled.
  running.catch(() => undefined);
  try {
    return await withTimeout(
      running,
      deadline.remainingMs(),
      'FLOW_RECEIVE_FAILED',
      'the IMAP look-up did not finish before the deadline',
      () => client.close(),
      'imap',
    );
  } catch (err) {
    throw imapError(err, stage);
  } finally {
    client.close();
  }
}
