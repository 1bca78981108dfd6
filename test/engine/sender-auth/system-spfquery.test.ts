/**
 * The SPF lookup counts checked against an implementation nobody here wrote: Debian's
 * spf-tools-perl (`spfquery`, on Mail::SPF), asked about the same zones on the same DNS
 * server. Mail::SPF does not print its count, so the count is pinned from outside: with a
 * limit of N-1 DNS-interactive terms it must return permerror, with N it must not.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { runSenderAuthCheck } from '../../../lambdas/engine/sender-auth/check.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { BINARIES, systemRequirements } from '../../../testkit/system/requirements.js';
import { scenarioZone } from '../../../testkit/sender-auth-zones.js';

const run = promisify(execFile);
const req = systemRequirements('spfquery');

/** Mail::SPF with its limits set, against the test server's port (spfquery cannot be given a port). */
const MAIL_SPF = `
use strict; use Mail::SPF; use Net::DNS::Resolver;
my ($port, $domain, $terms, $voids) = @ARGV;
my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port, retry => 1, udp_timeout => 3, tcp_timeout => 3);
my $server = Mail::SPF::Server->new(dns_resolver => $res, max_dns_interactive_terms => $terms, max_void_dns_lookups => $voids);
my $request = Mail::SPF::Request->new(scope => 'mfrom', identity => "probe\\@$domain", ip_address => '192.0.2.99');
my $result = $server->process($request);
print $result->code, "\\t", $result->local_explanation, "\\n";
`;

async function mailSpf(port: number, domain: string, terms = 10, voids = 2): Promise<{ code: string; text: string }> {
  const { stdout } = await run('perl', ['-e', MAIL_SPF, String(port), domain, String(terms), String(voids)], {
    timeout: 20_000,
  });
  const [code = '', text = ''] = stdout.trim().split('\t');
  return { code, text };
}

describe.skipIf(req.skip)(req.title('SPF counts against spf-tools-perl (Mail::SPF)'), () => {
  req.enforce();
  let dns: DnsTestServer;
  let ctx: ProbeContext;
  beforeAll(async () => {
    dns = await startDnsServer(scenarioZone());
    ctx = createContext({ resolver: new DnsResolver({ server: dns.server, timeoutMs: 1000, tries: 1 }) });
  });
  afterAll(() => dns?.close());

  const ours = (domain: string) => runSenderAuthCheck({ check: 'sender-auth', domain }, ctx);

  it('the 11-lookup tree: permerror from Mail::SPF at the RFC limit, and the same count as ours', async () => {
    const result = await ours('eleven.example');
    expect(result.spf?.lookups).toBe(11);
    expect(result.findings.map((f) => f.code)).toContain('SPF_TOO_MANY_LOOKUPS');
    const atLimit = await mailSpf(dns.port, 'eleven.example', 10);
    expect(atLimit.code).toBe('permerror');
    expect(atLimit.text).toMatch(/Maximum DNS-interactive terms limit \(10\) exceeded/);
    // 11 terms fit a limit of 11: the independent count is exactly ours.
    expect((await mailSpf(dns.port, 'eleven.example', 11)).code).toBe('fail');
  });

  it('the 10-lookup tree: no permerror from either', async () => {
    expect((await ours('ten.example')).spf?.lookups).toBe(10);
    expect((await mailSpf(dns.port, 'ten.example', 10)).code).toBe('fail');
    expect((await mailSpf(dns.port, 'ten.example', 9)).code).toBe('permerror');
  });

  it('the void-lookup storm: both count more than 2 void lookups', async () => {
    expect((await ours('void.example')).spf?.voidLookups).toBe(4);
    const verdict = await mailSpf(dns.port, 'void.example');
    expect(verdict.code).toBe('permerror');
    expect(verdict.text).toMatch(/void DNS look-ups limit \(2\) exceeded/i);
  });

  it('two records and an include loop: permerror from Mail::SPF, SPF_MULTIPLE / SPF_INVALID from us', async () => {
    expect((await mailSpf(dns.port, 'two.example')).code).toBe('permerror');
    expect((await ours('two.example')).findings.map((f) => f.code)).toContain('SPF_MULTIPLE');
    expect((await mailSpf(dns.port, 'loop.example')).code).toBe('permerror');
    expect((await ours('loop.example')).findings.map((f) => f.code)).toContain('SPF_INVALID');
  });

  it('the spfquery command itself, pointed at the test zone on 127.0.53.53:53 (root only), agrees on the 11-lookup tree', async (test) => {
    if (process.getuid?.() !== 0) test.skip();
    let server: DnsTestServer;
    try {
      server = await startDnsServer(scenarioZone(), { address: '127.0.53.53', port: 53 });
    } catch {
      // Port 53 of that address is taken on this machine: Mail::SPF above already answered.
      test.skip();
      return;
    }
    try {
      const query = (domain: string) =>
        run(BINARIES.spfquery, ['--scope', 'mfrom', '--id', `probe@${domain}`, '--ip', '192.0.2.99'], {
          env: { ...process.env, RES_NAMESERVERS: '127.0.53.53' },
          timeout: 20_000,
        }).then(
          (r) => r.stdout,
          (err: { stdout?: string }) => err.stdout ?? '',
        );
      expect((await query('eleven.example')).split('\n')[0]).toBe('permerror');
      expect((await query('ten.example')).split('\n')[0]).toBe('fail');
    } finally {
      await server.close();
    }
  });
});
