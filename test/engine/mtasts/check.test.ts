import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../../lambdas/engine/findings.js';
import { runMtaStsCheck, type MtaStsDeps, type MtaStsResult } from '../../../lambdas/engine/mtasts/check.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { startDnsServer, type DnsTestServer, type Zone } from '../../../testkit/dns-server.js';
import { drip, startHttpsServer, type HttpsTestServer } from '../../../testkit/https-server.js';
import { createTestPki, type ServerCredentials, type TestPki } from '../../../testkit/pki.js';
import { startSilentServerAt } from '../../../testkit/tls-servers.js';

/** An MX host: smtp-server on a loopback address of its own, all on one port number like port 25. */
async function startMx(address: string, port: number, options: SMTPServerOptions): Promise<SMTPServer> {
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH'],
    onData: (stream, _session, callback) => {
      stream.resume();
      stream.on('end', () => callback());
    },
    ...options,
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return server;
}

const closeMx = (server: SMTPServer): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

const policyText = (mode: string, mx: string[], maxAge = 604800): string =>
  `version: STSv1\nmode: ${mode}\n${mx.map((m) => `mx: ${m}\n`).join('')}max_age: ${maxAge}\n`;

const POLICIES: Record<string, string> = {
  'mta-sts.good.example': policyText('enforce', ['mx-a.good.example']),
  'mta-sts.bad.example': policyText('enforce', ['*.bad.example']),
  'mta-sts.testing.example': policyText('testing', ['*.testing.example'], 3600),
  'mta-sts.none.example': policyText('none', []),
  'mta-sts.invalid.example': 'version: STSv1\nmode: enforce\nmx: mx-a.good.example.\nmax_age: 1e3\n',
  'mta-sts.implicit.example': policyText('enforce', ['implicit.example']),
  'mta-sts.nullmx.example': policyText('none', []),
  'mta-sts.hosted.example': policyText('enforce', ['mx-a.good.example']),
  'mta-sts.testtxt.example': policyText('testing', ['b.testing.example']),
  'mta-sts.testmulti.example': policyText('testing', ['b.testing.example']),
  'mta-sts.spaced.example': policyText('enforce', ['mx-a.good.example']),
  'mta-sts.colon.example': policyText('enforce', ['mx-a.good.example']),
  'mta-sts.multihomed.example': policyText('enforce', ['mx-multi.good.example']),
  'mta-sts.waves.example': policyText('enforce', ['*.waves.example']),
  'mta-sts.dualstack.example': policyText('enforce', ['mx-v6.good.example']),
};

/** Served, but under a name the HTTPS certificate does not cover. */
const UNCERTIFIED_POLICIES: Record<string, string> = {
  'mta-sts.sneaky.example': policyText('testing', ['*.sneaky.example']),
};

function byCode(findings: readonly Finding[]): Record<string, string> {
  return Object.fromEntries(findings.map((f) => [f.code, f.severity]));
}

