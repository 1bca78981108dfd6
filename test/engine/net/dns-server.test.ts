/**
 * The config's `dnsServer`: the syntax `--dns-server` takes, checked by the schema with the
 * path and what is wrong, carried by the plan into every shard, checked again by the
 * handlers' event check, and used for every lookup and every DNSSEC query by the probe
 * handler and by `mailprobe run --config`. The proof is a host name that only the test's DNS
 * server on loopback knows: it resolves, and the check connects to the SMTP server behind it.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SmtpCheckSpec } from '../../../lambdas/engine/checks.js';
import { parseDnsServer } from '../../../lambdas/engine/net/dns-server.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/engine/context.js';
import { runChecks } from '../../../lambdas/engine/run/all.js';
import { parseShardEvent, ShardEventError, type ShardEvent } from '../../../lambdas/engine/shard/event.js';
import { createProbeHandler } from '../../../lambdas/handlers/probe.js';
import { ConfigError, validateConfig } from '../../../lib/config/load.js';
import { planConfig } from '../../../lib/config/plan.js';
import { cli } from '../../../testkit/cli-in-process.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { createTestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';

/** Known only to the test's DNS servers. */
const HOST = 'relay.only-here.test';
/** DNSSEC query types: only the validator's transport asks them (c-ares asks A, AAAA, MX, TXT). */
const DNSSEC_TYPES = new Set(['DNSKEY', 'DS', 'TLSA']);

const cw = mockClient(CloudWatchClient);
let dns: DnsTestServer;
let other: DnsTestServer;
let smtp: RunningSmtp;
let caPem: string;
let dir: string;

