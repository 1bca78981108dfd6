import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsError, DnsResolver, parseHostsFile, SystemResolver } from '../../../lambdas/engine/net/resolver.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';

let dns: DnsTestServer;
beforeAll(async () => {
  dns = await startDnsServer({
    'relay.example': { A: ['127.0.0.2'], AAAA: ['::1'] },
    'v6only.example': { AAAA: ['::1'] },
    'nodata.example': { TXT: ['x'] },
    'broken.example': 'SERVFAIL',
  });
});
afterAll(async () => dns.close());

describe('DnsResolver', () => {
  const resolver = () => new DnsResolver({ server: dns.server, timeoutMs: 500, tries: 1 });

  it('returns IPv4 first, then IPv6, and IP literals as they are', async () => {
    expect(await resolver().addresses('relay.example')).toEqual(['127.0.0.2', '::1']);
    expect(await resolver().addresses('v6only.example')).toEqual(['::1']);
    expect(await resolver().addresses('192.0.2.1')).toEqual(['192.0.2.1']);
  });

  it.each([
    ['missing.example', 'NXDOMAIN', true],
    ['nodata.example', 'NODATA', true],
    ['broken.example', 'SERVFAIL', false],
  ] as const)('classifies %s as %s', async (name, kind, negative) => {
    const err = await resolver()
      .addresses(name)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsError);
    expect((err as DnsError).kind).toBe(kind);
    expect((err as DnsError).isNegativeAnswer).toBe(negative);
  });
});

describe('SystemResolver', () => {
  it('answers from the hosts file first, then from DNS (through c-ares, never the thread pool)', async () => {
    const hosts = parseHostsFile('# comment\n10.0.0.5 relay.internal relay # alias\n::1 relay.internal\n');
    const resolver = new SystemResolver({ server: dns.server, hosts, timeoutMs: 500, tries: 1 });
    expect(await resolver.addresses('relay.internal')).toEqual(['10.0.0.5', '::1']);
    expect(await resolver.addresses('RELAY.')).toEqual(['10.0.0.5']);
    expect(await resolver.addresses('relay.example')).toEqual(['127.0.0.2', '::1']);
  });
});
