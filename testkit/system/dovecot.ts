/**
 * A private Dovecot (Debian's dovecot-imapd/-lmtpd) for the flow tests: IMAP over implicit
 * TLS on a 127.0.0.1 high port, one passwd-file user, Maildir in a scratch
 * directory, a `Junk` folder marked `\Junk` (RFC 6154). Messages are put into folders by
 * Dovecot itself (`doveadm save`) or delivered into the Maildir by Postfix's `virtual` agent
 * (dovecot-lmtpd is not installed).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileLog, freePort, LOOPBACK, scratchDir, startDaemon, terminatePid } from './daemon.js';

export const DOVECOT_BINARY = '/usr/sbin/dovecot';
export const DOVEADM_BINARY = '/usr/bin/doveadm';

export interface DovecotOptions {
  /** Key and certificate chain (PEM) for IMAPS. */
  readonly tls: { readonly key: string; readonly cert: string };
  /** @default 'probe' / 'probe-password' */
  readonly user?: string;
  readonly password?: string;
}

/** Dovecot's auth socket for Postfix's SASL (`smtpd_sasl_type = dovecot`), under the scratch directory. */
export const AUTH_SOCKET = 'auth-postfix';

export interface DovecotInstance {
  readonly host: typeof LOOPBACK;
  readonly imapsPort: number;
  /** Maildir base (`<mailDir>/<user>/`), owned by `mail`: where Postfix's virtual agent delivers. */
  readonly mailDir: string;
  /** Dovecot's SASL socket, for Postfix's submission AUTH. */
  readonly authSocket: string;
  readonly user: string;
  readonly password: string;
  /** Stores `message` in `folder` as Dovecot delivers it. */
  save(message: Buffer | string, folder?: string): void;
  /** Number of messages in a folder. */
  count(folder: string): number;
  log(): string;
  stop(): Promise<void>;
}

function ids(user: string): { uid: number; gid: number } {
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' })));
  return { uid: uid!, gid: gid! };
}

export async function startDovecot(options: DovecotOptions): Promise<DovecotInstance> {
  const scratch = scratchDir('dovecot');
  const dir = scratch.path;
  const imapsPort = await freePort();
  const user = options.user ?? 'probe';
  const password = options.password ?? 'probe-password';
  const mailOwner = ids('mail');
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub), { mode: 0o755 });
  chownSync(join(dir, 'mail'), mailOwner.uid, mailOwner.gid);
  writeFileSync(join(dir, 'key.pem'), options.tls.key, { mode: 0o600 });
  writeFileSync(join(dir, 'cert.pem'), options.tls.cert);
  writeFileSync(join(dir, 'users'), `${user}:{PLAIN}${password}::::\n`, { mode: 0o644 });
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mailprobe-${imapsPort}
protocols = imap
listen = ${LOOPBACK}
log_path = ${dir}/dovecot.log
ssl = required
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = 1
mail_uid = ${mailOwner.uid}
mail_gid = ${mailOwner.gid}
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${dir}/users
}
userdb {
  driver = static
  args = home=${dir}/mail/%n
}
auth_username_format = %n
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = ${LOOPBACK}
    port = ${imapsPort}
    ssl = yes
  }
}
service auth {
  unix_listener ${dir}/${AUTH_SOCKET} {
    mode = 0666
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
`,
  );
  const log = fileLog(join(dir, 'dovecot.log'));
  const daemon = await startDaemon({
    name: 'dovecot',
    command: DOVECOT_BINARY,
    args: ['-F', '-c', conf],
    readyPorts: [imapsPort],
    diagnostics: log,
    beforeStop: async () => {
      try {
        const pid = Number(readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim());
        if (Number.isInteger(pid) && pid > 1) await terminatePid(pid);
      } catch {
        // no pid file: the group stop below ends it
      }
    },
    scratch,
  });
  const doveadm = (args: string[], input?: Buffer | string) =>
    execFileSync(DOVEADM_BINARY, ['-c', conf, ...args], { input, encoding: 'utf8', timeout: 10_000 });
  return {
    host: LOOPBACK,
    imapsPort,
    mailDir: join(dir, 'mail'),
    authSocket: join(dir, AUTH_SOCKET),
    user,
    password,
    save: (message, folder = 'INBOX') => void doveadm(['save', '-u', user, '-m', folder], message),
    count: (folder) => Number(doveadm(['mailbox', 'status', '-u', user, 'messages', folder]).replace(/\D+/g, '')),
    log,
    stop: daemon.stop,
  };
}
