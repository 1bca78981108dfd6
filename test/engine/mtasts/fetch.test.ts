import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import {
  fetchPolicy,
  MAX_POLICY_BYTES,
  mediaType,
  type PolicyFetchResult,
} from '../../../lambdas/engine/mtasts/fetch.js';
import { parsePolicy } from '../../../lambdas/engine/mtasts/policy.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import {
  drip,
  endlessChunked,
  GOOD_POLICY,
  gzipped,
  hugeHeaders,
  policy,
  redirect,
  startHttpsServer,
  type HttpsTestServer,
} from '../../../testkit/https-server.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startSilentServerAt } from '../../../testkit/tls-servers.js';

function codes(result: PolicyFetchResult): string[] {
  return result.findings.map((f) => f.code);
}

describe('policy fetch (RFC 8461 §3.3) against real HTTPS servers', () => {
  let pki: TestPki;
  let dns: DnsTestServer;
  let good: HttpsTestServer;
  let wrongName: HttpsTestServer;
  let expired: HttpsTestServer;
  let cnOnly: HttpsTestServer;
  let legacy: HttpsTestServer;
  let blackhole: { close(): Promise<void> };
  let ctx: ProbeContext;

  beforeAll(async () => {
    pki = await createTestPki();
    const leaf = (names: string[], extra = {}) => pki.issueLeaf({ dnsNames: names, ipAddresses: [], ...extra });
    good = await startHttpsServer(
      pki.credentials(await leaf(['mta-sts.example.com', 'mta-sts.multi.example'])),
      policy(GOOD_POLICY),
    );
    wrongName = await startHttpsServer(pki.credentials(await leaf(['www.wrong.example'])), policy(GOOD_POLICY));
    expired = await startHttpsServer(pki.credentials(await pki.expired()), policy(GOOD_POLICY));
    cnOnly = await startHttpsServer(
      pki.credentials(await leaf([], { commonName: 'mta-sts.cn.example' })),
      policy(GOOD_POLICY),
    );
    // A policy host whose TLS stops at 1.1 (an old appliance or a forgotten nginx default).
    legacy = await startHttpsServer(pki.credentials(await leaf(['mta-sts.legacy.example'])), policy(GOOD_POLICY), {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    // mta-sts.multi.example: the first A record is blackholed, the second serves the policy.
    blackhole = await startSilentServerAt('127.0.0.8', good.port);
    dns = await startDnsServer({
      'mta-sts.multi.example': { A: ['127.0.0.8', '127.0.0.1'] },
      'mta-sts.legacy.example': { A: ['127.0.0.1'] },
      'mta-sts.example.com': { A: ['127.0.0.1'] },
      'mta-sts.wrong.example': { A: ['127.0.0.1'] },
      'mta-sts.expired.example': { A: ['127.0.0.1'] },
      'mta-sts.cn.example': { A: ['127.0.0.1'] },
      'mta-sts.broken.example': 'SERVFAIL',
    });
    ctx = createContext({
      resolver: new DnsResolver({ server: dns.server, timeoutMs: 500, tries: 1 }),
      extraCa: [pki.caPem],
      allowPrivate: true,
    });
  });
  afterAll(async () => {
    await Promise.all([good, wrongName, expired, cnOnly, legacy, blackhole, dns].map((s) => s?.close()));
  });

  const fetchFrom = (domain: string, server: HttpsTestServer, c: ProbeContext = ctx, timeoutMs = 10_000) =>
    fetchPolicy(domain, c, { deadline: new Deadline(timeoutMs), port: server.port });

  it('fetches a good policy pinned to the resolved address, with SNI and Host set', async () => {
    good.respond(policy(GOOD_POLICY, { contentType: 'text/plain; charset=UTF-8' }));
    const before = good.requests.length;
    const queriesBefore = dns.queries.length;
    const result = await fetchFrom('Example.COM.', good);
    expect(codes(result)).toEqual([]);
    expect(result).toMatchObject({ host: 'mta-sts.example.com', address: '127.0.0.1', status: 200, body: GOOD_POLICY });
    expect(result.tls?.verified).toBe(true);
    expect(result.authenticated).toBe(true);
    expect(result.attempts).toEqual([{ address: '127.0.0.1', outcome: 'used' }]);
    expect(result.tls?.certificate?.daysToExpiry).toBeGreaterThanOrEqual(88);
    expect(good.requests.slice(before)).toMatchObject([
      {
        method: 'GET',
        path: '/.well-known/mta-sts.txt',
        host: 'mta-sts.example.com',
        servername: 'mta-sts.example.com',
      },
    ]);
    // One A and one AAAA query, nothing more: the connection used that answer.
    expect(
      dns.queries
        .slice(queriesBefore)
        .map((q) => `${q.name} ${q.type}`)
        .sort(),
    ).toEqual(['mta-sts.example.com A', 'mta-sts.example.com AAAA']);
  });

  it.each([
    [policy('not found', { status: 404 }), 'MTASTS_POLICY_HTTP_STATUS', /HTTP 404 instead of 200/],
    [policy('oops', { status: 500 }), 'MTASTS_POLICY_HTTP_STATUS', /HTTP 500/],
    [policy(GOOD_POLICY, { contentType: 'text/html' }), 'MTASTS_POLICY_CONTENT_TYPE', /Content-Type is text\/html/],
    [policy(GOOD_POLICY, { contentType: null }), 'MTASTS_POLICY_CONTENT_TYPE', /no Content-Type header/],
    [policy('x'.repeat(70 * 1024)), 'MTASTS_POLICY_TOO_LARGE', /Content-Length is 71680 bytes/],
    [hugeHeaders(), 'MTASTS_POLICY_TOO_LARGE', /response headers exceed 16384 bytes/],
    [gzipped('mx: a.example.com\n'.repeat(20_000)), 'MTASTS_POLICY_TOO_LARGE', /gzip-decoded body exceeds 65536/],
    [policy(Buffer.from([0x76, 0xff, 0xfe])), 'MTASTS_POLICY_INVALID', /not valid UTF-8/],
  ])('reports a bad response (%#): %s', async (responder, code, message) => {
    good.respond(responder);
    const result = await fetchFrom('example.com', good);
    expect(codes(result)).toEqual([code]);
    expect(result.findings[0]?.message).toMatch(message);
    expect(result.body).toBeUndefined();
  });

  it('keeps a UTF-8 byte-order mark, so the parser reports it as senders would trip over it', async () => {
    good.respond(policy(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GOOD_POLICY)])));
    const result = await fetchFrom('example.com', good);
    expect(codes(result)).toEqual([]);
    expect(result.body).toBe(`\uFEFF${GOOD_POLICY}`);
    expect(parsePolicy(result.body ?? '')).toMatchObject({
      ok: false,
      errors: [{ line: 1, message: 'the file starts with a byte-order mark (U+FEFF); save it without one' }],
    });
  });

  it('reports a redirect and never follows it', async () => {
    good.respond(redirect(`https://mta-sts.example.com:${good.port}/elsewhere.txt`));
    const before = good.requests.length;
    const result = await fetchFrom('example.com', good);
    expect(codes(result)).toEqual(['MTASTS_POLICY_REDIRECT']);
    expect(result.findings[0]?.message).toContain(
      `HTTP 301 redirect to https://mta-sts.example.com:${good.port}/elsewhere.txt`,
    );
    expect(good.requests.length - before).toBe(1);
  });

  it('accepts a gzip body the server sent unasked, decoded within the cap', async () => {
    good.respond(gzipped(GOOD_POLICY));
    const result = await fetchFrom('example.com', good);
    expect(codes(result)).toEqual([]);
    expect(result.body).toBe(GOOD_POLICY);
  });

  it('stops a chunked body of 70 KB and an endless one at the cap', async () => {
    good.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('y'.repeat(70 * 1024));
    });
    const big = await fetchFrom('example.com', good);
    expect(codes(big)).toEqual(['MTASTS_POLICY_TOO_LARGE']);

    good.respond(endlessChunked());
    const endless = await fetchFrom('example.com', good);
    expect(codes(endless)).toEqual(['MTASTS_POLICY_TOO_LARGE']);
    expect(endless.findings[0]?.message).toMatch(new RegExp(`exceeds ${MAX_POLICY_BYTES} bytes|on the wire`));
  });

  it('gives up on a body dripped one byte a second when the fetch deadline passes', async () => {
    good.respond(drip(GOOD_POLICY, 1000));
    const settled = await Promise.race([
      fetchFrom('example.com', good, ctx, 1500),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000)),
    ]);
    expect(settled).not.toBe('hung');
    const result = settled as PolicyFetchResult;
    expect(codes(result)).toEqual(['MTASTS_POLICY_UNREACHABLE']);
    expect(result.findings[0]?.message).toMatch(/did not complete within 1500 ms/);
  });

  it('gives each address its own share of the budget: a blackholed first A record does not stop the fetch', async () => {
    good.respond(policy(GOOD_POLICY));
    const result = await fetchFrom('multi.example', good, ctx, 3000);
    expect(result).toMatchObject({ address: '127.0.0.1', status: 200, body: GOOD_POLICY, authenticated: true });
    expect(result.attempts).toMatchObject([
      // Half of what was left of the 3000 ms: the other half stays for the next address.
      { address: '127.0.0.8', outcome: 'failed', reason: expect.stringMatching(/^no TLS handshake within \d+ ms$/) },
      { address: '127.0.0.1', outcome: 'used' },
    ]);
    // Fetched, but senders whose client tries the dead address first wait or fail: a warning.
    expect(result.findings).toMatchObject([
      {
        code: 'MTASTS_POLICY_UNREACHABLE',
        severity: 'warning',
        hint: expect.stringMatching(/^One address of the policy host/),
      },
    ]);
    expect(result.findings[0]?.message).toMatch(
      /^mta-sts\.multi\.example address 127\.0\.0\.8 port \d+: no TLS handshake within \d+ ms; the policy was fetched from 127\.0\.0\.1/,
    );
  });

  it('judges the TLS version: a policy host that speaks only TLS 1.0/1.1 is not an authenticated policy', async () => {
    const result = await fetchFrom('legacy.example', legacy);
    expect(result.tls?.protocol).toBe('TLSv1.1');
    // The certificate is fine; the protocol alone makes senders' HTTPS clients refuse it.
    expect(result.tls?.verified).toBe(true);
    expect(codes(result)).toEqual(['MTASTS_POLICY_TLS_LEGACY']);
    expect(result.findings[0]).toMatchObject({ severity: 'critical' });
    expect(result.findings[0]?.message).toMatch(
      /mta-sts\.legacy\.example \(127\.0\.0\.1\) negotiated TLSv1\.1 although the probe offered up to TLS 1\.3/,
    );
    expect(result.authenticated).toBe(false);
    // Still read, so the owner learns everything in one run.
    expect(result.body).toBe(GOOD_POLICY);
  });

  it('reports a certificate for another name, with its days to expiry', async () => {
    const result = await fetchFrom('wrong.example', wrongName);
    expect(codes(result)).toEqual(['MTASTS_POLICY_CERT_INVALID']);
    expect(result.findings[0]?.message).toMatch(
      /CERT_NAME_MISMATCH: .*not valid for mta-sts\.wrong\.example.*www\.wrong\.example/,
    );
    expect(result.tls?.certificate?.daysToExpiry).toBeGreaterThanOrEqual(88);
    // The body is still read, so the owner learns about both problems at once.
    expect(result.body).toBe(GOOD_POLICY);
  });

  it('reports an expired certificate', async () => {
    const result = await fetchFrom('expired.example', expired);
    expect(codes(result)).toContain('MTASTS_POLICY_CERT_INVALID');
    expect(result.findings[0]?.message).toMatch(/CERT_EXPIRED/);
    expect(result.tls?.certificate?.daysToExpiry).toBeLessThan(0);
  });

  it('does not fall back to the subject CN (DNS-ID only)', async () => {
    const result = await fetchFrom('cn.example', cnOnly);
    expect(codes(result)).toEqual(['MTASTS_POLICY_CERT_INVALID']);
    expect(result.findings[0]?.message).toMatch(/CERT_NAME_MISMATCH/);
  });

  it('refuses a policy host on a loopback address unless private addresses are allowed', async () => {
    const before = good.requests.length;
    const strict = createContext({ ...ctx, allowPrivate: false });
    const result = await fetchFrom('example.com', good, strict);
    expect(codes(result)).toEqual(['ADDRESS_BLOCKED']);
    expect(result.findings[0]?.message).toMatch(
      /mta-sts\.example\.com resolves only to non-public addresses \(127\.0\.0\.1\)/,
    );
    expect(good.requests.length).toBe(before);
  });

  it('tells a missing policy host from a DNS failure', async () => {
    expect(codes(await fetchFrom('absent.example', good))).toEqual(['MTASTS_POLICY_UNREACHABLE']);
    expect(codes(await fetchFrom('broken.example', good))).toEqual(['MTASTS_DNS_ERROR']);
  });

  it('reports a port where nothing listens as unreachable', async () => {
    const closed = await startHttpsServer(pki.credentials(), policy(GOOD_POLICY));
    await closed.close();
    const result = await fetchFrom('example.com', closed);
    expect(codes(result)).toEqual(['MTASTS_POLICY_UNREACHABLE']);
    expect(result.findings[0]?.message).toMatch(/ECONNREFUSED/);
  });

  it('reads the media type without its parameters', () => {
    expect(mediaType('Text/Plain ; charset=utf-8')).toBe('text/plain');
    expect(mediaType('text/plainx')).toBe('text/plainx');
    expect(mediaType(undefined)).toBeUndefined();
  });
});
