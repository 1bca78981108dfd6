/**
 * `mailprobe flow`: the arguments and their mistakes (exit 2), and the whole command against
 * the loopback mail chain (Postfix submission with OpenDKIM → Postfix MX → Dovecot): the
 * latency, each hop with its TLS and the verdicts for a person; for a script, a --json
 * document that conforms to the shipped result schema.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultDocumentSchema } from '../../lib/result-schema.js';
import { cli } from '../../testkit/cli-in-process.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { freePort } from '../../testkit/system/daemon.js';
import { startMailChain, type MailChain } from '../../testkit/system/mail-chain.js';
import { startOpendkim, type OpendkimInstance } from '../../testkit/system/opendkim.js';
import { systemRequirements } from '../../testkit/system/requirements.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';

const DOMAIN = 'send.example.test';

/** The results of a --json document, checked against the shipped schema. */
function resultsOf(stdout: string) {
  const doc = ResultDocumentSchema.parse(JSON.parse(stdout));
  if (!('results' in doc)) throw new Error(`an error document: ${stdout}`);
  return doc.results;
}
const FROM = `probe@${DOMAIN}`;

describe('mailprobe flow: usage errors exit 2 and say what to fix', () => {
  const base = ['flow', '--via', '127.0.0.1:587', '--from', FROM, '--to', 'probe@in.example.test'];
  const imap = ['--imap', '127.0.0.1', '--imap-user', 'probe', '--imap-password-env', 'PW'];
  it.each([
    [['flow', '--from', FROM, '--to', 'b@example.com', ...imap], /--via HOST\[:PORT\] is required/],
    [['flow', 'relay.example.com', ...base.slice(1), ...imap], /takes no HOST argument.*--via HOST:PORT/],
    [[...base.slice(0, 5), '--to', 'not an address', ...imap], /--to: expected a mail address/],
    [base, /--imap HOST\[:PORT\]/],
    [[...base, '--imap', '127.0.0.1'], /--imap needs --imap-user U --imap-password-env VAR/],
    [[...base, '--imap', '127.0.0.1', '--imap-user', 'probe'], /--imap-user and --imap-password-env go together/],
    [[...base, ...imap, '--imap-tls', 'none'], /--imap-tls: expected implicit\|starttls/],
    [[...base, '--wait-ses', 'eu-west-1'], /--wait-ses needs --table NAME/],
    [[...base, '--wait-ses', 'eu-west-1', '--table', 'state'], /--wait-ses needs --key-secret ARN/],
    [
      [...base, '--wait-ses', 'eu-south-2', '--table', 'state', '--key-secret', 'arn'],
      /--wait-ses: SES email receiving is not available in eu-south-2; use one of us-east-1/,
    ],
    [[...base, '--wait-ses', 'eu-west-1', '--table', 't', '--key-secret', 'a', ...imap], /--imap or --wait-ses/],
    [[...base, ...imap, '--name', 'no spaces please'], /--name: 1 to 64/],
    [[...base, ...imap, '--max-wait', '0'], /--max-wait: expected 1–86400/],
    [[...base, ...imap, '--state', '/nonexistent-dir/x.json'], /--key-env VAR/],
    [[...base, ...imap, '--key-env', 'FLOW_KEY'], /FLOW_KEY is not set/],
  ])('%j', async (argv, message) => {
    const run = await cli(argv, { FLOW_KEY: undefined });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('refuses a key that is too short without echoing it', async () => {
    const run = await cli([...base, ...imap, '--key-env', 'FLOW_KEY'], { FLOW_KEY: 'abcd1234' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--key-env FLOW_KEY: the flow key has 4 bytes, at least 32/);
    expect(run.stderr).not.toContain('abcd1234');
  });

  it('a relay that refuses the connection is FLOW_SEND_FAILED, exit 1, and no mailbox is needed to say so', async () => {
    const port = await freePort();
    const run = await cli(['flow', '--via', `127.0.0.1:${port}`, ...base.slice(3), ...imap, '--json'], { PW: 'x' });
    expect(run.code).toBe(1);
    const codes = resultsOf(run.stdout)[0]!.findings.map((f) => f.code);
    expect(codes[0]).toBe('FLOW_SEND_FAILED');
  });
});

const requirements = systemRequirements('postfix', 'dovecot', 'doveadm', 'opendkim');

describe.skipIf(requirements.skip)(requirements.title('mailprobe flow against Postfix, Postfix and Dovecot'), () => {
  requirements.enforce();

  let pki: TestPki;
  let dkim: OpendkimInstance;
  let dns: DnsTestServer;
  let chain: MailChain;
  let dir: string;
  let caFile: string;

  beforeAll(async () => {
    pki = await createTestPki();
    dkim = await startOpendkim({ domain: DOMAIN });
    dns = await startDnsServer({
      [DOMAIN]: { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      [`_dmarc.${DOMAIN}`]: { TXT: ['v=DMARC1; p=reject'] },
      [dkim.recordName]: { TXT: [dkim.dnsRecord] },
    });
    chain = await startMailChain({ tls: pki.credentials(), milter: dkim.milter });
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-cli-flow-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caPem);
  }, 120_000);
  afterAll(async () => {
    await chain?.stop();
    await dns?.close();
    await dkim?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const argv = (...extra: string[]) => [
    'flow',
    '--via',
    `127.0.0.1:${chain.submitPort}`,
    '--tls',
    'starttls',
    '--user',
    chain.dovecot.user,
    '--password-env',
    'SMTP_PW',
    '--from',
    FROM,
    '--to',
    chain.recipient,
    '--imap',
    `127.0.0.1:${chain.dovecot.imapsPort}`,
    '--imap-user',
    chain.dovecot.user,
    '--imap-password-env',
    'IMAP_PW',
    '--ca-file',
    caFile,
    '--dns-server',
    dns.server,
    '--max-wait',
    '30',
    ...extra,
  ];
  const env = () => ({ SMTP_PW: chain.dovecot.password, IMAP_PW: chain.dovecot.password });

  it('prints the latency, each hop with its TLS, the verdicts, then the table; exit 0', async () => {
    const run = await cli(argv(), env());
    expect(run.stderr, chain.log()).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^sent via 127\\.0\\.0\\.1:${chain.submitPort} \\(TLSv1\\.[23]\\): 250 `));
    expect(lines[1]).toMatch(/^arrived (after \d+\.\d s|within 1 s) in the inbox$/);
    expect(lines[2]).toMatch(
      /^ {2}hop 1 {2}\S+ \[127\.0\.0\.1\] -> submit\.example\.test {2}ESMTPSA {2}TLS TLSv1\.[23] \S+$/,
    );
    expect(lines[3]).toMatch(
      /^ {2}hop 2 {2}submit\.example\.test \[127\.0\.0\.1\] -> mx\.example\.test {2}ESMTPS {2}TLS TLSv1\.[23] \S+$/,
    );
    expect(lines[4]).toBe('  SPF pass, DKIM pass, DMARC pass (checked by mailprobe)');
    expect(run.stdout).toMatch(/OK\s+flow\s/);
  });

  it('--json: one flow result that conforms to the result schema', async () => {
    const run = await cli(argv('--json', '--name', 'cli-json'), env());
    expect(run.code, run.stderr).toBe(0);
    const results = resultsOf(run.stdout);
    expect(results).toHaveLength(1);
    const result = results[0] as unknown as Record<string, unknown> & { latest: Record<string, unknown> };
    expect(result).toMatchObject({
      check: 'flow',
      name: 'cli-json',
      target: `${FROM} -> ${chain.recipient}`,
      status: 'ok',
      findings: [],
      delivered: 1,
      send: { accepted: true },
    });
    expect(result.latest).toMatchObject({ folder: 'inbox', verdicts: { spf: 'pass', dkim: 'pass', dmarc: 'pass' } });
    expect(result.deliveryMs).toBe(result.latest['latencyMs']);
  });

  it('mailprobe run runs the flows of a config (credentials from Secrets Manager); plan lists them as deployed', async () => {
    // The config names credentials by ARN only; Secrets Manager is the one AWS service faked here.
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: chain.dovecot.user, password: chain.dovecot.password }) });
    try {
      const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:chain-AbCdEf';
      const config = join(dir, 'flows.json');
      writeFileSync(
        config,
        JSON.stringify({
          dnsServer: dns.server,
          targets: [
            { name: 'submit', host: '127.0.0.1', port: chain.submitPort, tls: 'starttls', auth: { secretArn: arn } },
          ],
          flows: [
            {
              name: 'chain',
              via: 'submit',
              from: FROM,
              to: chain.recipient,
              maxSeconds: 30,
              warnSeconds: 20,
              receive: { imap: { host: '127.0.0.1', port: chain.dovecot.imapsPort, auth: { secretArn: arn } } },
            },
          ],
        }),
      );
      const run = await cli(['run', '--config', config, '--only', 'chain', '--ca-file', caFile, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const [result] = resultsOf(run.stdout);
      expect(result).toMatchObject({ check: 'flow', name: 'chain', status: 'ok', findings: [], delivered: 1 });

      const plan = await cli(['plan', '--config', config]);
      expect(plan.stdout).toContain(
        'flows: 1 deployed (flow function, one schedule each: chain every 15m); a lost message pages through one alarm per flow',
      );
    } finally {
      secrets.restore();
    }
  });

  it('with --state: the next run compares, and a hop that lost TLS is FLOW_HOP_TLS_CHANGED', async () => {
    // The same flow, run 2 through a path whose MX stopped offering STARTTLS (same host names).
    const clear = await startMailChain({ tls: pki.credentials(), milter: dkim.milter, mxWithoutTls: true });
    try {
      const state = join(dir, 'state.json');
      const keyed = { FLOW_KEY: 'ab'.repeat(32) };
      const stateArgs = ['--state', state, '--key-env', 'FLOW_KEY', '--name', 'stateful', '--json'];
      const run1 = await cli(argv(...stateArgs), { ...env(), ...keyed });
      expect(run1.code, run1.stderr).toBe(0);
      expect(resultsOf(run1.stdout)[0]).toMatchObject({ status: 'ok', delivered: 1 });

      const clearArgs = argv(...stateArgs).map((a) =>
        a === `127.0.0.1:${chain.submitPort}`
          ? `127.0.0.1:${clear.submitPort}`
          : a === `127.0.0.1:${chain.dovecot.imapsPort}`
            ? `127.0.0.1:${clear.dovecot.imapsPort}`
            : a,
      );
      const run2 = await cli(clearArgs, {
        SMTP_PW: clear.dovecot.password,
        IMAP_PW: clear.dovecot.password,
        ...keyed,
      });
      expect(run2.code).toBe(1);
      const [result] = resultsOf(run2.stdout);
      expect(result!.findings.map((f) => f.code)).toEqual(['FLOW_HOP_CLEAR_TEXT']);
      expect(result!.changes?.map((c) => c.code)).toEqual(['FLOW_HOP_TLS_CHANGED']);
    } finally {
      await clear.stop();
    }
  }, 90_000);
});
