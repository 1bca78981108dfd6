/**
 * The CLI contract (DESIGN.md §4): arguments, exit status 0/1/2, --json, the human table.
 * Most cases call main() in-process; one spawns bin/mailprobe.mjs as a user would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli/main.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const code = await main(argv, { stdout: out, stderr: err, stdin, env: options.env ?? {} });
  return { code, stdout, stderr };
}

let pki: TestPki;
let dir: string;
let caFile: string;
let good: RunningSmtp;
let expired: RunningSmtp;

beforeAll(async () => {
  pki = await createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-cli-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  good = await startSmtpServer({ credentials: pki.credentials(), user: { username: 'u', password: 'p4ss-word' } });
  expired = await startSmtpServer({ credentials: pki.credentials(await pki.expired()) });
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await good.close();
  await expired.close();
});

describe('usage errors exit 2 with a message that says what to fix', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['smtp'], /expected exactly one HOST\[:PORT\]/],
    [['smtp', 'mx.example.com:99999'], /port must be 1–65535, got "99999"/],
    [['smtp', 'mx.example.com:587a'], /port must be 1–65535, got "587a"/],
    [['smtp', 'mx.example.com', '--user', 'u'], /--user and --password-env go together/],
    [
      ['smtp', 'mx.example.com', '--password', 'x'],
      /^mailprobe: unknown option --password; did you mean --password-env\?/,
    ],
    [['smtp', 'mx.example.com', '--jsn'], /^mailprobe: unknown option --jsn; did you mean --json\?/],
    [
      ['smtp', 'mx.example.com', '--zzzzzzzz'],
      /^mailprobe: unknown option --zzzzzzzz \(see mailprobe smtp --help\)\n$/,
    ],
    [['smtp', 'mx.example.com', '--timeout'], /^mailprobe: option --timeout needs a value/],
    [['smtp', 'mx.example.com', '--tls', 'maybe'], /--tls: expected auto\|starttls\|implicit\|none, got "maybe"/],
    [['smtp', 'mx.example.com', '--timeout', 'soon'], /--timeout: expected a whole number/],
    [['smtp', 'mx.example.com', '--warn-days', '10', '--critical-days', '20'], /must not exceed --warn-days/],
    [
      ['smtp', 'mx.example.com', '--ca-file', '/nonexistent/ca.pem'],
      /--ca-file \/nonexistent\/ca.pem: cannot read it: there is no such file/,
    ],
    [['smtp', 'mx.example.com', '--dns-server', 'dns.example.com'], /--dns-server: invalid DNS server/],
    [['smtp', 'mx.example.com', '--auth-secret', 'my-secret'], /expected a Secrets Manager secret ARN/],
    [['smtp', 'mx.example.com', '--mail-from', 'a@example.com'], /--mail-from and --rcpt-to go together/],
    [['tls', 'mx.example.com', '--tls', 'none'], /--tls: expected auto\|starttls\|implicit, got "none"/],
    [['mta-sts'], /expected one or more DOMAINs \(or --domains-file FILE\)/],
    [['mta-sts', 'not_a_domain'], /mta-sts: "not_a_domain" is not a domain name/],
    [
      ['dane', '--domains-file', '/nonexistent/domains.txt'],
      /--domains-file \/nonexistent\/domains.txt: cannot read it/,
    ],
    [['ses', 'xx-nowhere-1'], /xx-nowhere-1/],
    [['ses-smtp-password'], /--region is required/],
    [['run', '--config', '/nonexistent/mailprobe.yaml'], /nonexistent/],
  ])('%j', async (argv, message) => {
    const run = await cli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('prints help with exit 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('mailprobe smtp HOST[:PORT]');
    const sub = await cli(['smtp', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--password-env VAR');
  });
});

describe('checks from the command line', () => {
  it('smtp --json: the result contract, exit 0 when nothing is critical', async () => {
    const run = await cli(
      [
        'smtp',
        `127.0.0.1:${good.port}`,
        '--json',
        '--ca-file',
        caFile,
        '--user',
        'u',
        '--password-env',
        'RELAY_PASSWORD',
      ],
      { env: { RELAY_PASSWORD: 'p4ss-word' } },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { version: number; results: Record<string, unknown>[] };
    expect(doc.version).toBe(1);
    expect(doc.results).toHaveLength(1);
    expect(doc.results[0]).toMatchObject({
      check: 'smtp',
      target: `127.0.0.1:${good.port}`,
      status: 'ok',
      findings: [],
      tlsMode: 'starttls',
      auth: { outcome: 'accepted', mechanism: 'PLAIN' },
    });
    expect(run.stdout).not.toContain('p4ss-word');
    expect(good.authAttempts.at(-1)).toEqual({ username: 'u', password: 'p4ss-word' });
  });

  it('an expired certificate: exit 1, a table line and the finding with its hint', async () => {
    const run = await cli(['smtp', `127.0.0.1:${expired.port}`, '--ca-file', caFile]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^STATUS\s+CHECK\s+TARGET/m);
    expect(run.stdout).toMatch(new RegExp(`^CRIT\\s+smtp\\s+127\\.0\\.0\\.1:${expired.port}`, 'm'));
    expect(run.stdout).toMatch(/CRITICAL CERT_EXPIRED/);
    expect(run.stdout).toMatch(/what to do: A certificate in the chain has expired/);
    // No colour codes when stdout is not a terminal.
    expect(run.stdout).not.toContain('\x1b[');
  });

  it('--output FILE writes the whole JSON document while the terminal shows the table (issue 24)', async () => {
    const file = join(dir, 'out.json');
    const run = await cli([
      'smtp',
      `127.0.0.1:${expired.port}`,
      '--tls',
      'starttls',
      '--ca-file',
      caFile,
      '--output',
      file,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^STATUS\s+CHECK/);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      version: number;
      results: { findings: { code: string }[] }[];
    };
    expect(doc.version).toBe(1);
    expect(doc.results[0]!.findings.map((f) => f.code)).toContain('CERT_EXPIRED');
    const unwritable = await cli([
      'smtp',
      `127.0.0.1:${good.port}`,
      '--ca-file',
      caFile,
      '--tls',
      'starttls',
      '--output',
      join(dir, 'missing', 'x.json'),
    ]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/--output .*: cannot write it: there is no such file/);
  });

  it('--quiet prints only what needs attention; --severity critical hides warnings (exit status unchanged)', async () => {
    const args = (port: number) => ['smtp', `127.0.0.1:${port}`, '--tls', 'starttls', '--ca-file', caFile];
    const quietOk = await cli([...args(good.port), '--quiet']);
    expect(quietOk.code).toBe(0);
    expect(quietOk.stdout).toBe('');
    const quietBad = await cli([...args(expired.port), '-q']);
    expect(quietBad.code).toBe(1);
    expect(quietBad.stdout).not.toMatch(/STATUS|checks:/);
    expect(quietBad.stdout).toContain('CRITICAL CERT_EXPIRED');
    const critical = await cli([...args(expired.port), '--severity', 'critical']);
    expect(critical.stdout).toContain('CRITICAL CERT_EXPIRED');
    expect(critical.stdout).not.toMatch(/^\s+(WARNING|INFO) /m);
    expect(critical.stdout).toMatch(/1 checks: 0 ok, 0 warning, 1 critical/);
    const bad = await cli([...args(good.port), '--severity', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--severity: expected warning\|critical, got "loud"/);
  });

  it('--domains-file reads an ad-hoc list (comments, blanks, duplicates) for mta-sts and dane', async () => {
    const list = join(dir, 'domains.txt');
    writeFileSync(list, '# customers\nExample.invalid.\n\nexample.invalid  # again\nother.invalid\n');
    const run = await cli([
      'mta-sts',
      '--domains-file',
      list,
      '--json',
      '--timeout',
      '2000',
      '--dns-server',
      '127.0.0.1:9',
    ]);
    const doc = JSON.parse(run.stdout) as { results: { target: string }[] };
    expect(doc.results.map((r) => r.target)).toEqual(['example.invalid', 'other.invalid']);
  });

  it('--debug prints the SMTP dialogue with timings on stderr, credentials masked (issue 24)', async () => {
    const run = await cli(
      [
        'smtp',
        `127.0.0.1:${good.port}`,
        '--tls',
        'starttls',
        '--ca-file',
        caFile,
        '--user',
        'u',
        '--password-env',
        'PW',
        '--debug',
      ],
      { env: { PW: 'p4ss-word' } },
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^\[\s*\d+ ms\] \*\* connected to 127\.0\.0\.1 port \d+$/m);
    expect(run.stderr).toMatch(/^\[\s*\d+ ms\]<- {2}220[ -]/m);
    expect(run.stderr).toMatch(/^\[\s*\d+ ms\] -> STARTTLS$/m);
    expect(run.stderr).toMatch(/^\[\s*\d+ ms\] \*\* TLS up: TLSv1\.[23] /m);
    expect(run.stderr).toMatch(/^\[\s*\d+ ms\] -> AUTH PLAIN \*{8}$/m);
    expect(run.stderr).toMatch(/^\[\s*\d+ ms\]<- {2}235 /m);
    const secretForms = ['p4ss-word', Buffer.from('\0u\0p4ss-word').toString('base64')];
    for (const secret of secretForms) expect(run.stderr).not.toContain(secret);
    expect(run.stdout).not.toContain('->');
  });

  it('--sni checks the certificate against that name; -4/-6 pick the address family (issue 24)', async () => {
    const base = ['smtp', `127.0.0.1:${good.port}`, '--tls', 'starttls', '--ca-file', caFile, '--json'];
    const codes = async (extra: string[]) =>
      (
        JSON.parse((await cli([...base, ...extra])).stdout) as { results: { findings: { code: string }[] }[] }
      ).results[0]!.findings.map((f) => f.code);
    expect(await codes(['--sni', 'localhost'])).not.toContain('CERT_NAME_MISMATCH');
    expect(await codes(['--sni', 'mail.example.net'])).toContain('CERT_NAME_MISMATCH');
    // A name with only an A record: -4 connects, -6 finds no address of its family.
    const dns = await startDnsServer({ 'relay.test': { A: ['127.0.0.1'] } });
    try {
      const byName = ['smtp', `relay.test:${good.port}`, '--tls', 'starttls', '--ca-file', caFile, '--json'];
      const named = async (extra: string[]) =>
        (
          JSON.parse(
            (await cli([...byName, '--dns-server', `127.0.0.1:${dns.port}`, '--sni', 'localhost', ...extra])).stdout,
          ) as {
            results: { status: string; findings: { code: string; message: string }[] }[];
          }
        ).results[0]!;
      expect((await named(['-4'])).status).toBe('ok');
      const v6 = await named(['-6']);
      expect(v6.status).toBe('critical');
      expect(v6.findings[0]!.code).toMatch(/^DNS_/);
      expect(v6.findings[0]!.message).toContain('relay.test has no address');
    } finally {
      await dns.close();
    }
    const both = await cli([...base, '-4', '-6']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('-4 and -6 exclude each other');
  });

  it('tls --json reports the DH size and protocol versions', async () => {
    const run = await cli(['tls', `127.0.0.1:${good.port}`, '--json', '--ca-file', caFile, '--tls', 'starttls']);
    const doc = JSON.parse(run.stdout) as { results: Record<string, unknown>[] };
    expect(doc.results[0]).toMatchObject({ check: 'tls', target: `127.0.0.1:${good.port}` });
    expect(doc.results[0]?.protocols).toMatchObject({ 'TLSv1.2': true, 'TLSv1.3': true });
    expect(typeof (doc.results[0]?.dh as { bits: number }).bits).toBe('number');
  });

  describe('ses REGION offline', () => {
    let dns: DnsTestServer;
    beforeAll(async () => {
      dns = await startDnsServer({});
    });
    afterAll(async () => dns.close());

    it('lists the five endpoints with the right TLS modes and reports DNS codes, not a crash', async () => {
      const run = await cli(['ses', 'us-east-1', '--json', '--dns-server', `127.0.0.1:${dns.port}`]);
      expect(run.code).toBe(1);
      const doc = JSON.parse(run.stdout) as {
        results: { target: string; tlsMode: string; findings: { code: string }[] }[];
      };
      expect(doc.results.map((r) => [r.target, r.tlsMode])).toEqual([
        ['email-smtp.us-east-1.amazonaws.com:25', 'starttls'],
        ['email-smtp.us-east-1.amazonaws.com:587', 'starttls'],
        ['email-smtp.us-east-1.amazonaws.com:2587', 'starttls'],
        ['email-smtp.us-east-1.amazonaws.com:465', 'implicit'],
        ['email-smtp.us-east-1.amazonaws.com:2465', 'implicit'],
      ]);
      for (const r of doc.results) expect(r.findings.map((f) => f.code)).toEqual(['DNS_NXDOMAIN']);
    });
  });

  it('ses-smtp-password reads the key from stdin or an environment variable, never an argument', async () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const fromStdin = await cli(['ses-smtp-password', '--region', 'eu-west-1'], { stdin: `${key}\n` });
    const fromEnv = await cli(['ses-smtp-password', '--region', 'eu-west-1', '--key-env', 'K'], { env: { K: key } });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toMatch(/^[A-Za-z0-9+/]{44}\n$/);
    expect(fromEnv.stdout).toBe(fromStdin.stdout);
    const otherRegion = await cli(['ses-smtp-password', '--region', 'us-east-1'], { stdin: key });
    expect(otherRegion.stdout).not.toBe(fromStdin.stdout);
  });
});

describe('run --config', () => {
  function writeConfig(): string {
    const path = join(dir, 'mailprobe.config.yaml');
    writeFileSync(
      path,
      [
        'targets:',
        '  - name: relay-good',
        '    host: 127.0.0.1',
        `    port: ${good.port}`,
        '    tls: starttls',
        '    checks: [smtp]',
        '  - name: relay-expired',
        '    host: 127.0.0.1',
        `    port: ${expired.port}`,
        '    tls: starttls',
        '    checks: [smtp]',
        '',
      ].join('\n'),
    );
    return path;
  }

  it('runs the planned checks and filters with --only', async () => {
    const config = writeConfig();
    const all = await cli(['run', '--config', config, '--ca-file', caFile, '--json']);
    expect(all.code).toBe(1);
    const doc = JSON.parse(all.stdout) as { results: { name: string; status: string }[] };
    expect(doc.results.map((r) => [r.name, r.status]).sort()).toEqual([
      ['relay-expired', 'critical'],
      ['relay-good', 'ok'],
    ]);
    const only = await cli(['run', '--config', config, '--ca-file', caFile, '--json', '--only', 'relay-good']);
    expect(only.code).toBe(0);
    expect((JSON.parse(only.stdout) as { results: unknown[] }).results).toHaveLength(1);
    const unknown = await cli(['run', '--config', config, '--only', 'relay-typo']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--only relay-typo: no target of that name/);
  });

  it('--explain-alerts prints the alert a failing target would send', async () => {
    const run = await cli(['run', '--config', writeConfig(), '--ca-file', caFile, '--explain-alerts']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/=== Alert for smtp relay-expired/);
    expect(run.stdout).toMatch(/Subject: \[CRITICAL\] smtp relay-expired .*CERT_EXPIRED/);
    expect(run.stdout).not.toMatch(/=== Alert for smtp relay-good/);
  });

  it('rejects an invalid config with the path of the mistake', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'targets:\n  - host: smtp.example.com\n    port: 587a\n');
    const run = await cli(['run', '--config', path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/targets\[0\]\.port/);
  });
});

describe('bin/mailprobe.mjs', () => {
  it('runs from the repository as `npx mailprobe` would', async () => {
    const bin = new URL('../../bin/mailprobe.mjs', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [bin, 'smtp', `127.0.0.1:${good.port}`, '--json', '--ca-file', caFile],
      { timeout: 60_000 },
    );
    const doc = JSON.parse(stdout) as { results: { status: string }[] };
    expect(doc.results[0]?.status).toBe('ok');
  });

  it('exits 1 when a result is critical', async () => {
    const bin = new URL('../../bin/mailprobe.mjs', import.meta.url).pathname;
    const failure = await promisify(execFile)(
      process.execPath,
      [bin, 'smtp', `127.0.0.1:${expired.port}`, '--ca-file', caFile],
      {
        timeout: 60_000,
      },
    ).catch((err: { code: number; stdout: string }) => err);
    expect((failure as { code: number }).code).toBe(1);
  });
});
