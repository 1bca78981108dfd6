/**
 * The sender-auth check against a real DNS server on loopback (UDP, TCP for the long
 * answers), one zone per scenario: each asserts its exact codes and the facts behind them.
 */
import { GetIdentityDkimAttributesCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { runSenderAuthCheck, type SenderAuthResult } from '../../../lambdas/engine/sender-auth/check.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { scenarioZone } from '../../../testkit/sender-auth-zones.js';

let dns: DnsTestServer;
let ctx: ProbeContext;

beforeAll(async () => {
  dns = await startDnsServer(scenarioZone());
  ctx = createContext({
    resolver: new DnsResolver({ server: dns.server, timeoutMs: 500, tries: 1 }),
    timeoutMs: 10_000,
  });
});
afterAll(() => dns.close());

const run = (domain: string, dkimSelectors?: string[], c: ProbeContext = ctx): Promise<SenderAuthResult> =>
  runSenderAuthCheck({ check: 'sender-auth', domain, ...(dkimSelectors ? { dkimSelectors } : {}) }, c);
const codes = (r: SenderAuthResult) => r.findings.map((f) => f.code).sort();
const message = (r: SenderAuthResult, code: string) => r.findings.find((f) => f.code === code)?.message ?? '';

describe('sender-auth check', () => {
  it('a well-kept domain is ok, with the include tree, the DMARC policy and both keys as facts', async () => {
    const r = await run('good.example', ['s1', 'ed']);
    expect(r.findings).toEqual([]);
    expect(r.status).toBe('ok');
    expect(r.spf).toMatchObject({
      lookups: 1,
      voidLookups: 0,
      truncated: false,
      allowsAnySender: false,
      endsInAll: '-all',
    });
    expect(Object.keys(r.spf!.records)).toEqual(['good.example', '_spf.good.example']);
    expect(r.dmarc).toMatchObject({
      name: '_dmarc.good.example',
      policy: { p: 'reject', pct: 100, adkim: 's' },
      externalDestinations: [],
    });
    expect(r.dkim).toEqual([
      expect.objectContaining({
        selector: 's1',
        present: true,
        key: expect.objectContaining({ keyType: 'rsa', bits: 2048, revoked: false }),
      }),
      expect.objectContaining({
        selector: 'ed',
        present: true,
        key: expect.objectContaining({ keyType: 'ed25519', revoked: false }),
      }),
    ]);
    expect(r.mx).toEqual({ nullMx: false, hosts: ['mx.good.example'] });
  });

  it('11 DNS-querying terms across 4 levels: SPF_TOO_MANY_LOOKUPS, critical, naming the include path of the 11th', async () => {
    const r = await run('eleven.example');
    expect(r.spf?.lookups).toBe(11);
    expect(r.spf?.limitPath).toEqual(['eleven.example', 'b.eleven.example', 'a:h6.eleven.example']);
    expect(codes(r)).toContain('SPF_TOO_MANY_LOOKUPS');
    expect(r.findings.find((f) => f.code === 'SPF_TOO_MANY_LOOKUPS')?.severity).toBe('critical');
    expect(message(r, 'SPF_TOO_MANY_LOOKUPS')).toContain('eleven.example → b.eleven.example → a:h6.eleven.example');
    const ten = await run('ten.example');
    expect(ten.spf?.lookups).toBe(10);
    expect(codes(ten)).not.toContain('SPF_TOO_MANY_LOOKUPS');
  });

  it('two SPF records: SPF_MULTIPLE; a DMARC pct below 100 is kept as a fact', async () => {
    const r = await run('two.example');
    expect(codes(r)).toContain('SPF_MULTIPLE');
    expect(r.dmarc?.policy).toMatchObject({ p: 'quarantine', pct: 50 });
  });

  it('an include loop is SPF_INVALID and ends', async () => {
    const r = await run('loop.example');
    expect(message(r, 'SPF_INVALID')).toContain('include loop: loop.example → loop2.example → loop.example');
  });

  it('a void-lookup storm: more than 2 void lookups is SPF_TOO_MANY_LOOKUPS', async () => {
    const r = await run('void.example');
    expect(r.spf?.voidLookups).toBe(4);
    expect(message(r, 'SPF_TOO_MANY_LOOKUPS')).toContain('4 void lookups (limit 2');
  });

  it('an include that has no SPF record is a permerror (RFC 7208 §5.2): SPF_INVALID with its path', async () => {
    const r = await run('dangling.example');
    expect(message(r, 'SPF_INVALID')).toContain('dangling.example → nospf.example: nospf.example has no SPF record');
  });

  it('everything wrong at once: +all-like, ptr, p=none, an unauthorised report destination, revoked, weak and testing keys', async () => {
    const r = await run('bad.example', ['revoked', 'weak', 'tiny', 'test', 'garbage', 'gone']);
    expect(codes(r)).toEqual(
      [
        'DKIM_KEY_INVALID',
        'DKIM_KEY_MISSING',
        'DKIM_KEY_REVOKED',
        'DKIM_KEY_WEAK',
        'DKIM_KEY_WEAK',
        'DKIM_TESTING',
        'DMARC_POLICY_NONE',
        'DMARC_REPORT_DEST_UNAUTHORIZED',
        'SPF_PERMISSIVE',
        'SPF_PERMISSIVE',
      ].sort(),
    );
    const weak = r.findings.filter((f) => f.code === 'DKIM_KEY_WEAK').map((f) => [f.severity, f.message]);
    expect(weak).toEqual(
      expect.arrayContaining([
        ['warning', expect.stringContaining('weak._domainkey.bad.example: RSA 1024 bits')],
        ['critical', expect.stringContaining('tiny._domainkey.bad.example: RSA 512 bits')],
      ]),
    );
    expect(message(r, 'DMARC_REPORT_DEST_UNAUTHORIZED')).toContain('elsewhere.example');
    expect(r.dmarc?.externalDestinations).toEqual([
      { host: 'elsewhere.example', authorized: false },
      { host: 'authorized.example', authorized: true },
    ]);
    expect(r.spf?.allowsAnySender).toBe(true);
    expect(r.status).toBe('critical');
  });

  it('DMARC from the organisational domain (public suffix list) for a subdomain without its own record', async () => {
    const r = await run('news.good.example');
    expect(r.dmarc?.name).toBe('_dmarc.good.example');
    expect(codes(r)).not.toContain('DMARC_MISSING');
    const none = await run('eleven.example');
    expect(message(none, 'DMARC_MISSING')).toBe('no v=DMARC1 record at _dmarc.eleven.example');
  });

  it('a null MX with SPF that allows senders is MX_NULL_WITH_SPF; with -all it is fine; no MX and no address is MX_NONE', async () => {
    expect(codes(await run('nullmx.example'))).toContain('MX_NULL_WITH_SPF');
    const fine = await run('nullok.example');
    expect(fine.mx?.nullMx).toBe(true);
    expect(codes(fine)).toEqual([]);
    expect(codes(await run('nomail.example'))).toContain('MX_NONE');
  });

  it('a SERVFAIL is SENDER_AUTH_DNS_ERROR, never SPF_MISSING or DMARC_MISSING', async () => {
    const r = await run('broken.example', ['s1']);
    expect(codes(r)).not.toContain('SPF_MISSING');
    expect(codes(r)).not.toContain('DMARC_MISSING');
    expect(codes(r)).not.toContain('DKIM_KEY_MISSING');
    expect(codes(r)).toContain('SENDER_AUTH_DNS_ERROR');
  });
});

describe('sender-auth under hostile zones (bounded by caps and the deadline)', () => {
  it('10,000 characters of SPF in 255-byte strings (over TCP): SPF_INVALID, not evaluated', async () => {
    const r = await run('huge.example');
    expect(message(r, 'SPF_INVALID')).toMatch(/is \d{4,5} bytes; not evaluated \(cap 4096\)/);
    expect(dns.queries.some((q) => q.name === 'huge.example' && q.transport === 'tcp')).toBe(true);
  });

  it('an include chain 50 deep stops at the depth cap and still says it is over the limit', async () => {
    const before = dns.queries.length;
    const r = await run('l0.deep.example');
    expect(r.spf?.truncated).toBe(true);
    expect(message(r, 'SPF_TOO_MANY_LOOKUPS')).toMatch(/^at least 1[0-9] DNS-querying terms/);
    // Bounded work: the depth cap, not the zone, decides how many names were asked.
    expect(dns.queries.length - before).toBeLessThan(30);
  });

  it('a label with a NUL never reaches a DNS query', async () => {
    const r = await run('nul.example');
    expect(message(r, 'SPF_INVALID')).toContain('control, space or non-ASCII');
    expect(dns.queries.some((q) => q.name.includes('evil'))).toBe(false);
  });

  it('a name server that never answers: the check ends at its deadline with SENDER_AUTH_DNS_ERROR', async () => {
    const quick = createContext({ ...ctx, timeoutMs: 1500 });
    const started = Date.now();
    const r = await run('slow.example', ['s1'], quick);
    expect(codes(r)).toContain('SENDER_AUTH_DNS_ERROR');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a domain that is not a host name is refused before any lookup', async () => {
    const r = await run('bad\u0000name.example');
    expect(codes(r)).toEqual(['SPF_INVALID']);
  });
});

describe('SES identities: the selectors are the Easy DKIM tokens, read from SES', () => {
  it('checks <token>._domainkey.<domain> for each token SES reports', async () => {
    const ses = mockClient(SESClient);
    ses.on(GetIdentityDkimAttributesCommand, { Identities: ['good.example'] }).resolves({
      DkimAttributes: {
        'good.example': {
          DkimEnabled: true,
          DkimVerificationStatus: 'Success',
          DkimTokens: ['SesToken1', 'missingtoken'],
        },
      },
    });
    const r = await runSenderAuthCheck(
      { check: 'sender-auth', domain: 'good.example', ses: { region: 'eu-west-1' } },
      ctx,
      {
        sesClient: new SESClient({ region: 'eu-west-1' }),
      },
    );
    expect(r.ses).toEqual({ region: 'eu-west-1', selectors: ['sestoken1', 'missingtoken'], status: 'Success' });
    // The token's CNAME is followed to the key SES publishes.
    expect(r.dkim.map((d) => [d.selector, d.present, d.key?.bits])).toEqual([
      ['sestoken1', true, 2048],
      ['missingtoken', false, undefined],
    ]);
    expect(message(r, 'DKIM_KEY_MISSING')).toBe('no DKIM key at missingtoken._domainkey.good.example');
    ses.restore();
  });

  it('an SES API failure is SES_API_ERROR; SPF and DMARC are still judged', async () => {
    const ses = mockClient(SESClient);
    ses
      .on(GetIdentityDkimAttributesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const r = await runSenderAuthCheck(
      { check: 'sender-auth', domain: 'good.example', ses: { region: 'eu-west-1' } },
      ctx,
      {
        sesClient: new SESClient({ region: 'eu-west-1' }),
      },
    );
    expect(codes(r)).toEqual(['SES_API_ERROR']);
    expect(r.spf?.lookups).toBe(1);
    ses.restore();
  });
});
