/**
 * A TlsConnector that reaches TLS the way a mail client does on a STARTTLS port:
 * TCP, greeting, EHLO, STARTTLS, handshake. The tls check uses it to run its several
 * handshakes (DHE-only, one per protocol version) against SMTP endpoints.
 */
import type tls from 'node:tls';
import { serverNameOf } from '../checks.js';
import type { Deadline } from '../deadline.js';
import type { ProbeContext } from '../context.js';
import { noteStarttlsExtraData, type TlsConnector } from '../tls/connect.js';
import { connect, ehlo, readGreeting, resolveHost, startTls } from './session.js';

export interface StarttlsTarget {
  readonly host: string;
  readonly port: number;
  readonly ehloName?: string;
  /** The TLS server name. @default the host */
  readonly sni?: string;
  /** Connect here instead of resolving the host. */
  readonly address?: string;
}

export function starttlsConnector(target: StarttlsTarget, ctx: ProbeContext): TlsConnector {
  // One lookup shared by all the handshakes of a check.
  let addresses: Promise<string[]> | undefined;
  return async (options: tls.ConnectionOptions, deadline: Deadline, wire = {}): Promise<tls.TLSSocket> => {
    addresses ??= target.address ? Promise.resolve([target.address]) : resolveHost(target.host, ctx.resolver, deadline);
    const { conn, address } = await connect(await addresses, target.port, deadline, undefined);
    try {
      // A silent port may be an implicit-TLS one: ask it rather than wait out the budget.
      await readGreeting(conn, deadline, { address, port: target.port, servername: serverNameOf(target) });
      const { capabilities } = await ehlo(conn, target.ehloName ?? 'mailprobe.invalid', 'ehlo', deadline);
      const { extraBytes } = await startTls(
        conn,
        capabilities,
        options,
        deadline,
        undefined,
        wire.captureHandshake === true,
      );
      const socket = conn.release();
      // The check reports it (STARTTLS_EXTRA_DATA) as the smtp check does on the same port.
      noteStarttlsExtraData(socket, extraBytes);
      return socket;
    } catch (err) {
      conn.close();
      throw err;
    }
  };
}
