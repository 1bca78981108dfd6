/**
 * End to end against servers we did not write: dnsmasq answers DNS, nginx serves the
 * policies over HTTPS, Postfix is the MX (one listener with STARTTLS, one without), and
 * the `mailprobe mta-sts` CLI runs as a user would run it. All on loopback, certificates
 * from the test PKI. Skipped where those programs are not installed or we are not root
 * (Postfix insists on owning its queue as its own user).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from './support/pki.js';

const DNSMASQ = '/usr/sbin/dnsmasq';
const NGINX = '/usr/sbin/nginx';
const POSTFIX_MASTER = '/usr/lib/postfix/sbin/master';
const available =
  [DNSMASQ, NGINX, POSTFIX_MASTER].every((p) => existsSync(p)) &&
  process.getuid?.() === 0 &&
  uidOf('postfix') !== undefined;

function uidOf(user: string): number | undefined {
  try {
    return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on host:port. */
async function waitForPort(host: string, port: number, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not start listening on ${host}:${port}`);
}

const POLICIES: Record<string, string> = {
  good: 'version: STSv1\nmode: enforce\nmx: mx.interop.example\nmax_age: 604800\n',
  mixed: 'version: STSv1\nmode: enforce\nmx: mx.interop.example\nmx: *.interop.example\nmax_age: 604800\n',
};

interface CliResult {
  readonly check: string;
  readonly target: string;
  readonly status: string;
  readonly findings: readonly { code: string; severity: string; message: string }[];
  readonly mx: readonly { host: string; covered?: boolean; tls?: { verified: boolean; protocol: string } }[];
  readonly policy?: { mode: string };
  readonly policyHost?: { daysToExpiry?: number };
}

describe.skipIf(!available)('mailprobe mta-sts against dnsmasq, nginx and Postfix', () => {
  const children: ChildProcess[] = [];
  const output: string[] = [];
  let dir: string;
  let dnsPort: number;
  let httpsPort: number;
  let smtpPort: number;
  let caFile: string;

  function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    // Kept for the failure message when a server does not come up.
    const log = (chunk: Buffer): void => void output.push(`${command}: ${chunk.toString()}`);
    child.stdout?.on('data', log);
    child.stderr?.on('data', log);
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailprobe-mtasts-interop-'));
    // mkdtemp makes it 0700; Postfix's daemons run as postfix and must reach their queue.
    await chmod(dir, 0o755);
    const pki = await createTestPki();
    caFile = join(dir, 'ca.pem');
    await writeFile(caFile, pki.caPem);
    const policyCreds = pki.credentials(
      await pki.issueLeaf({
        dnsNames: ['mta-sts.good.example', 'mta-sts.mixed.example', 'mta-sts.redirect.example', 'mta-sts.html.example'],
        ipAddresses: [],
      }),
    );
    const mxCreds = pki.credentials(await pki.issueLeaf({ dnsNames: ['mx.interop.example'], ipAddresses: [] }));
    await writeFile(join(dir, 'policy.crt'), policyCreds.cert);
    await writeFile(join(dir, 'policy.key'), policyCreds.key, { mode: 0o600 });
    await writeFile(join(dir, 'mx.crt'), mxCreds.cert);
    await writeFile(join(dir, 'mx.key'), mxCreds.key, { mode: 0o600 });
    [dnsPort, httpsPort, smtpPort] = [await freePort(), await freePort(), await freePort()];

    // dnsmasq: authoritative-style answers for *.example (--local gives NXDOMAIN/NODATA, not REFUSED).
    start(DNSMASQ, [
      '--no-daemon',
      `--port=${dnsPort}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--conf-file=/dev/null',
      '--pid-file=',
      '--user=root',
      '--local=/example/',
      // No shell: quotes would reach dnsmasq verbatim; a comma separates the strings of one record.
      '--txt-record=_mta-sts.good.example,v=STSv1; ,id=20261123',
      '--txt-record=_smtp._tls.good.example,v=TLSRPTv1; rua=mailto:tlsrpt@good.example',
      '--txt-record=_mta-sts.mixed.example,v=STSv1; id=m1',
      '--txt-record=_smtp._tls.mixed.example,v=TLSRPTv1; rua=http://reports.mixed.example/',
      '--txt-record=_mta-sts.redirect.example,v=STSv1; id=r1',
      '--txt-record=_mta-sts.html.example,v=STSv1; id=h1',
      '--mx-host=good.example,mx.interop.example,10',
      '--mx-host=mixed.example,mx.interop.example,10',
      '--mx-host=mixed.example,plain.interop.example,20',
      '--mx-host=redirect.example,mx.interop.example,10',
      '--mx-host=html.example,mx.interop.example,10',
      '--mx-host=missing.example,mx.interop.example,10',
      '--host-record=mx.interop.example,127.0.0.7',
      '--host-record=plain.interop.example,127.0.0.8',
      ...['good', 'mixed', 'redirect', 'html'].map((d) => `--host-record=mta-sts.${d}.example,127.0.0.1`),
    ]);

    // nginx: one server block per policy host.
    const ngx = join(dir, 'nginx');
    await mkdir(join(ngx, 'tmp'), { recursive: true });
    const block = (name: string, location: string): string => `
    server {
      listen 127.0.0.1:${httpsPort} ssl;
      server_name mta-sts.${name}.example;
      ssl_certificate ${dir}/policy.crt;
      ssl_certificate_key ${dir}/policy.key;
      location = /.well-known/mta-sts.txt { ${location} }
    }`;
    const literal = (text: string): string => JSON.stringify(text);
    await writeFile(
      join(ngx, 'nginx.conf'),
      `daemon off;
master_process off;
pid ${ngx}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${ngx}/tmp; proxy_temp_path ${ngx}/tmp; fastcgi_temp_path ${ngx}/tmp;
  uwsgi_temp_path ${ngx}/tmp; scgi_temp_path ${ngx}/tmp;
  ${block('good', `default_type text/plain; return 200 ${literal(POLICIES.good ?? '')};`)}
  ${block('mixed', `default_type text/plain; return 200 ${literal(POLICIES.mixed ?? '')};`)}
  ${block('redirect', 'return 301 https://www.redirect.example/mta-sts.txt;')}
  ${block('html', `default_type text/html; return 200 ${literal(POLICIES.good ?? '')};`)}
}
`,
    );
    start(NGINX, ['-p', ngx, '-c', join(ngx, 'nginx.conf')]);

    // Postfix: STARTTLS on 127.0.0.7, no TLS at all on 127.0.0.8, same port number.
    const pfx = join(dir, 'postfix');
    const queue = join(pfx, 'queue');
    await mkdir(join(pfx, 'conf'), { recursive: true });
    await mkdir(join(pfx, 'data'), { recursive: true });
    const postfixUid = uidOf('postfix') ?? 0;
    for (const sub of [
      'active',
      'bounce',
      'corrupt',
      'defer',
      'deferred',
      'flush',
      'hold',
      'incoming',
      'private',
      'saved',
      'trace',
      'maildrop',
      'public',
      'pid',
    ]) {
      await mkdir(join(queue, sub), { recursive: true });
      if (sub !== 'pid') await chown(join(queue, sub), postfixUid, 0);
    }
    await chown(join(pfx, 'data'), postfixUid, 0);
    await writeFile(
      join(pfx, 'conf', 'main.cf'),
      `compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${pfx}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
# Contained: listens on its two loopback addresses only, relays for nobody, delivers nothing.
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.interop.example
mydestination =
mynetworks =
default_transport = error:mailprobe interop tests deliver nothing
relay_transport = error:mailprobe interop tests deliver nothing
maillog_file_prefixes = ${tmpdir()}
# A file, not /dev/stdout: postlogd cannot reopen a pipe it does not own.
maillog_file = ${pfx}/maillog
smtpd_tls_cert_file = ${dir}/mx.crt
smtpd_tls_key_file = ${dir}/mx.key
smtpd_tls_security_level = may
# No reverse DNS of the client: there is no resolver to ask on this machine, and the wait delays the greeting.
smtpd_peername_lookup = no
`,
    );
    const services = [
      'pickup unix n - n 60 1 pickup',
      'cleanup unix n - n - 0 cleanup',
      'qmgr unix n - n 300 1 qmgr',
      'tlsmgr unix - - n 1000? 1 tlsmgr',
      'rewrite unix - - n - - trivial-rewrite',
      'bounce unix - - n - 0 bounce',
      'defer unix - - n - 0 bounce',
      'trace unix - - n - 0 bounce',
      'verify unix - - n - 1 verify',
      'flush unix n - n 1000? 0 flush',
      'proxymap unix - - n - - proxymap',
      'showq unix n - n - - showq',
      'error unix - - n - - error',
      'retry unix - - n - - error',
      'discard unix - - n - - discard',
      'anvil unix - - n - 1 anvil',
      'scache unix - - n - 1 scache',
      'postlog unix-dgram n - n - 1 postlogd',
    ];
    await writeFile(
      join(pfx, 'conf', 'master.cf'),
      [
        `127.0.0.7:${smtpPort} inet n - n - - smtpd`,
        `127.0.0.8:${smtpPort} inet n - n - - smtpd -o smtpd_tls_security_level=none`,
        ...services,
      ].join('\n') + '\n',
    );
    start(POSTFIX_MASTER, ['-c', join(pfx, 'conf'), '-d'], { MAIL_CONFIG: join(pfx, 'conf') });

    try {
      await Promise.all([
        waitForPort('127.0.0.1', dnsPort, 'dnsmasq'),
        waitForPort('127.0.0.1', httpsPort, 'nginx'),
        waitForPort('127.0.0.7', smtpPort, 'postfix'),
        waitForPort('127.0.0.8', smtpPort, 'postfix'),
      ]);
    } catch (err) {
      const maillog = await readFile(join(dir, 'postfix', 'maillog'), 'utf8').catch(() => '');
      throw new Error(`${(err as Error).message}\n${output.join('')}${maillog}`, { cause: err });
    }
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve)))),
    );
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('gives the right findings for each domain through the CLI', async () => {
    const args = [
      'bin/mailprobe.mjs',
      'mta-sts',
      'good.example',
      'mixed.example',
      'redirect.example',
      'html.example',
      'missing.example',
      '--dns-server',
      `127.0.0.1:${dnsPort}`,
      '--ca-file',
      caFile,
      '--allow-private',
      '--json',
      '--policy-port',
      String(httpsPort),
      '--mx-port',
      String(smtpPort),
    ];
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: process.cwd(), timeout: 60_000 }, (err, out) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout: out });
      });
    });
    expect(code).toBe(1);
    const output = JSON.parse(stdout) as { version: number; results: CliResult[] };
    const byTarget = Object.fromEntries(output.results.map((r) => [r.target, r]));
    const codes = (target: string): string[] => (byTarget[target]?.findings ?? []).map((f) => f.code).sort();

    expect(byTarget['good.example']?.findings).toEqual([]);
    expect(byTarget['good.example']).toMatchObject({ status: 'ok', policy: { mode: 'enforce' } });
    expect(byTarget['good.example']?.mx).toMatchObject([
      { host: 'mx.interop.example', covered: true, tls: { verified: true } },
    ]);
    expect(byTarget['good.example']?.policyHost?.daysToExpiry).toBeGreaterThanOrEqual(88);

    expect(codes('mixed.example')).toEqual(['MTASTS_MX_NO_STARTTLS', 'TLSRPT_INVALID']);
    expect(byTarget['mixed.example']?.findings.find((f) => f.code === 'MTASTS_MX_NO_STARTTLS')?.message).toMatch(
      /^MX plain\.interop\.example \(127\.0\.0\.8\): STARTTLS_NOT_OFFERED/,
    );
    expect(byTarget['mixed.example']?.findings.find((f) => f.code === 'TLSRPT_INVALID')?.message).toMatch(/uses http:/);

    expect(codes('redirect.example')).toEqual(['MTASTS_POLICY_REDIRECT', 'TLSRPT_MISSING']);
    expect(codes('html.example')).toEqual(['MTASTS_POLICY_CONTENT_TYPE', 'TLSRPT_MISSING']);
    expect(codes('missing.example')).toEqual(['MTASTS_TXT_MISSING', 'TLSRPT_MISSING']);
  });
});
