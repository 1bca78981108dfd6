/**
 * The mta-sts probe handler end to end: a shard with two domains, real DNS, HTTPS and SMTP
 * servers on loopback, one log line per domain and the exact metrics at the SDK boundary.
 * The production runner is used as is; only the policy and MX ports point at the test servers.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MtaStsCheckSpec } from '../../lambdas/engine/checks.js';
import { DnsResolver } from '../../lambdas/engine/net/resolver.js';
import { DEFAULT_THRESHOLDS } from '../../lambdas/engine/context.js';
import { runMtaStsChecks } from '../../lambdas/engine/run/mta-sts.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { createProbeHandler } from '../../lambdas/handlers/probe.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { policy, startHttpsServer, type HttpsTestServer } from '../../testkit/https-server.js';
import { createTestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const cw = mockClient(CloudWatchClient);
let dns: DnsTestServer;
let web: HttpsTestServer;
let mx: RunningSmtp;
let caPem: string;

beforeAll(async () => {
  const pki = await createTestPki();
  caPem = pki.caPem;
  const site = await pki.issueLeaf({ dnsNames: ['mta-sts.good.test', 'mta-sts.drift.test'], ipAddresses: [] });
  // The MX certificate expires in 12 days, before the policy host's (90): the metric takes the earliest.
  const mxLeaf = await pki.issueLeaf({
    // It also names the mail domain, so no MX_CERT_DOMAIN_MISMATCH (info) joins the findings.
    dnsNames: ['mx.good.test', 'good.test'],
    ipAddresses: [],
    notAfter: new Date(Date.now() + 12.5 * 86_400_000),
  });
  web = await startHttpsServer(
    pki.credentials(site),
    policy('version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 604800\n'),
  );
  mx = await startSmtpServer({ credentials: pki.credentials(mxLeaf) });
  const domain = (name: string) => ({
    [name]: { MX: [{ priority: 10, exchange: 'mx.good.test' }] },
    [`_mta-sts.${name}`]: { TXT: ['v=STSv1; id=1'] },
    [`mta-sts.${name}`]: { A: ['127.0.0.1'] },
    [`_smtp._tls.${name}`]: { TXT: [`v=TLSRPTv1; rua=mailto:tls@${name}`] },
  });
  dns = await startDnsServer({ ...domain('good.test'), ...domain('drift.test'), 'mx.good.test': { A: ['127.0.0.1'] } });
  // drift.test: its MX moved to a host the policy does not list.
  dns.set('drift.test', {
    MX: [
      { priority: 10, exchange: 'mx.good.test' },
      { priority: 20, exchange: 'new-mx.drift.test' },
    ],
  });
  dns.set('new-mx.drift.test', { A: ['127.0.0.1'] });
});

afterAll(async () => {
  await Promise.all([dns.close(), web.close(), mx.close()]);
});

describe('mta-sts handler', () => {
  it('logs one result per domain and publishes Success, Duration, FindingCount and the earliest CertDaysToExpiry', async () => {
    cw.reset();
    cw.on(PutMetricDataCommand).resolves({});
    const lines: string[] = [];
    const handler = createProbeHandler(
      'mta-sts',
      (specs, ctx, options) =>
        runMtaStsChecks(specs, ctx, { ...options, deps: { policyPort: web.port, mxPort: mx.port } }),
      {
        cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
        env: { METRIC_NAMESPACE: 'MailProbe' },
        writeLine: (line) => lines.push(line),
        context: {
          resolver: new DnsResolver({ server: dns.server, timeoutMs: 1000, tries: 1 }),
          extraCa: [caPem],
          timeoutMs: 15_000,
        },
        publisher: { sleep: async () => {}, random: () => 0 },
      },
    );
    const specs: MtaStsCheckSpec[] = [
      { check: 'mta-sts', domain: 'good.test' },
      { check: 'mta-sts', domain: 'drift.test', name: 'drift' },
    ];
    const shard: ShardEvent = {
      version: 1,
      shard: 'mta-sts-1h-1',
      check: 'mta-sts',
      schedule: 'rate(1 hour)',
      specs,
      thresholds: DEFAULT_THRESHOLDS,
      allowPrivate: true,
      concurrency: 2,
    };
    const summary = await handler(shard);
    expect(summary).toMatchObject({ shard: 'mta-sts-1h-1', check: 'mta-sts' });

    type Logged = { check?: string; target?: string; status?: string; findings?: { code: string }[] };
    const results = lines.map((l) => JSON.parse(l) as Logged).filter((r) => r.check === 'mta-sts');
    const byTarget: Record<string, Logged | undefined> = Object.fromEntries(results.map((r) => [r.target, r]));
    expect(byTarget['good.test']).toMatchObject({ status: 'warning' });
    // 12 days left on the MX certificate: CERT_EXPIRING (warning), reported on the MX.
    expect(byTarget['good.test']?.findings?.map((f) => f.code)).toEqual(['CERT_EXPIRING']);
    expect(byTarget['drift.test']?.findings?.map((f) => f.code)).toContain('MTASTS_MX_NOT_COVERED');
    expect(byTarget['drift.test']?.status).toBe('critical');

    const data = cw.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData ?? []);
    const value = (metric: string, target: string) =>
      data.find((d) => d.MetricName === metric && d.Dimensions?.some((x) => x.Name === 'Target' && x.Value === target))
        ?.Value;
    expect(value('Success', 'good.test')).toBe(1);
    expect(value('Success', 'drift')).toBe(0);
    expect(value('CertDaysToExpiry', 'good.test')).toBe(12);
    expect(value('FindingCount', 'good.test')).toBe(1);
    expect(typeof value('Duration', 'drift')).toBe('number');
    expect(data.every((d) => d.Dimensions?.some((x) => x.Name === 'Check' && x.Value === 'mta-sts'))).toBe(true);
  });
});
