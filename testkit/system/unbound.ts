/**
 * Unbound (Debian's validating recursive resolver) on 127.0.0.1:PORT: the resolver the
 * probe asks in the DANE system tests, and an independent validator whose verdict (AD
 * bit, or SERVFAIL for bogus data) the tests compare with the probe's own. It resolves
 * the test zones from NSD through a stub zone and trusts only the anchors it is given.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort, LOOPBACK, scratchDir, startDaemon } from './daemon.js';
import { BINARIES } from './requirements.js';

export interface UnboundOptions {
  /**
   * Zones resolved from the authoritative server on `authPort`: every zone it serves, as
   * the NS records inside them name port 53.
   */
  readonly stubZones: readonly string[];
  readonly authPort: number;
  /** Trust anchors, one DS or DNSKEY record each in presentation format. */
  readonly trustAnchors: readonly string[];
}

export interface UnboundInstance {
  /** `127.0.0.1:PORT`, as `--dns-server` takes it. */
  readonly server: string;
  readonly port: number;
  readonly startupMs: number;
  /** Unbound's own verdict for a name and type: validated (AD), bogus (SERVFAIL) or insecure. */
  verdict(name: string, type: dnsPacket.RecordType): Promise<'secure' | 'insecure' | 'bogus' | 'nxdomain'>;
  stop(): Promise<void>;
}

export async function startUnbound(options: UnboundOptions): Promise<UnboundInstance> {
  const scratch = scratchDir('unbound');
  const port = await freePort();
  const conf = join(scratch.path, 'unbound.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  interface: ${LOOPBACK}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${scratch.path}"`,
      '  pidfile: ""',
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 1',
      '  val-log-level: 2',
      '  num-threads: 1',
      '  so-reuseport: no',
      `  access-control: ${LOOPBACK}/8 allow`,
      // The authoritative server is on loopback too.
      '  do-not-query-localhost: no',
      '  qname-minimisation: no',
      '  module-config: "validator iterator"',
      // Unbound answers the RFC 6761 special-use names (test., invalid.) itself by default.
      ...[...new Set(options.stubZones.map((z) => z.split('.').at(-1)))].map(
        (tld) => `  local-zone: "${tld}." nodefault`,
      ),
      // Nothing cached across the test's changes of mind; the zones are small.
      '  cache-max-ttl: 1',
      ...options.trustAnchors.map((a) => `  trust-anchor: "${a.replace(/\s+/g, ' ')}"`),
      'remote-control:',
      '  control-enable: no',
      ...options.stubZones.flatMap((z) => [
        'stub-zone:',
        `  name: "${z}"`,
        `  stub-addr: ${LOOPBACK}@${options.authPort}`,
      ]),
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon({
    name: 'unbound',
    command: BINARIES.unbound,
    args: ['-d', '-c', conf],
    readyPorts: [port],
    scratch,
  });
  return {
    server: `${LOOPBACK}:${port}`,
    port,
    startupMs: daemon.startupMs,
    verdict: (name, type) => unboundVerdict(port, name, type),
    stop: daemon.stop,
  };
}

async function unboundVerdict(
  port: number,
  name: string,
  type: dnsPacket.RecordType,
): Promise<'secure' | 'insecure' | 'bogus' | 'nxdomain'> {
  // DO without CD: unbound validates and says so with AD, or refuses bogus data with SERVFAIL.
  const query: dnsPacket.Packet = {
    type: 'query',
    id: Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.OptAnswer],
  };
  const udp = await exchangeUdp(port, query, `${type} ${name}`);
  // A truncated answer is judged on the whole RRset, asked again over TCP.
  const answer = udp.flag_tc ? await exchangeTcp(port, query, `${type} ${name}`) : udp;
  const rcode = (answer as { rcode?: string }).rcode;
  if (rcode === 'SERVFAIL') return 'bogus';
  if (answer.flag_ad) return 'secure';
  if (rcode === 'NXDOMAIN') return 'nxdomain';
  return 'insecure';
}

/** One query to the server on 127.0.0.1:PORT over UDP, its answer decoded (truncated or not). */
export function exchangeUdp(
  port: number,
  query: dnsPacket.Packet,
  what = 'the query',
): Promise<dnsPacket.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`unbound did not answer ${what}`));
    }, 10_000);
    socket.on('message', (buf) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(buf));
    });
    socket.send(dnsPacket.encode(query), port, LOOPBACK);
  });
}

function exchangeTcp(port: number, query: dnsPacket.Packet, what: string): Promise<dnsPacket.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: LOOPBACK, port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`unbound did not answer ${what} over TCP`));
    }, 10_000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => socket.write(dnsPacket.streamEncode(query)));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
    });
  });
}
