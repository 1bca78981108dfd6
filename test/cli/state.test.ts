/**
 * `--state FILE` end to end, in-process through main(): real DNS, HTTPS and SMTP servers on
 * loopback. An MTA-STS policy edited between two runs under the same id is reported as
 * MTASTS_POLICY_CHANGED_SAME_ID on the second run only; a relay whose certificate is
 * replaced is reported as CERT_ROTATED; a bad state file is refused and left untouched.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { policy, startHttpsServer, type HttpsTestServer } from '../../testkit/https-server.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';
import { cli } from '../../testkit/cli-in-process.js';

const POLICY_V1 = 'version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 604800\n';
// Edited without bumping the TXT id: one more mx line and a longer max_age.
const POLICY_V2 = 'version: STSv1\nmode: enforce\nmx: mx.good.test\nmx: *.backup.good.test\nmax_age: 1209600\n';

let pki: TestPki;
let dir: string;
let caFile: string;
let dns: DnsTestServer;
let web: HttpsTestServer;
let mx: RunningSmtp;

beforeAll(async () => {
  pki = await createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-state-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  const site = await pki.issueLeaf({ dnsNames: ['mta-sts.good.test'], ipAddresses: [] });
  const mxLeaf = await pki.issueLeaf({ dnsNames: ['mx.good.test'], ipAddresses: [] });
  web = await startHttpsServer(pki.credentials(site), policy(POLICY_V1));
  mx = await startSmtpServer({ credentials: pki.credentials(mxLeaf) });
  dns = await startDnsServer({
    'good.test': { MX: [{ priority: 10, exchange: 'mx.good.test' }] },
    '_mta-sts.good.test': { TXT: ['v=STSv1; id=20261101'] },
    'mta-sts.good.test': { A: ['127.0.0.1'] },
    '_smtp._tls.good.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls@good.test'] },
    'mx.good.test': { A: ['127.0.0.1'] },
  });
});

afterAll(async () => {
  await Promise.all([dns.close(), web.close(), mx.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** The flags that point a run at the loopback DNS, HTTPS and SMTP servers of this file. */
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
];

describe('mailprobe run --state', () => {
  it('reports MTASTS_POLICY_CHANGED_SAME_ID on the run after the policy was edited under the same id, and only then', async () => {
    web.respond(policy(POLICY_V1));
    const config = join(dir, 'domains.yaml');
    writeFileSync(
      config,
      'domains:\n  - domain: good.test\n    name: good\nalerting:\n  notifications:\n    holdCount: 1\n',
    );
    const state = join(dir, 's.json');
    const argv = ['run', '--config', config, '--state', state, ...loopback()];

    const first = await cli(argv);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).not.toContain('MTASTS_POLICY_CHANGED');
    expect(first.stdout).toContain(`State ${state}: no notification would be sent this run.`);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as {
      kind: string;
      targets: Record<string, { version: number; state: { facts: unknown } }>;
    };
    expect(saved.kind).toBe('mailprobe-state');
    expect(saved.targets['mta-sts#good']?.state.facts).toEqual({
      policy: { id: '20261101', mode: 'enforce', maxAge: 604800, mx: ['mx.good.test'] },
      mx: ['mx.good.test'],
      tlsRpt: ['v=TLSRPTv1; rua=mailto:tls@good.test'],
      // The MX leaf, so a rotation of the MX certificate is a change too.
      mxCerts: {
        'mx.good.test': {
          '127.0.0.1': {
            sha256: expect.any(String),
            subject: expect.any(String),
            issuer: expect.any(String),
            notAfter: expect.any(String),
            seen: [expect.any(String)],
          },
        },
      },
    });

    web.respond(policy(POLICY_V2));
    const second = await cli(argv);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('mta-sts good.test (good): changed since the last run:');
    expect(second.stdout).toMatch(
      /WARNING MTASTS_POLICY_CHANGED_SAME_ID {2}The MTA-STS policy changed but its id stayed "20261101": mx \+\*\.backup\.good\.test; max_age 604800 -> 1209600\./,
    );
    expect(second.stdout).toContain('changes: [CHANGED] mta-sts good (good.test): MTASTS_POLICY_CHANGED_SAME_ID');

    // Reported once: the third run sees the same policy as the second.
    const third = await cli([...argv, '--json']);
    const doc = JSON.parse(third.stdout) as { results: { changes?: unknown[] }[] };
    expect(doc.results.map((r) => r.changes)).toEqual([[]]);
    // No temporary file is left beside the state file.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('shows the change in --json as { code, before, after }', async () => {
    web.respond(policy(POLICY_V1));
    const state = join(dir, 'json.json');
    const argv = ['mta-sts', 'good.test', '--state', state, ...loopback(), '--json'];
    await cli(argv);
    web.respond(policy(POLICY_V1.replace('enforce', 'testing')));
    const run = await cli(argv);
    const doc = JSON.parse(run.stdout) as {
      results: { changes: { code: string; before: unknown; after: unknown }[] }[];
    };
    expect(doc.results[0]!.changes.map((c) => c.code)).toEqual([
      'MTASTS_POLICY_CHANGED_SAME_ID',
      'MTASTS_MODE_DOWNGRADED',
    ]);
    expect(doc.results[0]!.changes[0]).toMatchObject({
      before: { id: '20261101', mode: 'enforce', mx: ['mx.good.test'], maxAge: 604800 },
      after: { id: '20261101', mode: 'testing', mx: ['mx.good.test'], maxAge: 604800 },
    });
    expect(doc.results[0]!.changes[1]).toMatchObject({ before: { mode: 'enforce' }, after: { mode: 'testing' } });
  });
});

