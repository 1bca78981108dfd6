/**
 * A real DNS server for tests: UDP and TCP on the same loopback port, answering from a
 * declarative zone like a recursive resolver would (CNAMEs chased into the answer,
 * NXDOMAIN told apart from NODATA, SERVFAIL/REFUSED on demand, silence for timeouts).
 * Point the engine at it with `new DnsResolver({ server: dns.server })`.
 *
 *   const dns = await startDnsServer({
 *     'example.com': { MX: [{ priority: 10, exchange: 'mx1.example.com' }], A: ['127.0.0.1'] },
 *     '_mta-sts.example.com': { TXT: [['v=STSv1; ', 'id=20240101']] },
 *     'broken.example': 'SERVFAIL',
 *     'alias.example': { CNAME: 'target.example' },
 *     'slow.example': 'TIMEOUT',
 *   });
 *   ...
 *   await dns.close();
 *
 * Answers larger than 512 bytes over UDP come back truncated (TC), so the client retries
 * over TCP as it would against a real server.
 */
import dnsPacket from 'dns-packet';
import type { Answer, Packet, RecordType } from 'dns-packet';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';

export interface RecordSet {
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  readonly MX?: readonly { readonly priority: number; readonly exchange: string }[];
  /** Each record is one string or a list of character-strings (each at most 255 bytes). */
  readonly TXT?: readonly (string | readonly string[])[];
  /** The name is an alias: every query type except CNAME is answered from the target. */
  readonly CNAME?: string;
}

/** What a name answers: its records, or a failure for every query type. */
export type ZoneEntry = RecordSet | 'SERVFAIL' | 'REFUSED' | 'TIMEOUT';
export type Zone = Record<string, ZoneEntry>;

export interface DnsQueryLog {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;
const REFUSED = 5;
const MAX_CNAME_CHAIN = 8;
const UDP_LIMIT = 512;

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class DnsTestServer {
  /** Every question received, in order (for asserting e.g. that no second lookup happened). */
  readonly queries: DnsQueryLog[] = [];
  private zone = new Map<string, ZoneEntry>();
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private boundAddress = '127.0.0.1';

  constructor(zone: Zone = {}) {
    this.setZone(zone);
  }

  /** Replaces the whole zone (names are case-insensitive; a trailing dot is ignored). */
  setZone(zone: Zone): void {
    this.zone = new Map(Object.entries(zone).map(([name, entry]) => [canonical(name), entry]));
  }

  /** Adds or replaces one name. */
  set(name: string, entry: ZoneEntry): void {
    this.zone.set(canonical(name), entry);
  }

  get port(): number {
    return this.boundPort;
  }

  /** `127.0.0.1:PORT`, the form `--dns-server` and DnsResolver take. */
  get server(): string {
    return `${this.boundAddress}:${this.boundPort}`;
  }

  /**
   * Binds UDP on an ephemeral port and TCP on the same number (retrying if TCP's is taken),
   * or on `bind` when given (e.g. 127.0.53.53:53, for a client that cannot be told a port).
   */
  async start(bind?: { readonly address: string; readonly port: number }): Promise<this> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(bind?.port ?? 0, bind?.address ?? '127.0.0.1', () => resolve());
      });
      const port = udp.address().port;
      const tcp = createServer((socket) => this.serveTcp(socket));
      const bound = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(port, bind?.address ?? '127.0.0.1', () => resolve(true));
      });
      if (!bound) {
        udp.close();
        continue;
      }
      udp.on('message', (msg, rinfo) => this.serveUdp(msg, rinfo));
      this.udp = udp;
      this.tcp = tcp;
      this.boundPort = port;
      this.boundAddress = bind?.address ?? '127.0.0.1';
      return this;
    }
    throw new Error('could not bind UDP and TCP on the same loopback port');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }

  private serveUdp(msg: Buffer, rinfo: RemoteInfo): void {
    const reply = this.answer(msg, 'udp');
    if (reply === undefined) return;
    let out = dnsPacket.encode(reply);
    if (out.length > UDP_LIMIT) {
      out = dnsPacket.encode({ ...reply, answers: [], flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
    }
    this.udp?.send(out, rinfo.port, rinfo.address);
  }

  private serveTcp(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      // RFC 1035 §4.2.2: each message is preceded by a two-byte length.
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const reply = this.answer(msg, 'tcp');
        if (reply === undefined) continue;
        socket.write(dnsPacket.streamEncode(reply));
      }
    });
  }

  /** Builds the response to one query, or undefined to stay silent (TIMEOUT, garbage). */
  private answer(msg: Buffer, transport: 'udp' | 'tcp'): Packet | undefined {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (question === undefined) return undefined;
    this.queries.push({ name: question.name, type: question.type, transport });
    const base = {
      type: 'response' as const,
      id: query.id ?? 0,
      questions: [question],
    };
    const flags = (rcode: number): number => dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode;

    const answers: Answer[] = [];
    let name = canonical(question.name);
    for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      const entry = this.zone.get(name);
      if (entry === 'TIMEOUT') return undefined;
      if (entry === 'SERVFAIL') return { ...base, flags: flags(SERVFAIL), answers: [] };
      if (entry === 'REFUSED') return { ...base, flags: flags(REFUSED), answers: [] };
      if (entry === undefined) {
        // A name with descendants exists (an "empty non-terminal"): NODATA, not NXDOMAIN.
        const exists = [...this.zone.keys()].some((k) => k.endsWith(`.${name}`));
        return { ...base, flags: flags(exists ? NOERROR : NXDOMAIN), answers };
      }
      if (entry.CNAME !== undefined && question.type !== 'CNAME') {
        answers.push({ type: 'CNAME', name, ttl: 60, class: 'IN', data: canonical(entry.CNAME) });
        name = canonical(entry.CNAME);
        continue;
      }
      answers.push(...recordsOf(name, entry, question.type));
      return { ...base, flags: flags(NOERROR), answers };
    }
    return { ...base, flags: flags(SERVFAIL), answers: [] };
  }
}

function recordsOf(name: string, entry: RecordSet, type: RecordType): Answer[] {
  const common = { name, ttl: 60, class: 'IN' as const };
  switch (type) {
    case 'A':
      return (entry.A ?? []).map((data) => ({ ...common, type: 'A', data }));
    case 'AAAA':
      return (entry.AAAA ?? []).map((data) => ({ ...common, type: 'AAAA', data }));
    case 'MX':
      return (entry.MX ?? []).map((mx) => ({
        ...common,
        type: 'MX',
        // A null MX (RFC 7505) is exchange "." (the root), written as an empty name.
        data: { preference: mx.priority, exchange: mx.exchange === '.' ? '' : mx.exchange },
      }));
    case 'TXT':
      return (entry.TXT ?? []).map((record) => ({
        ...common,
        type: 'TXT',
        data: (typeof record === 'string' ? [record] : [...record]).map((s) => Buffer.from(s, 'utf8')),
      }));
    case 'CNAME':
      return entry.CNAME === undefined ? [] : [{ ...common, type: 'CNAME', data: canonical(entry.CNAME) }];
    default:
      return [];
  }
}

/** Starts a server for the zone; call `close()` when done. */
export async function startDnsServer(
  zone: Zone = {},
  bind?: { readonly address: string; readonly port: number },
): Promise<DnsTestServer> {
  return new DnsTestServer(zone).start(bind);
}
