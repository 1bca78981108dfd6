/**
 * `mailprobe mta-sts DOMAIN --mx HOST…`: the given hosts replace the domain's MX records,
 * each matched against the domain's policy and probed as an MX. Real DNS, HTTPS and SMTP
 * servers on loopback, in-process through main().
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../testkit/cli-in-process.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { policy, startHttpsServer, type HttpsTestServer } from '../../testkit/https-server.js';
import { createTestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const POLICY = 'version: STSv1\nmode: enforce\nmx: mx.good.test\nmx: *.new.good.test\nmax_age: 604800\n';

let dir: string;
let caFile: string;
let dns: DnsTestServer;
let web: HttpsTestServer;
let mx: RunningSmtp;

beforeAll(async () => {
  const pki = await createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-mx-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  const site = await pki.issueLeaf({ dnsNames: ['mta-sts.good.test'], ipAddresses: [] });
  // One SMTP server answers for every name; its certificate names the published MX and the new one.
  const mxLeaf = await pki.issueLeaf({ dnsNames: ['mx.good.test', 'mx1.new.good.test'], ipAddresses: [] });
  web = await startHttpsServer(pki.credentials(site), policy(POLICY));
  mx = await startSmtpServer({ credentials: pki.credentials(mxLeaf) });
  dns = await startDnsServer({
    'good.test': { MX: [{ priority: 10, exchange: 'mx.good.test' }] },
    '_mta-sts.good.test': { TXT: ['v=STSv1; id=20261205'] },
    'mta-sts.good.test': { A: ['127.0.0.1'] },
    '_smtp._tls.good.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls@good.test'] },
    'mx.good.test': { A: ['127.0.0.1'] },
    'mx1.new.good.test': { A: ['127.0.0.1'] },
    'relay.elsewhere.test': { A: ['127.0.0.1'] },
  });
});

afterAll(async () => {
  await Promise.all([dns.close(), web.close(), mx.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const loopback = (): string[] => [
  '--dns-server',
  dns.server,
  '--ca-file',
  caFile,
  '--allow-private',
  '--policy-port',
  String(web.port),
  '--mx-port',
  String(mx.port),
  '--json',
];

interface MtaStsJson {
  status: string;
  acceptsMail?: boolean;
  mx: { host: string; priority: number }[];
  findings: { code: string; message: string }[];
}

async function mtaSts(args: string[]): Promise<{ code: number; result: MtaStsJson }> {
  const run = await cli(['mta-sts', 'good.test', ...args, ...loopback()]);
  expect(run.stderr).toBe('');
  return { code: run.code, result: (JSON.parse(run.stdout) as { results: MtaStsJson[] }).results[0] as MtaStsJson };
}

describe('mailprobe mta-sts --mx', () => {
  it('without --mx, the domain’s MX records are checked and acceptsMail is reported', async () => {
    const { code, result } = await mtaSts([]);
    expect(code).toBe(0);
    expect(result.mx.map((m) => m.host)).toEqual(['mx.good.test']);
    expect(result.acceptsMail).toBe(true);
  });

  it('checks a host the policy covers in place of the MX records: probed, no finding, acceptsMail unknown', async () => {
    const { code, result } = await mtaSts(['--mx', 'MX1.new.good.test.']);
    expect(code).toBe(0);
    expect(result.status).toBe('ok');
    expect(result.mx.map((m) => m.host)).toEqual(['mx1.new.good.test']);
    expect(result.findings.filter((f) => f.code.startsWith('MTASTS_'))).toEqual([]);
    expect(result.acceptsMail).toBeUndefined();
  });

  it('reports a given host the policy does not cover as MTASTS_MX_NOT_COVERED, next to a covered one', async () => {
    const { code, result } = await mtaSts(['--mx', 'mx.good.test,relay.elsewhere.test', '--mx', 'mx.good.test']);
    expect(code).toBe(1);
    expect(result.mx.map((m) => m.host)).toEqual(['mx.good.test', 'relay.elsewhere.test']);
    const notCovered = result.findings.filter((f) => f.code === 'MTASTS_MX_NOT_COVERED');
    expect(notCovered).toHaveLength(1);
    expect(notCovered[0]?.message).toContain('relay.elsewhere.test');
  });

  it.each([
    [['--mx', '192.0.2.1'], /--mx: "192.0.2.1" is not a host name/],
    [['--mx', 'mx.good.test,'], /--mx: "" is not a host name/],
    [['--mx', 'bad host.test'], /--mx: "bad host.test" is not a host name/],
    [['--mx', Array.from({ length: 51 }, (_, i) => `mx${i}.good.test`).join(',')], /--mx: at most 50 hosts, got 51/],
  ])('refuses %j with exit 2', async (args, message) => {
    const run = await cli(['mta-sts', 'good.test', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('is an mta-sts option only', async () => {
    const run = await cli(['dane', 'good.test', '--mx', 'mx.good.test']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--mx/);
  });
});
