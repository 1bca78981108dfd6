/**
 * The DNSSEC transport against DNS servers on loopback: the system's name servers are all
 * used, one that never answers hands its share of the time to the next, and the one that
 * answered is asked first from then on (as a stub resolver fails over).
 */
import { createSocket, type Socket } from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import { isIP, type AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuery, dnsServerAddresses, QueryError } from '../../../lambdas/engine/dnssec/transport.js';
import { addressOf, TYPE } from '../../../lambdas/engine/dnssec/wire.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';

/** A UDP port that takes queries and never answers, counting them. */
async function blackhole(): Promise<{ socket: Socket; port: number; received: () => number }> {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => (count += 1));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: (socket.address() as AddressInfo).port, received: () => count };
}

let dns: DnsTestServer;
let dead: Awaited<ReturnType<typeof blackhole>>;
let deadToo: Awaited<ReturnType<typeof blackhole>>;
const at = (port: number) => ({ host: '127.0.0.1', port });

beforeAll(async () => {
  dns = await startDnsServer({ 'mx.example.test': { A: ['192.0.2.25'] } });
  [dead, deadToo] = await Promise.all([blackhole(), blackhole()]);
});
afterAll(async () => {
  await dns.close();
  dead.socket.close();
  deadToo.socket.close();
});

describe('DNSSEC transport', () => {
  it('fails over from a resolver that never answers, and asks the one that answered first afterwards', async () => {
    const port = Number(dns.server.split(':')[1]);
    const query = createQuery([at(dead.port), at(port)]);
    const first = await query('mx.example.test', TYPE.A, 2_000);
    expect(first.answer.map((r) => addressOf(r.type, r.rdata))).toEqual(['192.0.2.25']);
    expect(dead.received()).toBe(1);
    await query('mx.example.test', TYPE.A, 2_000);
    await query('mx.example.test', TYPE.AAAA, 2_000);
    // Sticky: the dead server is not asked again while the other one answers.
    expect(dead.received()).toBe(1);
  });

  it('times out when no server answers, having asked each of them', async () => {
    const query = createQuery([at(dead.port), at(deadToo.port)]);
    const before = [dead.received(), deadToo.received()];
    const failed = await query('mx.example.test', TYPE.A, 400).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(QueryError);
    expect((failed as QueryError).kind).toBe('TIMEOUT');
    expect([dead.received() - before[0]!, deadToo.received() - before[1]!]).toEqual([1, 1]);
  });

  it('takes answers from an IPv6 server however its address is written', async () => {
    // A minimal responder on ::1 (NOERROR, no records): only the transport's address handling is tested here.
    const v6 = createSocket('udp6');
    v6.on('message', (buf, peer) => {
      const q = dnsPacket.decode(buf);
      v6.send(
        dnsPacket.encode({ type: 'response', id: q.id, flags: 0x8180, questions: q.questions, answers: [] }),
        peer.port,
        peer.address,
      );
    });
    await new Promise<void>((resolve) => v6.bind(0, '::1', () => resolve()));
    const port = (v6.address() as AddressInfo).port;
    try {
      for (const written of ['[::1]', '[0:0:0:0:0:0:0:1]', '[::0001]']) {
        const query = createQuery(dnsServerAddresses(`${written}:${port}`));
        await expect(query('mx.example.test', TYPE.A, 2_000), written).resolves.toMatchObject({ rcode: 0 });
      }
    } finally {
      v6.close();
    }
  });

  it('uses the configured server alone, or every name server of the system in order', () => {
    expect(dnsServerAddresses('127.0.0.1:5353')).toEqual([{ host: '127.0.0.1', port: 5353 }]);
    const system = new dnsPromises.Resolver().getServers();
    const used = dnsServerAddresses(undefined);
    expect(used).toHaveLength(Math.max(1, system.length));
    expect(used.every((s) => isIP(s.host) !== 0 && s.port > 0)).toBe(true);
    if (system[0] !== undefined) expect(system[0]).toContain(used[0]!.host);
  });
});