describe('mailprobe smtp --state', () => {
  it('reports CERT_ROTATED when the relay presents a new certificate', async () => {
    const state = join(dir, 'relay.json');
    const oldLeaf = await pki.issueLeaf();
    const newLeaf = await pki.issueLeaf();
    let relay = await startSmtpServer({ credentials: pki.credentials(oldLeaf) });
    const argv = () => [
      'smtp',
      `127.0.0.1:${relay.port}`,
      '--name',
      'relay',
      '--ca-file',
      caFile,
      '--state',
      state,
      '--json',
    ];
    try {
      const first = JSON.parse((await cli(argv())).stdout) as { results: { changes: unknown[] }[] };
      expect(first.results[0]!.changes).toEqual([]);
      await relay.close();
      relay = await startSmtpServer({ credentials: pki.credentials(newLeaf) });
      const second = JSON.parse((await cli(argv())).stdout) as {
        results: { changes: { code: string; before: { sha256: string }; after: { sha256: string } }[] }[];
      };
      const [rotated, ...rest] = second.results[0]!.changes;
      expect(rotated!.code).toBe('CERT_ROTATED');
      expect(rest).toEqual([]);
      expect(rotated!.before.sha256).not.toBe(rotated!.after.sha256);
      expect(rotated).toMatchObject({
        before: {
          subject: expect.stringContaining('localhost'),
          issuer: expect.any(String),
          notAfter: expect.any(String),
        },
      });
      const human = await cli(argv().filter((a) => a !== '--json'));
      expect(human.stdout).not.toContain('CERT_ROTATED');
    } finally {
      await relay.close();
    }
  });
});

describe('a bad --state file', () => {
  it.each([
    ['not JSON', '{"kind": "mailprobe-state", ', /not valid JSON/],
    ['not a state file', '{"hello": "world"}\n', /not a mailprobe state file/],
    ['another schema', '{"kind": "mailprobe-state", "schema": 9, "targets": {}}\n', /state schema 9/],
  ])('%s: exit 2, names the file, leaves it unchanged', async (_what, content, message) => {
    const path = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, content);
    const run = await cli(['smtp', `127.0.0.1:${mx.port}`, '--state', path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain(path);
    expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(run.stdout).toBe('');
    expect(readFileSync(path, 'utf8')).toBe(content);
  });

  it('a missing file is an empty state and is created', async () => {
    const path = join(dir, 'new-state.json');
    expect(existsSync(path)).toBe(false);
    await cli(['smtp', `127.0.0.1:${mx.port}`, '--ca-file', caFile, '--state', path]);
    expect(Object.keys((JSON.parse(readFileSync(path, 'utf8')) as { targets: object }).targets)).toEqual([
      `smtp#127.0.0.1:${mx.port}`,
    ]);
  });
});
