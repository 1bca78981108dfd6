/**
 * A private Postfix instance (Debian's package, not our code) for the system tests: its own
 * main.cf/master.cf, queue and data directories in a scratch directory, one smtpd on
 * 127.0.0.1:PORT, `postfix start-fg` in the foreground. It accepts SMTP sessions and
 * delivers nothing anywhere: every transport is `error`, no relaying, no DNS.
 */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileLog, freePort, LOOPBACK, scratchDir, startDaemon, terminatePid } from './daemon.js';
import { BINARIES } from './requirements.js';

export interface PostfixOptions {
  /** Key and certificate chain (leaf first), PEM. Absent: no STARTTLS at all (`smtpd_tls_security_level = none`). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** PKCS#3 DH parameters for DHE suites (`smtpd_tls_dh1024_param_file`). @default Postfix's built-in (ffdhe2048) */
  readonly dhParamsPem?: string;
  /** Extra or overriding main.cf parameters. */
  readonly main?: Readonly<Record<string, string>>;
  /** `myhostname`, shown in the greeting. @default 'mx.example.test' */
  readonly hostname?: string;
  /**
   * Add the delivery agents (`smtp`/`relay` to other instances, `virtual` into a Maildir) for
   * a chain that really moves mail (mail-chain.ts); the containment defaults still apply
   * unless `main` overrides them. @default false
   */
  readonly delivery?: boolean;
  /** For the scratch directory and messages. @default 'postfix' */
  readonly name?: string;
}

export interface PostfixInstance {
  readonly host: typeof LOOPBACK;
  readonly port: number;
  readonly startupMs: number;
  /** The config directory, for `postfix -c` / `postsuper -c`. */
  readonly conf: string;
  /** The instance's maillog, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * The services a Postfix with one smtpd needs. chroot is off (column 5 `n`): the scratch
 * directory is not a prepared chroot jail. No `smtp`/`local` delivery agents exist at all.
 */
function masterCf(port: number, delivery: boolean): string {
  return [
    `${LOOPBACK}:${port} inet n - n - - smtpd`,
    'pickup    unix  n - n 60    1 pickup',
    'cleanup   unix  n - n -     0 cleanup',
    'qmgr      unix  n - n 300   1 qmgr',
    'tlsmgr    unix  - - n 1000? 1 tlsmgr',
    'rewrite   unix  - - n -     - trivial-rewrite',
    'bounce    unix  - - n -     0 bounce',
    'defer     unix  - - n -     0 bounce',
    'trace     unix  - - n -     0 bounce',
    'verify    unix  - - n -     1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n -     - proxymap',
    'error     unix  - - n -     - error',
    'retry     unix  - - n -     - error',
    'discard   unix  - - n -     - discard',
    'anvil     unix  - - n -     1 anvil',
    'scache    unix  - - n -     1 scache',
    'postlog   unix-dgram n - n - 1 postlogd',
    ...(delivery
      ? [
          'smtp      unix  - - n -     - smtp',
          'relay     unix  - - n -     - smtp',
          'virtual   unix  - n n -     - virtual',
        ]
      : []),
    '',
  ].join('\n');
}

function mainCf(dir: string, options: PostfixOptions, tlsFiles: { chain?: string; dh?: string }): string {
  const hostname = options.hostname ?? 'mx.example.test';
  const params: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'queue'),
    data_directory: join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: hostname,
    mydomain: 'example.test',
    myorigin: '$myhostname',
    // Containment: listen and send from loopback only, accept mail for nobody, relay for
    // nobody, and fail every delivery locally instead of looking anything up or connecting out.
    inet_interfaces: LOOPBACK,
    inet_protocols: 'ipv4',
    mydestination: '',
    mynetworks: '',
    relay_domains: '',
    smtpd_relay_restrictions: 'reject_unauth_destination',
    default_transport: 'error:test instance delivers nothing',
    relay_transport: 'error:test instance delivers nothing',
    local_transport: 'error:test instance delivers nothing',
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    smtpd_peername_lookup: 'no',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    biff: 'no',
    // No syslog daemon in CI: log to a file the failure messages can show.
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    smtpd_tls_loglevel: '1',
    smtpd_tls_security_level: tlsFiles.chain !== undefined ? 'may' : 'none',
    ...(tlsFiles.chain !== undefined ? { smtpd_tls_chain_files: tlsFiles.chain } : {}),
    ...(tlsFiles.dh !== undefined ? { smtpd_tls_dh1024_param_file: tlsFiles.dh } : {}),
    ...options.main,
  };
  return Object.entries(params)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')
    .concat('\n');
}

function postfixIds(): { uid: number; gid: number } {
  // The master refuses a data directory it cannot lock as the mail_owner.
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postfix'], { encoding: 'utf8' })));
  return { uid: uid!, gid: gid! };
}

export async function startPostfix(options: PostfixOptions = {}): Promise<PostfixInstance> {
  const name = options.name ?? 'postfix';
  const scratch = scratchDir(name);
  const dir = scratch.path;
  const port = await freePort();
  const conf = join(dir, 'conf');
  mkdirSync(conf, { mode: 0o755 });
  mkdirSync(join(dir, 'queue'), { mode: 0o755 });
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  const { uid, gid } = postfixIds();
  chownSync(join(dir, 'data'), uid, gid);

  const tlsFiles: { chain?: string; dh?: string } = {};
  if (options.tls !== undefined) {
    // One file, key first then the chain leaf first: the order smtpd_tls_chain_files wants.
    // smtpd reads it as root before dropping privileges, so it stays root-only.
    tlsFiles.chain = join(conf, 'chain.pem');
    writeFileSync(tlsFiles.chain, options.tls.key + options.tls.cert, { mode: 0o600 });
  }
  if (options.dhParamsPem !== undefined) {
    tlsFiles.dh = join(conf, 'dh.pem');
    writeFileSync(tlsFiles.dh, options.dhParamsPem);
  }
  writeFileSync(join(conf, 'main.cf'), mainCf(dir, options, tlsFiles));
  writeFileSync(join(conf, 'master.cf'), masterCf(port, options.delivery === true));

  const log = fileLog(join(dir, 'maillog'));
  const daemon = await startDaemon({
    name,
    command: BINARIES.postfix,
    args: ['-c', conf, 'start-fg'],
    readyPorts: [port],
    diagnostics: log,
    // master detaches into its own session; its pid file is the handle. Ending it by
    // that PID (SIGTERM) makes it end its services and postfix-script, our child, exits.
    beforeStop: async () => {
      let pid: number;
      try {
        pid = Number(readFileSync(join(dir, 'queue', 'pid', 'master.pid'), 'utf8').trim());
      } catch {
        return; // never got as far as writing it
      }
      if (Number.isInteger(pid) && pid > 1) await terminatePid(pid);
    },
    scratch,
  });
  return { host: LOOPBACK, port, startupMs: daemon.startupMs, conf, log, stop: daemon.stop };
}
