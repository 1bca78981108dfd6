/**
 * Raw DNS queries for the validator: EDNS0 with the DO bit (RFC 3225) so answers carry
 * RRSIGs, and CD (RFC 4035 §3.2.2) so a validating resolver hands over bogus data instead
 * of SERVFAIL and the probe can say *what* is bogus. UDP first, TCP when truncated (RFC
 * 7766). Every query has a deadline; every answer is capped in size while it is read.
 */
import { randomInt } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import dnsPacket from 'dns-packet';
import { parseDnsServer, type DnsServerAddress } from '../net/dns-server.js';
import { normaliseName, parseMessage, typeName, type Message } from './wire.js';
import { MailprobeError } from '../errors.js';
import { ipFamily } from '../net/ip.js';

/** EDNS buffer size (DNS flag day 2020: avoids IP fragmentation). */
export const EDNS_UDP_SIZE = 1232;
/** A DNS message over TCP is at most 65535 octets (two-octet length prefix). */
export const MAX_MESSAGE_BYTES = 65_535;

export type { DnsServerAddress };

export type QueryFailure = 'TIMEOUT' | 'NETWORK' | 'MALFORMED';

export class QueryError extends MailprobeError {
  override readonly name = 'QueryError';
  constructor(
    readonly kind: QueryFailure,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * The servers to ask: the configured one, or every name server of the system in resolv.conf
 * order (as c-ares uses them), so one dead resolver of two does not make every DANE verdict
 * indeterminate.
 */
export function dnsServerAddresses(server: string | undefined): DnsServerAddress[] {
  const system = new dnsPromises.Resolver().getServers();
  const values = server !== undefined ? [server] : system.length > 0 ? system : ['127.0.0.1'];
  try {
    return values.map(parseDnsServer);
  } catch (err) {
    throw new QueryError('NETWORK', (err as Error).message, err);
  }
}

export type QueryFn = (name: string, type: number, timeoutMs: number) => Promise<Message>;

function encodeQuery(id: number, name: string, type: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    // RD: the configured server is a recursive resolver. CD: validation is ours.
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
    questions: [{ type: typeName(type) as dnsPacket.RecordType, name: name === '' ? '.' : name }],
    additionals: [
      { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, flags: dnsPacket.DNSSEC_OK } as dnsPacket.OptAnswer,
    ],
  });
}

function checked(buf: Buffer, id: number, name: string, type: number): Message {
  let msg: Message;
  try {
    msg = parseMessage(buf);
  } catch (err) {
    throw new QueryError('MALFORMED', `malformed DNS answer: ${(err as Error).message}`, err);
  }
  if (msg.id !== id) throw new QueryError('MALFORMED', 'DNS answer with a foreign query id');
  // An answer to another question (a confused or spoofing server) is no answer to this one.
  if (msg.question === undefined || msg.question.name !== normaliseName(name) || msg.question.type !== type) {
    throw new QueryError('MALFORMED', 'DNS answer to a different question');
  }
  return msg;
}

interface Asked {
  readonly id: number;
  readonly name: string;
  readonly type: number;
}

function udpQuery(server: DnsServerAddress, query: Buffer, asked: Asked, timeoutMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(ipFamily(server.host) === 6 ? 'udp6' : 'udp4');
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      socket.close();
      fn();
    };
    const timer = setTimeout(() => done(() => reject(new QueryError('TIMEOUT', 'DNS query timed out'))), timeoutMs);
    socket.on('error', (err) => done(() => reject(new QueryError('NETWORK', err.message, err))));
    socket.on('message', (buf) => {
      // The socket is connected: the kernel passes on datagrams from the server asked only,
      // however its address is written ([::1] or [0:0:0:0:0:0:0:1]); the id must match too.
      if (buf.length < 2 || buf.readUInt16BE(0) !== asked.id) return;
      done(() => {
        try {
          resolve(checked(buf, asked.id, asked.name, asked.type));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    // A refused port (ICMP unreachable) is an 'error' on a connected socket: the next server at once.
    socket.connect(server.port, server.host, () => socket.send(query));
  });
}

function tcpQuery(server: DnsServerAddress, query: Buffer, asked: Asked, timeoutMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => done(() => reject(new QueryError('TIMEOUT', 'DNS query over TCP timed out'))),
      timeoutMs,
    );
    socket.on('error', (err) => done(() => reject(new QueryError('NETWORK', err.message, err))));
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_MESSAGE_BYTES + 2) {
        done(() => reject(new QueryError('MALFORMED', 'DNS answer over TCP longer than 65535 octets')));
        return;
      }
      chunks.push(chunk);
      const buf = Buffer.concat(chunks);
      if (buf.length < 2) return;
      const need = buf.readUInt16BE(0);
      if (buf.length < need + 2) return;
      done(() => {
        try {
          resolve(checked(buf.subarray(2, need + 2), asked.id, asked.name, asked.type));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    socket.on('end', () => done(() => reject(new QueryError('NETWORK', 'DNS server closed the TCP connection'))));
  });
}

/** The query function for one server: UDP, then TCP if the answer was truncated. */
function serverQuery(server: DnsServerAddress): QueryFn {
  return async (name, type, timeoutMs) => {
    const started = Date.now();
    const id = randomInt(0, 65536);
    const query = encodeQuery(id, name, type);
    const asked = { id, name, type };
    const udp = await udpQuery(server, query, asked, timeoutMs);
    if (!udp.flags.tc) return udp;
    return tcpQuery(server, query, asked, Math.max(1, timeoutMs - (Date.now() - started)));
  };
}

/**
 * The query function for one server, or for several as a stub resolver uses them: the one
 * that answered last is asked first, and one that times out or cannot be reached hands the
 * rest of the query's time to the next (each gets an equal share of what is left), so a dead
 * first resolver costs a fraction of each query, and only until another one answers.
 */
export function createQuery(target: DnsServerAddress | readonly DnsServerAddress[]): QueryFn {
  const servers = Array.isArray(target) ? (target as readonly DnsServerAddress[]) : [target as DnsServerAddress];
  const asks = servers.map(serverQuery);
  if (asks.length === 1) return asks[0] as QueryFn;
  let preferred = 0;
  return async (name, type, timeoutMs) => {
    const started = Date.now();
    let last: unknown = new QueryError('TIMEOUT', 'DNS query timed out');
    for (let i = 0; i < asks.length; i += 1) {
      const index = (preferred + i) % asks.length;
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) break;
      try {
        const msg = await (asks[index] as QueryFn)(name, type, Math.max(1, Math.floor(left / (asks.length - i))));
        preferred = index;
        return msg;
      } catch (err) {
        // A malformed or foreign answer is that server's answer, not its absence.
        if (!(err instanceof QueryError) || err.kind === 'MALFORMED') throw err;
        last = err;
      }
    }
    throw last;
  };
}
