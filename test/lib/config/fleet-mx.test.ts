/**
 * Port 25 and MTA-STS (issue 12 item 6), from config to published metrics: a domain in a
 * config without a VPC is planned with `probeMx: false`; the mta-sts handler running that
 * very shard reports MTASTS_MX_NOT_PROBED (info, never critical) although the MX host would
 * refuse every connection, and publishes the metrics the plan's mode asks for.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { runMtaStsChecks } from '../../../lambdas/engine/run/mta-sts.js';
import { createProbeHandler } from '../../../lambdas/handlers/probe.js';
import { validateConfig } from '../../../lib/config/load.js';
import { planConfig } from '../../../lib/config/plan.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { policy, startHttpsServer, type HttpsTestServer } from '../../../testkit/https-server.js';
import { createTestPki } from '../../../testkit/pki.js';

const cw = mockClient(CloudWatchClient);
let dns: DnsTestServer;
let web: HttpsTestServer;
let caPem: string;

beforeAll(async () => {
  const pki = await createTestPki();
  caPem = pki.caPem;
  web = await startHttpsServer(
    pki.credentials(await pki.issueLeaf({ dnsNames: ['mta-sts.good.test'], ipAddresses: [] })),
    policy('version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 604800\n'),
  );
  dns = await startDnsServer({
    'good.test': { MX: [{ priority: 10, exchange: 'mx.good.test' }] },
    'mx.good.test': { A: ['127.0.0.1'] },
    '_mta-sts.good.test': { TXT: ['v=STSv1; id=1'] },
    'mta-sts.good.test': { A: ['127.0.0.1'] },
    '_smtp._tls.good.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls@good.test'] },
  });
});
afterAll(async () => {
  await Promise.all([dns.close(), web.close()]);
});

describe('mx: auto without a VPC', () => {
  it('plans probeMx false, and the handler reports MTASTS_MX_NOT_PROBED instead of a port-25 failure', async () => {
    const plan = planConfig(validateConfig({ domains: ['good.test'], allowPrivate: true }));
    const shard = plan.shards.find((s) => s.check === 'mta-sts')!;
    expect(shard.specs).toEqual([{ check: 'mta-sts', domain: 'good.test', probeMx: false }]);
    expect(plan.targets.find((t) => t.check === 'mta-sts')!.port25).toBe(false);

    cw.reset();
    cw.on(PutMetricDataCommand).resolves({});
    const lines: string[] = [];
    const handler = createProbeHandler(
      'mta-sts',
      // Port 9 on loopback refuses: had the MX been probed, the domain would be critical.
      (specs, ctx, options) => runMtaStsChecks(specs, ctx, { ...options, deps: { policyPort: web.port, mxPort: 9 } }),
      {
        cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
        env: { METRIC_NAMESPACE: 'MailProbe' },
        writeLine: (line) => lines.push(line),
        context: {
          resolver: new DnsResolver({ server: dns.server, timeoutMs: 1000, tries: 1 }),
          extraCa: [caPem],
          timeoutMs: 10_000,
        },
        publisher: { sleep: async () => {}, random: () => 0 },
      },
    );
    await handler(shard);
    const result = lines
      .map((l) => JSON.parse(l) as { check?: string; status?: string; findings?: { code: string }[] })
      .find((r) => r.check === 'mta-sts')!;
    expect(result.findings?.map((f) => f.code)).toContain('MTASTS_MX_NOT_PROBED');
    expect(result.status).not.toBe('critical');

    // Default metrics: Success, CertDaysToExpiry of the policy host, and the reporting count for the 1-hour interval.
    const data = cw.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData ?? []);
    expect(data.map((d) => d.MetricName)).toEqual(['Success', 'CertDaysToExpiry', 'TargetsReporting']);
    expect(data[0]!.Value).toBe(1);
    expect(data[2]).toMatchObject({
      Value: 1,
      Dimensions: [
        { Name: 'Check', Value: 'mta-sts' },
        { Name: 'Interval', Value: '1h' },
      ],
    });
  }, 30_000);
});