beforeAll(async () => {
  const pki = await createTestPki();
  caPem = pki.caPem;
  smtp = await startSmtpServer({
    credentials: pki.credentials(await pki.issueLeaf({ dnsNames: [HOST], ipAddresses: [] })),
  });
  dns = await startDnsServer({ [HOST]: { A: ['127.0.0.1'] } });
  other = await startDnsServer({ [HOST]: { A: ['127.0.0.1'] } });
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-dns-server-'));
});
afterAll(async () => {
  await Promise.all([dns.close(), other.close(), smtp.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  cw.reset();
  cw.on(PutMetricDataCommand).resolves({});
  dns.queries.length = 0;
  other.queries.length = 0;
});

const configError = (dnsServer: unknown): string => {
  try {
    validateConfig({ dnsServer });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`dnsServer ${JSON.stringify(dnsServer)} was accepted`);
};

describe('dnsServer in the config', () => {
  it.each([
    ['10.0.0.2', { host: '10.0.0.2', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['2001:db8::53', { host: '2001:db8::53', port: 53 }],
    ['[2001:db8::53]:5353', { host: '2001:db8::53', port: 5353 }],
    ['[::1]:53', { host: '::1', port: 53 }],
  ])('accepts %s', (dnsServer, address) => {
    // A config must check something (issue 24): one domain beside the resolver.
    expect(validateConfig({ dnsServer, domains: ['example.com'] }).dnsServer).toBe(dnsServer);
    expect(parseDnsServer(dnsServer)).toEqual(address);
  });

  it.each([
    ['dns.example.com', /dnsServer: invalid DNS server "dns\.example\.com": a host name; expected an IP address/],
    ['dns.example.com:53', /dnsServer: invalid DNS server "dns\.example\.com:53": a host name/],
    ['127.0.0.1:0', /dnsServer: invalid DNS server "127\.0\.0\.1:0": port "0" is not in 1–65535/],
    ['127.0.0.1:70000', /dnsServer: invalid DNS server "127\.0\.0\.1:70000": port "70000" is not in 1–65535/],
    ['[::1]:0', /dnsServer: invalid DNS server "\[::1\]:0": port "0" is not in 1–65535/],
    ['[dns.example]:53', /dnsServer: invalid DNS server "\[dns\.example\]:53": "dns\.example" is not an IPv6 address/],
    ['::1:53:', /dnsServer: invalid DNS server "::1:53:": not an IP address/],
    [53, /dnsServer: expected an IP address with an optional port.*, got 53/],
  ])('refuses %s, naming the path and the problem', (dnsServer, message) => {
    expect(configError(dnsServer)).toMatch(message);
  });

  it('--dns-server takes the same syntax', async () => {
    const run = await cli(['smtp', '127.0.0.1:25', '--dns-server', '127.0.0.1:70000']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--dns-server: invalid DNS server "127\.0\.0\.1:70000": port "70000" is not in 1–65535/);
  });

  it('reaches every shard of the plan, and the event check refuses a malformed one', () => {
    const plan = planConfig(
      validateConfig({
        dnsServer: '[2001:db8::53]:5353',
        targets: [{ host: 'relay.example.com', port: 587 }],
        domains: ['example.com'],
      }),
    );
    expect(plan.shards.map((s) => [s.check, s.dnsServer])).toEqual([
      ['smtp', '[2001:db8::53]:5353'],
      ['tls', '[2001:db8::53]:5353'],
      ['mta-sts', '[2001:db8::53]:5353'],
    ]);
    for (const shard of plan.shards) expect(parseShardEvent(shard, shard.check).dnsServer).toBe('[2001:db8::53]:5353');
    const smtpShard = plan.shards[0]!;
    expect(() => parseShardEvent({ ...smtpShard, dnsServer: 5353 }, 'smtp')).toThrow(ShardEventError);
    expect(() => parseShardEvent({ ...smtpShard, dnsServer: 5353 }, 'smtp')).toThrow(/dnsServer must be a string/);
    expect(() => parseShardEvent({ ...smtpShard, dnsServer: 'dns.example.com' }, 'smtp')).toThrow(
      /dnsServer: invalid DNS server "dns\.example\.com": a host name/,
    );
  });

  it('is absent from the shards when not configured', () => {
    const plan = planConfig(validateConfig({ domains: ['example.com'] }));
    expect(plan.shards[0]).not.toHaveProperty('dnsServer');
  });
});

type Logged = {
  msg?: string;
  check?: string;
  status?: string;
  findings?: { code: string }[];
  tls?: { verified?: boolean };
  dane?: { verdict?: string };
};

function smtpShard(extra: Partial<ShardEvent>): ShardEvent {
  const spec: SmtpCheckSpec = {
    check: 'smtp',
    name: 'relay',
    host: HOST,
    port: smtp.port,
    tls: 'starttls',
    dane: true,
  };
  return {
    version: 1,
    shard: 'smtp-5m-1',
    check: 'smtp',
    schedule: 'rate(5 minutes)',
    specs: [spec],
    thresholds: DEFAULT_THRESHOLDS,
    allowPrivate: false,
    concurrency: 1,
    ...extra,
  };
}

async function invoke(event: ShardEvent, context: { resolver?: DnsResolver } = {}): Promise<Logged> {
  const lines: string[] = [];
  const handler = createProbeHandler('smtp', runChecks, {
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    env: { METRIC_NAMESPACE: 'MailProbe' },
    writeLine: (line) => lines.push(line),
    context: { extraCa: [caPem], timeoutMs: 10_000, ...context },
    publisher: { sleep: async () => {}, random: () => 0 },
  });
  const summary = await handler(event);
  expect(summary.checks).toBe(1);
  const results = lines.map((l) => JSON.parse(l) as Logged).filter((l) => l.check === 'smtp' && l.msg === undefined);
  expect(results).toHaveLength(1);
  return results[0]!;
}

const hostLookups = (server: DnsTestServer) =>
  server.queries.filter((q) => q.name.toLowerCase() === HOST && (q.type === 'A' || q.type === 'AAAA'));
const dnssecQueries = (server: DnsTestServer) => server.queries.filter((q) => DNSSEC_TYPES.has(q.type));

describe('the probe handler with a shard dnsServer', () => {
  it('resolves the target and asks the DNSSEC queries of its DANE verdict through that server', async () => {
    const result = await invoke(smtpShard({ dnsServer: dns.server }));
    // The name resolved (only this server knows it), and the session reached the server behind it.
    expect(result.findings?.map((f) => f.code) ?? []).not.toContain('DNS_NXDOMAIN');
    expect(result.tls?.verified).toBe(true);
    // The validator's queries went there too (the test server serves no DNSSEC, so no verdict).
    expect(dnssecQueries(dns).length).toBeGreaterThan(0);
    expect(result.dane?.verdict).toBeDefined();
  });

  it('a resolver the deps inject (tests) still wins for lookups; DNSSEC keeps the shard server', async () => {
    const result = await invoke(smtpShard({ dnsServer: dns.server }), {
      resolver: new DnsResolver({ server: other.server, timeoutMs: 1000, tries: 1 }),
    });
    // Only the injected resolver asks `other`; the host's A/AAAA at `dns` are the validator's own.
    expect(result.tls?.verified).toBe(true);
    expect(hostLookups(other).length).toBeGreaterThan(0);
    expect(dnssecQueries(dns).length).toBeGreaterThan(0);
    expect(dnssecQueries(other)).toEqual([]);
  });
});

describe('mailprobe run --config with dnsServer', () => {
  function writeConfig(dnsServer: string): string {
    const path = join(dir, 'mailprobe.config.yaml');
    writeFileSync(
      path,
      [
        `dnsServer: "${dnsServer}"`,
        'targets:',
        '  - name: relay',
        `    host: ${HOST}`,
        `    port: ${smtp.port}`,
        '    tls: starttls',
        '    checks: [smtp]',
        // No _mta-sts record: the check ends after the TXT lookup, but the DANE verdict still asks DNSSEC.
        'domains:',
        '  - domain: only-here.test',
        '    mx: never',
        '',
      ].join('\n'),
    );
    return path;
  }

  type RunDoc = { results: Logged[] };
  const smtpResult = (stdout: string) => (JSON.parse(stdout) as RunDoc).results.find((r) => r.check === 'smtp');

  it('sends every lookup and every DNSSEC query to the configured server', async () => {
    const run = await cli(['run', '--config', writeConfig(dns.server), '--ca-file', writeCa(), '--json']);
    expect(smtpResult(run.stdout)).toMatchObject({ status: 'ok', tls: { verified: true } });
    expect(hostLookups(dns).length).toBeGreaterThan(0);
    expect(dnssecQueries(dns).length).toBeGreaterThan(0);
  });

  it('--dns-server wins over the config for both', async () => {
    const run = await cli([
      'run',
      '--config',
      writeConfig(dns.server),
      '--ca-file',
      writeCa(),
      '--json',
      '--dns-server',
      other.server,
    ]);
    expect(smtpResult(run.stdout)).toMatchObject({ status: 'ok', tls: { verified: true } });
    expect(hostLookups(other).length).toBeGreaterThan(0);
    expect(dnssecQueries(other).length).toBeGreaterThan(0);
    expect(dns.queries).toEqual([]);
  });
});

function writeCa(): string {
  const path = join(dir, 'ca.pem');
  writeFileSync(path, caPem);
  return path;
}