describe('mta-sts check against real DNS, HTTPS and SMTP servers on loopback', () => {
  let pki: TestPki;
  let dns: DnsTestServer;
  let https: HttpsTestServer;
  const mx: SMTPServer[] = [];
  let mxPort: number;
  let ctx: ProbeContext;
  let deps: MtaStsDeps;
  let blackhole: { close(): Promise<void> } | undefined;

  beforeAll(async () => {
    pki = await createTestPki();
    const leaf = async (names: string[], extra = {}): Promise<ServerCredentials> =>
      pki.credentials(await pki.issueLeaf({ dnsNames: names, ipAddresses: [], ...extra }));

    https = await startHttpsServer(await leaf(Object.keys(POLICIES).concat('mta-sts.slow.example')), (req, res) => {
      const host = (req.headers.host ?? '').toLowerCase();
      const body = POLICIES[host] ?? UNCERTIFIED_POLICIES[host];
      if (body === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no policy here');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(body);
    });

    // A: good STARTTLS; B: no STARTTLS; C: certificate for another name; D (127.0.0.5): nothing listens;
    // E: STARTTLS but TLS 1.1 at most.
    // The certificate also names good.example and bad.example (a self-hosted MX), so those
    // domains get no MX_CERT_DOMAIN_MISMATCH; hosted.example uses the same MX without that.
    const goodNames = [
      'good.example',
      'bad.example',
      'mx-a.good.example',
      'mx-multi.good.example',
      'waves.example',
      'multihomed.example',
      'dualstack.example',
      'mx-v6.good.example',
      'w1.waves.example',
      'w2.waves.example',
      'w3.waves.example',
      'a.bad.example',
      'mx.other.example',
      'implicit.example',
      'a.testing.example',
    ];
    const a = await startMx('127.0.0.2', 0, { ...(await leaf(goodNames)) });
    mx.push(a);
    mxPort = (a.server.address() as AddressInfo).port;
    mx.push(await startMx('127.0.0.3', mxPort, { hideSTARTTLS: true }));
    mx.push(await startMx('127.0.0.4', mxPort, { ...(await leaf(['mail.example.net'])) }));
    // 127.0.0.8: a blackholed address on the MX port; 127.0.0.9: nothing listens.
    blackhole = await startSilentServerAt('127.0.0.8', mxPort);
    mx.push(
      await startMx('127.0.0.6', mxPort, {
        ...(await leaf(['e.bad.example'])),
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    );

    const zone: Zone = {
      // good.example: everything right.
      'good.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.good.example': { TXT: [['v=STSv1; ', 'id=20240101T000000']] },
      '_smtp._tls.good.example': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@good.example'] },
      'mta-sts.good.example': { A: ['127.0.0.1'] },
      'mx-a.good.example': { A: ['127.0.0.2'] },
      // bad.example: one MX of each kind of failure.
      'bad.example': {
        MX: [
          { priority: 10, exchange: 'a.bad.example' },
          { priority: 20, exchange: 'b.bad.example' },
          { priority: 30, exchange: 'c.bad.example' },
          { priority: 40, exchange: 'd.bad.example' },
          { priority: 50, exchange: 'mx.other.example' },
          { priority: 60, exchange: 'e.bad.example' },
        ],
      },
      '_mta-sts.bad.example': { TXT: ['v=STSv1; id=bad1'] },
      '_smtp._tls.bad.example': { TXT: ['v=TLSRPTv1; rua=tlsrpt@bad.example'] },
      'mta-sts.bad.example': { A: ['127.0.0.1'] },
      'a.bad.example': { A: ['127.0.0.2'] },
      'b.bad.example': { A: ['127.0.0.3'] },
      'c.bad.example': { A: ['127.0.0.4'] },
      'd.bad.example': { A: ['127.0.0.5'] },
      'e.bad.example': { A: ['127.0.0.6'] },
      'mx.other.example': { A: ['127.0.0.2'] },
      // testing.example: the same kind of failure, softened by the mode.
      'testing.example': { MX: [{ priority: 10, exchange: 'b.testing.example' }] },
      '_mta-sts.testing.example': { CNAME: '_mta-sts.alias.example' },
      '_mta-sts.alias.example': { TXT: ['v=STSv1; id=t1'] },
      '_smtp._tls.testing.example': {
        TXT: ['v=TLSRPTv1; rua=mailto:a@testing.example', 'v=TLSRPTv1; rua=mailto:b@testing.example'],
      },
      'mta-sts.testing.example': { A: ['127.0.0.1'] },
      'b.testing.example': { A: ['127.0.0.3'] },
      'none.example': { MX: [{ priority: 10, exchange: 'b.none.example' }] },
      '_mta-sts.none.example': { TXT: ['v=STSv1; id=n1'] },
      'mta-sts.none.example': { A: ['127.0.0.1'] },
      'b.none.example': { A: ['127.0.0.3'] },
      'invalid.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.invalid.example': { TXT: ['v=STSv1; id=i1'] },
      'mta-sts.invalid.example': { A: ['127.0.0.1'] },
      // sneaky.example: a testing-mode policy behind a certificate for other names.
      'sneaky.example': { MX: [{ priority: 10, exchange: 'b.sneaky.example' }] },
      '_mta-sts.sneaky.example': { TXT: ['v=STSv1; id=sn1'] },
      'mta-sts.sneaky.example': { A: ['127.0.0.1'] },
      'b.sneaky.example': { A: ['127.0.0.3'] },
      // Discovery edge cases.
      'notxt.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      'servfail.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.servfail.example': 'SERVFAIL',
      'multi.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.multi.example': { TXT: ['v=STSv1; id=one', 'v=STSv1; id=two', 'unrelated'] },
      'mta-sts.multi.example': { A: ['127.0.0.1'] },
      'badtxt.example': {},
      '_mta-sts.badtxt.example': { TXT: ['v=STSv1; id=' + 'x'.repeat(33)] },
      'implicit.example': { A: ['127.0.0.2'] },
      '_mta-sts.implicit.example': { TXT: ['v=STSv1; id=im1'] },
      'mta-sts.implicit.example': { A: ['127.0.0.1'] },
      'nullmx.example': { MX: [{ priority: 0, exchange: '.' }] },
      '_mta-sts.nullmx.example': { TXT: ['v=STSv1; id=nm1'] },
      'mta-sts.nullmx.example': { A: ['127.0.0.1'] },
      'slow.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.slow.example': { TXT: ['v=STSv1; id=s1'] },
      'mta-sts.slow.example': { A: ['127.0.0.1'] },
      // hosted.example: its MX is a provider's host, whose certificate does not name the domain.
      'hosted.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.hosted.example': { TXT: ['v=STSv1; id=h1'] },
      '_smtp._tls.hosted.example': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@hosted.example'] },
      'mta-sts.hosted.example': { A: ['127.0.0.1'] },
      // A testing-mode policy behind a TXT record senders cannot use: nothing softens that.
      'testtxt.example': { MX: [{ priority: 10, exchange: 'b.testing.example' }] },
      '_mta-sts.testtxt.example': { TXT: ['v=STSv1; id=' + 'x'.repeat(33)] },
      'mta-sts.testtxt.example': { A: ['127.0.0.1'] },
      'testmulti.example': { MX: [{ priority: 10, exchange: 'b.testing.example' }] },
      '_mta-sts.testmulti.example': { TXT: ['v=STSv1; id=m1', 'v=STSv1; id=m2'] },
      'mta-sts.testmulti.example': { A: ['127.0.0.1'] },
      // Near misses: spaces in the tag, a space before the ";" (senders discard both).
      'spaced.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.spaced.example': { TXT: ['v = STSv1; id=sp1'] },
      '_smtp._tls.spaced.example': { TXT: ['v=TLSRPTv1 ; rua=mailto:tlsrpt@spaced.example'] },
      'mta-sts.spaced.example': { A: ['127.0.0.1'] },
      'colon.example': { MX: [{ priority: 10, exchange: 'mx-a.good.example' }] },
      '_mta-sts.colon.example': { TXT: ['v=STSv1 ; id=c1'] },
      '_smtp._tls.colon.example': { TXT: [' v=TLSRPTv1; rua=mailto:tlsrpt@colon.example'] },
      'mta-sts.colon.example': { A: ['127.0.0.1'] },
      // multihomed.example: one MX, three addresses: blackholed, refused, good.
      'multihomed.example': { MX: [{ priority: 10, exchange: 'mx-multi.good.example' }] },
      '_mta-sts.multihomed.example': { TXT: ['v=STSv1; id=mh1'] },
      '_smtp._tls.multihomed.example': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@multihomed.example'] },
      'mta-sts.multihomed.example': { A: ['127.0.0.1'] },
      'mx-multi.good.example': { A: ['127.0.0.8', '127.0.0.9', '127.0.0.2'] },
      // waves.example: probed one at a time, the first MX blackholed, the others healthy.
      'waves.example': {
        MX: [
          { priority: 10, exchange: 'w1.waves.example' },
          { priority: 20, exchange: 'w2.waves.example' },
          { priority: 30, exchange: 'w3.waves.example' },
        ],
      },
      '_mta-sts.waves.example': { TXT: ['v=STSv1; id=w1'] },
      '_smtp._tls.waves.example': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@waves.example'] },
      'mta-sts.waves.example': { A: ['127.0.0.1'] },
      'w1.waves.example': { A: ['127.0.0.8'] },
      'w2.waves.example': { A: ['127.0.0.2'] },
      'w3.waves.example': { A: ['127.0.0.2'] },
      // dualstack.example: the MX has an IPv6 address too, where nothing listens.
      'dualstack.example': { MX: [{ priority: 10, exchange: 'mx-v6.good.example' }] },
      '_mta-sts.dualstack.example': { TXT: ['v=STSv1; id=ds1'] },
      '_smtp._tls.dualstack.example': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@dualstack.example'] },
      'mta-sts.dualstack.example': { A: ['127.0.0.1'] },
      'mx-v6.good.example': { A: ['127.0.0.2'], AAAA: ['::1'] },
    };
    dns = await startDnsServer(zone);
    ctx = createContext({
      resolver: new DnsResolver({ server: dns.server, timeoutMs: 500, tries: 1 }),
      extraCa: [pki.caPem],
      allowPrivate: true,
      timeoutMs: 20_000,
    });
    deps = { mxPort, policyPort: https.port };
  });

  afterAll(async () => {
    await Promise.all([...mx.map(closeMx), dns?.close(), https?.close(), blackhole?.close()]);
  });

  const run = (domain: string, c: ProbeContext = ctx, d: MtaStsDeps = deps): Promise<MtaStsResult> =>
    runMtaStsCheck({ check: 'mta-sts', domain }, c, d);

  it('passes a domain with a valid record, policy, MX and TLS-RPT', async () => {
    const result = await run('good.example');
    expect(result.findings).toEqual([]);
    expect(result).toMatchObject({
      check: 'mta-sts',
      target: 'good.example',
      status: 'ok',
      txt: { id: '20240101T000000', valid: true },
      policy: { mode: 'enforce', maxAge: 604800, mx: ['mx-a.good.example'], id: '20240101T000000' },
      policyHost: { host: 'mta-sts.good.example', status: 200, address: '127.0.0.1' },
      tlsRpt: { valid: true, rua: ['mailto:tlsrpt@good.example'] },
      acceptsMail: true,
    });
    expect(result.policyHost?.daysToExpiry).toBeGreaterThanOrEqual(88);
    expect(result.mx).toHaveLength(1);
    expect(result.mx[0]).toMatchObject({
      host: 'mx-a.good.example',
      priority: 10,
      covered: true,
      pattern: 'mx-a.good.example',
      addresses: ['127.0.0.2'],
      address: '127.0.0.2',
      tls: { verified: true, servername: 'mx-a.good.example' },
      probes: [{ address: '127.0.0.2', outcome: 'passed', findings: [] }],
      findings: [],
    });
  });

  it('reports each broken MX in enforce mode as critical, naming the host', async () => {
    const result = await run('bad.example');
    expect(result.status).toBe('critical');
    const perHost = Object.fromEntries(result.mx.map((m) => [m.host, byCode(m.findings)]));
    expect(perHost).toEqual({
      'a.bad.example': {},
      'b.bad.example': { MTASTS_MX_NO_STARTTLS: 'critical' },
      'c.bad.example': { MTASTS_MX_CERT_INVALID: 'critical' },
      'd.bad.example': { MTASTS_MX_UNREACHABLE: 'critical' },
      'mx.other.example': { MTASTS_MX_NOT_COVERED: 'critical' },
      'e.bad.example': { MTASTS_MX_NO_STARTTLS: 'critical' },
    });
    const message = (host: string) => result.mx.find((m) => m.host === host)?.findings[0]?.message ?? '';
    expect(message('b.bad.example')).toMatch(/^MX b\.bad\.example \(127\.0\.0\.3\): STARTTLS_NOT_OFFERED/);
    expect(message('c.bad.example')).toMatch(/CERT_NAME_MISMATCH: .*c\.bad\.example.*mail\.example\.net/);
    expect(message('d.bad.example')).toMatch(/CONNECT_REFUSED/);
    expect(message('mx.other.example')).toBe(
      'MX mx.other.example (priority 50) matches no mx pattern of the policy (*.bad.example)',
    );
    expect(message('e.bad.example')).toMatch(/TLSv1\.1/);
    expect(result.mx.map((m) => m.covered)).toEqual([true, true, true, true, false, true]);
    expect(byCode(result.findings)).toMatchObject({ TLSRPT_INVALID: 'warning' });
    expect(result.findings.find((f) => f.code === 'TLSRPT_INVALID')?.message).toMatch(
      /has no scheme: write mailto:tlsrpt@bad\.example/,
    );
  });

  it('softens the same problems to warnings in testing mode', async () => {
    const result = await run('testing.example');
    expect(result.policy?.mode).toBe('testing');
    expect(byCode(result.findings)).toEqual({
      MTASTS_MODE_TESTING: 'info',
      MTASTS_MAX_AGE_SHORT: 'warning',
      TLSRPT_MULTIPLE: 'warning',
      MTASTS_MX_NO_STARTTLS: 'warning',
    });
    expect(result.status).toBe('warning');
    // The TXT record was found through a CNAME.
    expect(result.txt).toMatchObject({ id: 't1', valid: true });
  });

  it('reports mode none and keeps MX problems informational', async () => {
    const result = await run('none.example');
    expect(byCode(result.findings)).toMatchObject({ MTASTS_MODE_NONE: 'warning', MTASTS_MX_NO_STARTTLS: 'info' });
    expect(result.mx[0]?.covered).toBe(false);
    expect(result.findings.some((f) => f.code === 'MTASTS_MX_NOT_COVERED')).toBe(false);
  });

  it('never lets an unauthenticated policy soften severities (RFC 8461 §3.3)', async () => {
    const result = await runMtaStsCheck({ check: 'mta-sts', domain: 'sneaky.example' }, ctx, deps);
    expect(result.policy).toMatchObject({ mode: 'testing', authenticated: false });
    const codes = byCode(result.findings);
    expect(codes.MTASTS_POLICY_CERT_INVALID).toBe('critical');
    expect(codes.MTASTS_MX_NO_STARTTLS).toBe('critical');
    expect(result.status).toBe('critical');
  });

  it('names the policy lines that are wrong', async () => {
    const result = await run('invalid.example');
    const invalid = result.findings.find((f) => f.code === 'MTASTS_POLICY_INVALID');
    expect(invalid?.severity).toBe('critical');
    expect(invalid?.message).toBe(
      'https://mta-sts.invalid.example:' +
        `${https.port}/.well-known/mta-sts.txt: line 3: mx pattern "mx-a.good.example." must not end with a dot; ` +
        'line 4: max_age must be a whole number of seconds written with digits only, found "1e3"',
    );
    expect(result.policy).toBeUndefined();
  });

  it('reports a missing record without fetching anything', async () => {
    const before = https.requests.length;
    const result = await run('notxt.example');
    expect(byCode(result.findings)).toEqual({ MTASTS_TXT_MISSING: 'critical', TLSRPT_MISSING: 'warning' });
    expect(https.requests.length).toBe(before);
    expect(result.mx[0]?.tls).toBeUndefined();
  });

  it('treats SERVFAIL as a DNS error, never as "no policy"', async () => {
    const result = await run('servfail.example');
    expect(byCode(result.findings)).toMatchObject({ MTASTS_DNS_ERROR: 'critical' });
    expect(result.findings.some((f) => f.code === 'MTASTS_TXT_MISSING')).toBe(false);
  });

  it('reports several STS records and an invalid one', async () => {
    const multi = await run('multi.example');
    expect(byCode(multi.findings)).toMatchObject({ MTASTS_TXT_MULTIPLE: 'critical' });
    expect(multi.findings.find((f) => f.code === 'MTASTS_TXT_MULTIPLE')?.message).toMatch(/has 2 v=STSv1 records/);
    const bad = await run('badtxt.example');
    expect(bad.findings.find((f) => f.code === 'MTASTS_TXT_INVALID')?.message).toMatch(/it has 33 characters/);
  });

  it('uses the domain as implicit MX and recognises a null MX', async () => {
    const implicit = await run('implicit.example');
    expect(implicit).toMatchObject({ implicitMx: true });
    expect(byCode(implicit.findings)).toEqual({ TLSRPT_MISSING: 'warning' });
    expect(implicit.mx).toMatchObject([{ host: 'implicit.example', covered: true, tls: { verified: true } }]);
    const nullMx = await run('nullmx.example');
    expect(nullMx).toMatchObject({ acceptsMail: false, mx: [] });
  });

  it('refuses loopback addresses from DNS unless private addresses are allowed', async () => {
    const strict = createContext({ ...ctx, allowPrivate: false });
    const before = https.requests.length;
    const result = await run('good.example', strict);
    expect(byCode(result.findings)).toEqual({ ADDRESS_BLOCKED: 'critical' });
    expect(result.mx[0]?.findings.map((f) => f.code)).toEqual(['ADDRESS_BLOCKED']);
    expect(result.mx[0]?.findings[0]?.message).toMatch(/MX mx-a\.good\.example resolves only to non-public addresses/);
    expect(https.requests.length).toBe(before);
  });

  it('finishes within the check deadline when the policy host drips', async () => {
    https.respond(drip('version: STSv1\n', 1000));
    try {
      const quick = createContext({ ...ctx, timeoutMs: 2000 });
      const settled = await Promise.race([
        run('slow.example', quick),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000)),
      ]);
      expect(settled).not.toBe('hung');
      const result = settled as MtaStsResult;
      expect(result.findings.find((f) => f.code === 'MTASTS_POLICY_UNREACHABLE')?.message).toMatch(/did not complete/);
    } finally {
      https.respond((req, res) => {
        const body = POLICIES[(req.headers.host ?? '').toLowerCase()] ?? '';
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(body);
      });
    }
  });

  it('probes MX hosts concurrently but never more than the cap at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const probed: string[] = [];
    const result = await run('bad.example', ctx, {
      ...deps,
      mxConcurrency: 2,
      probeMx: async (host) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        probed.push(host);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight -= 1;
        return { tls: { protocol: 'TLSv1.3', cipher: 'x', verified: true, servername: host, chain: [] }, findings: [] };
      },
    });
    expect(peak).toBe(2);
    expect(probed).toHaveLength(6);
    expect(result.mx.map((m) => m.findings.map((f) => f.code))).toEqual([
      [],
      [],
      [],
      [],
      ['MTASTS_MX_NOT_COVERED'],
      [],
    ]);
  });
  it('tells a hosted domain apart: the MX certificate names the MX host, not the mail domain (info)', async () => {
    const result = await run('hosted.example');
    expect(result.status).toBe('ok');
    expect(result.mx[0]?.findings).toEqual([
      {
        code: 'MX_CERT_DOMAIN_MISMATCH',
        severity: 'info',
        message: expect.stringMatching(
          /^MX mx-a\.good\.example: the certificate is valid for mx-a\.good\.example but not for the mail domain hosted\.example \(it names good\.example, bad\.example, mx-a\.good\.example/,
        ),
        hint: expect.stringContaining('TLS Required – Verify'),
      },
    ]);
    expect(byCode(result.findings)).toEqual({ MX_CERT_DOMAIN_MISMATCH: 'info' });
  });

  it('never lets a testing policy soften a TXT record senders cannot use (invalid or duplicated)', async () => {
    const invalid = await run('testtxt.example');
    expect(invalid.policy?.mode).toBe('testing');
    expect(byCode(invalid.findings)).toMatchObject({ MTASTS_TXT_INVALID: 'critical', MTASTS_MODE_TESTING: 'info' });
    // No sender fetches that policy, so its mode softens the MX findings no more than the TXT record's.
    expect(byCode(invalid.findings)).toMatchObject({ MTASTS_MX_NO_STARTTLS: 'critical' });
    expect(invalid.status).toBe('critical');
    const multiple = await run('testmulti.example');
    expect(byCode(multiple.findings)).toMatchObject({ MTASTS_TXT_MULTIPLE: 'critical' });
    expect(multiple.status).toBe('critical');
  });

  it('reports near-miss records as invalid with the exact problem, never as missing', async () => {
    const spaced = await run('spaced.example');
    expect(spaced.findings.filter((f) => f.code.endsWith('_MISSING'))).toEqual([]);
    expect(spaced.findings.find((f) => f.code === 'MTASTS_TXT_INVALID')).toMatchObject({
      severity: 'critical',
      message: expect.stringContaining('no spaces are allowed around "=" in the version tag: write v=STSv1;'),
    });
    expect(spaced.findings.find((f) => f.code === 'TLSRPT_INVALID')?.message).toContain(
      'remove the whitespace between v=TLSRPTv1 and ";"',
    );
    // RFC 8461 §3.1: "v=STSv1 ;" does not begin with "v=STSv1;", so senders discard it.
    const colon = await run('colon.example');
    expect(colon.txt).toMatchObject({ valid: false, records: ['v=STSv1 ; id=c1'] });
    expect(colon.findings.find((f) => f.code === 'MTASTS_TXT_INVALID')?.message).toContain(
      'remove the whitespace between v=STSv1 and ";": senders discard a record that does not begin with "v=STSv1;"',
    );
    expect(colon.findings.find((f) => f.code === 'TLSRPT_INVALID')?.message).toContain(
      'leading whitespace before v=TLSRPTv1',
    );
  });

  it('tries every address of an MX and reports each; one good address keeps the MX usable', async () => {
    const result = await run('multihomed.example', createContext({ ...ctx, timeoutMs: 3000 }));
    const host = result.mx[0];
    expect(host?.addresses).toEqual(['127.0.0.8', '127.0.0.9', '127.0.0.2']);
    expect(host?.probes.map((p) => [p.address, p.outcome, p.findings.map((f) => `${f.code}:${f.severity}`)])).toEqual([
      // Blackholed: the probe used its whole share of the deadline, so it was not judged.
      ['127.0.0.8', 'deadline', ['DEADLINE_EXCEEDED:warning']],
      ['127.0.0.9', 'failed', ['MTASTS_MX_UNREACHABLE:warning']],
      ['127.0.0.2', 'passed', []],
    ]);
    // The session shown is the address that passed; senders that try the others first still deliver.
    expect(host).toMatchObject({ address: '127.0.0.2', tls: { verified: true } });
    expect(host?.probes[1]?.findings[0]?.message).toMatch(
      /^MX mx-multi\.good\.example \(127\.0\.0\.9\): CONNECT_REFUSED/,
    );
    // Port 25 is plainly reachable (another address answered): no AWS port-25 advice for this one.
    expect(host?.probes[1]?.findings[0]?.hint).toMatch(/^Another address of this MX host passed/);
    expect(result.status).toBe('warning');
  });

  it('budgets MX waves: a blackholed first MX is DEADLINE_EXCEEDED and the healthy ones after it still pass', async () => {
    const result = await run('waves.example', createContext({ ...ctx, timeoutMs: 3000 }), {
      ...deps,
      mxConcurrency: 1,
    });
    const perHost = Object.fromEntries(result.mx.map((m) => [m.host, byCode(m.findings)]));
    expect(perHost).toEqual({
      'w1.waves.example': { DEADLINE_EXCEEDED: 'critical' },
      'w2.waves.example': {},
      'w3.waves.example': {},
    });
    const cut = result.mx[0]?.findings[0];
    expect(cut?.message).toMatch(
      /^MX w1\.waves\.example \(127\.0\.0\.8\): the check's deadline ended the probe after the \d+ ms this address could have \(GREETING_TIMEOUT: /,
    );
    expect(result.mx.map((m) => m.probes.map((p) => p.outcome))).toEqual([['deadline'], ['passed'], ['passed']]);
    // Not blamed on the network: no "AWS blocks outbound port 25" advice.
    expect(cut?.hint).not.toMatch(/port 25/);
    expect(result.findings.some((f) => f.code === 'MTASTS_MX_UNREACHABLE')).toBe(false);
  });

  it('with probeMx: false makes no MX connection, still checks coverage, and adds one info finding', async () => {
    let probes = 0;
    const counting: MtaStsDeps = {
      ...deps,
      probeMx: async () => {
        probes += 1;
        return { findings: [] };
      },
    };
    const good = await runMtaStsCheck({ check: 'mta-sts', domain: 'good.example', probeMx: false }, ctx, counting);
    expect(probes).toBe(0);
    expect(good.status).toBe('ok');
    expect(good.findings).toEqual([
      {
        code: 'MTASTS_MX_NOT_PROBED',
        severity: 'info',
        message:
          'the 1 MX host of good.example was not probed on port 25 (MX probing is off for this check); MX records and mx pattern coverage were checked',
        hint: expect.stringMatching(/VPC with a NAT gateway.*mx: always.*mailprobe mta-sts DOMAIN/),
      },
    ]);
    expect(good.mx).toMatchObject([{ host: 'mx-a.good.example', covered: true, probes: [], findings: [] }]);
    // Coverage still runs: the uncovered MX of bad.example is reported, its unreachable one is not probed.
    const bad = await runMtaStsCheck({ check: 'mta-sts', domain: 'bad.example', probeMx: false }, ctx, counting);
    expect(probes).toBe(0);
    expect(byCode(bad.findings)).toEqual({
      MTASTS_MX_NOT_PROBED: 'info',
      MTASTS_MX_NOT_COVERED: 'critical',
      TLSRPT_INVALID: 'warning',
    });
  });
  it('does not probe IPv6 addresses from a host without IPv6 (a Lambda outside a dual-stack VPC)', async () => {
    const v4only = await run('dualstack.example', ctx, { ...deps, ipv6: false });
    expect(v4only.status).toBe('ok');
    expect(v4only.mx[0]?.probes).toEqual([
      expect.objectContaining({ address: '127.0.0.2', outcome: 'passed', findings: [] }),
      { address: '::1', outcome: 'not-probed', reason: 'the probe host has no IPv6 address', findings: [] },
    ]);
    // With IPv6, the address is probed like any other: nothing listens there, so the MX is degraded.
    const dual = await run('dualstack.example', ctx, { ...deps, ipv6: true });
    expect(dual.mx[0]?.probes.map((p) => [p.address, p.outcome])).toEqual([
      ['127.0.0.2', 'passed'],
      ['::1', 'failed'],
    ]);
    expect(byCode(dual.findings)).toEqual({ MTASTS_MX_UNREACHABLE: 'warning' });
  });
});
