import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsError, DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';

async function failureKind(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'resolved';
  } catch (err) {
    return err instanceof DnsError ? err.kind : String(err);
  }
}

describe('test DNS server on loopback (UDP and TCP)', () => {
  let dns: DnsTestServer;
  let resolver: DnsResolver;

  beforeAll(async () => {
    dns = await startDnsServer({
      'example.com': { MX: [{ priority: 10, exchange: 'mx1.example.com' }], A: ['127.0.0.1'], AAAA: ['::1'] },
      '_mta-sts.example.com': { TXT: [['v=STSv1; ', 'id=20240101'], 'google-site-verification=abc'] },
      'big.example': { TXT: Array.from({ length: 12 }, (_, i) => `record-${i}-${'x'.repeat(60)}`) },
      'nullmx.example': { MX: [{ priority: 0, exchange: '.' }] },
      'broken.example': 'SERVFAIL',
      'refused.example': 'REFUSED',
      'alias.example': { CNAME: 'Target.Example.' },
      'target.example': { TXT: ['v=STSv1; id=viaCname'], A: ['127.0.0.2'] },
      'dangling.example': { CNAME: 'gone.example' },
      'slow.example': 'TIMEOUT',
      '_smtp._tls.deep.example': { TXT: ['v=TLSRPTv1; rua=mailto:a@deep.example'] },
    });
    resolver = new DnsResolver({ server: dns.server, timeoutMs: 300, tries: 1 });
  });
  afterAll(async () => dns.close());

  it('answers MX, A and AAAA', async () => {
    expect(await resolver.mx('example.com')).toEqual([{ exchange: 'mx1.example.com', priority: 10 }]);
    expect(await resolver.addresses('EXAMPLE.com.')).toEqual(['127.0.0.1', '::1']);
  });

  it('keeps the character-strings of each TXT record apart', async () => {
    const records = await resolver.txt('_mta-sts.example.com');
    expect(records).toContainEqual(['v=STSv1; ', 'id=20240101']);
    expect(records).toContainEqual(['google-site-verification=abc']);
    expect(records).toHaveLength(2);
  });

  it('truncates large UDP answers so the client retries over TCP', async () => {
    const before = dns.queries.length;
    const records = await resolver.txt('big.example');
    expect(records).toHaveLength(12);
    const transports = dns.queries.slice(before).map((q) => q.transport);
    expect(transports).toEqual(['udp', 'tcp']);
  });

  it('chases CNAMEs like a recursive resolver', async () => {
    expect(await resolver.txt('alias.example')).toEqual([['v=STSv1; id=viaCname']]);
    expect(await resolver.addresses('alias.example')).toEqual(['127.0.0.2']);
    expect(await failureKind(resolver.txt('dangling.example'))).toBe('NXDOMAIN');
  });

  it('tells NXDOMAIN from NODATA (including empty non-terminals)', async () => {
    expect(await failureKind(resolver.txt('absent.example'))).toBe('NXDOMAIN');
    expect(await failureKind(resolver.txt('example.com'))).toBe('NODATA');
    expect(await failureKind(resolver.txt('_tls.deep.example'))).toBe('NODATA');
  });

  it('returns a null MX as an empty exchange', async () => {
    expect(await resolver.mx('nullmx.example')).toEqual([{ exchange: '', priority: 0 }]);
  });

  it('fails with SERVFAIL, REFUSED and TIMEOUT on demand', async () => {
    expect(await failureKind(resolver.txt('broken.example'))).toBe('SERVFAIL');
    expect(await failureKind(resolver.txt('refused.example'))).toBe('REFUSED');
    expect(await failureKind(resolver.txt('slow.example'))).toBe('TIMEOUT');
  });
});
