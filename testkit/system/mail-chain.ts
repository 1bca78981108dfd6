/**
 * The mail path the flow tests send through, all Debian daemons on loopback:
 *   client ─(587-style submission, STARTTLS + AUTH via Dovecot SASL)→ Postfix "submit"
 *          ─(SMTP, STARTTLS when the MX offers it)→ Postfix "mx"
 *          ─(Postfix virtual agent, Maildir)→ Dovecot (IMAP over TLS).
 * Knobs for the scenarios: the MX without TLS (a clear-text hop), holding the queue on the
 * submission side (a late delivery, released on demand), the MX discarding (a lost message),
 * delivery straight into Junk, and a milter (OpenDKIM) on the submission side.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileLog, freePort, LOOPBACK, scratchDir, startDaemon, terminatePid, type Daemon } from './daemon.js';
import { startDovecot, type DovecotInstance } from './dovecot.js';
import { BINARIES } from './requirements.js';

export interface ChainOptions {
  readonly tls: { readonly key: string; readonly cert: string };
  /** The MX offers no STARTTLS. */
  readonly mxWithoutTls?: boolean;
  /** The MX discards every message after accepting it. */
  readonly mxDiscards?: boolean;
  /** The MX delivers into the Junk folder. */
  readonly deliverToJunk?: boolean;
  /** The submission relay puts every message on hold until release(). */
  readonly holdOnSubmit?: boolean;
  /** `inet:127.0.0.1:PORT` of a signing milter on the submission relay. */
  readonly milter?: string;
  /** The recipient domain and local part. @default in.example.test / probe */
  readonly recipientDomain?: string;
}

export interface MailChain {
  readonly submitPort: number;
  readonly mxPort: number;
  readonly dovecot: DovecotInstance;
  readonly recipient: string;
  /** Releases held messages on the submission relay and flushes its queue. */
  release(): void;
  log(): string;
  stop(): Promise<void>;
}

const MASTER_SERVICES = [
  'pickup    unix  n - n 60    1 pickup',
  'cleanup   unix  n - n -     0 cleanup',
  'qmgr      unix  n - n 1     1 qmgr',
  'tlsmgr    unix  - - n 1000? 1 tlsmgr',
  'rewrite   unix  - - n -     - trivial-rewrite',
  'bounce    unix  - - n -     0 bounce',
  'defer     unix  - - n -     0 bounce',
  'trace     unix  - - n -     0 bounce',
  'verify    unix  - - n -     1 verify',
  'flush     unix  n - n 1000? 0 flush',
  'proxymap  unix  - - n -     - proxymap',
  'smtp      unix  - - n -     - smtp',
  'relay     unix  - - n -     - smtp',
  'virtual   unix  - n n -     - virtual',
  'error     unix  - - n -     - error',
  'retry     unix  - - n -     - error',
  'discard   unix  - - n -     - discard',
  'anvil     unix  - - n -     1 anvil',
  'scache    unix  - - n -     1 scache',
  'postlog   unix-dgram n - n - 1 postlogd',
];

interface Instance {
  readonly port: number;
  readonly conf: string;
  readonly daemon: Daemon;
  readonly log: () => string;
}

async function postfix(
  name: string,
  main: Record<string, string>,
  tls: ChainOptions['tls'] | undefined,
): Promise<Instance> {
  const scratch = scratchDir(`postfix-${name}`);
  const dir = scratch.path;
  const port = await freePort();
  const conf = join(dir, 'conf');
  mkdirSync(conf, { mode: 0o755 });
  mkdirSync(join(dir, 'queue'), { mode: 0o755 });
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'postfix'], { encoding: 'utf8' })));
  chownSync(join(dir, 'data'), uid!, gid!);
  if (tls !== undefined) writeFileSync(join(conf, 'chain.pem'), tls.key + tls.cert, { mode: 0o600 });
  const params: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'queue'),
    data_directory: join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    mydomain: 'example.test',
    myorigin: '$myhostname',
    inet_interfaces: LOOPBACK,
    inet_protocols: 'ipv4',
    mydestination: '',
    mynetworks: '127.0.0.0/8',
    relay_domains: '',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    local_transport: 'error:no local delivery',
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    smtpd_peername_lookup: 'no',
    biff: 'no',
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    smtpd_tls_security_level: tls !== undefined ? 'may' : 'none',
    ...(tls !== undefined ? { smtpd_tls_chain_files: join(conf, 'chain.pem') } : {}),
    // The Received field names the TLS protocol and cipher: what the flow reads per hop.
    smtpd_tls_received_header: 'yes',
    ...main,
  };
  writeFileSync(
    join(conf, 'main.cf'),
    Object.entries(params)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')
      .concat('\n'),
  );
  writeFileSync(
    join(conf, 'master.cf'),
    [`${LOOPBACK}:${port} inet n - n - - smtpd`, ...MASTER_SERVICES, ''].join('\n'),
  );
  const log = fileLog(join(dir, 'maillog'));
  const daemon = await startDaemon({
    name: `postfix-${name}`,
    command: BINARIES.postfix,
    args: ['-c', conf, 'start-fg'],
    readyPorts: [port],
    diagnostics: log,
    beforeStop: async () => {
      try {
        const pid = Number(readFileSync(join(dir, 'queue', 'pid', 'master.pid'), 'utf8').trim());
        if (Number.isInteger(pid) && pid > 1) await terminatePid(pid);
      } catch {
        // never wrote it
      }
    },
    scratch,
  });
  return { port, conf, daemon, log };
}

export async function startMailChain(options: ChainOptions): Promise<MailChain> {
  const domain = options.recipientDomain ?? 'in.example.test';
  const dovecot = await startDovecot({ tls: options.tls });
  const mailUid = execFileSync('id', ['-u', 'mail'], { encoding: 'utf8' }).trim();
  const mailGid = execFileSync('id', ['-g', 'mail'], { encoding: 'utf8' }).trim();
  let mx: Instance | undefined;
  try {
    mx = await postfix(
      'mx',
      {
        myhostname: 'mx.example.test',
        smtpd_relay_restrictions: 'reject_unauth_destination',
        virtual_mailbox_domains: domain,
        virtual_mailbox_base: dovecot.mailDir,
        // Maildir++: a folder is `.<name>` inside the user's Maildir, as Dovecot reads it.
        virtual_mailbox_maps: `inline:{ ${dovecot.user}@${domain}=${dovecot.user}/${options.deliverToJunk === true ? '.Junk/' : ''} }`,
        virtual_uid_maps: `static:${mailUid}`,
        virtual_gid_maps: `static:${mailGid}`,
        virtual_minimum_uid: '1',
        default_transport: 'error:the MX only delivers locally',
        ...(options.mxDiscards === true ? { virtual_transport: 'discard:lost in this test' } : {}),
      },
      options.mxWithoutTls === true ? undefined : options.tls,
    );
    const submit = await postfix(
      'submit',
      {
        myhostname: 'submit.example.test',
        mynetworks: '',
        relayhost: `[${LOOPBACK}]:${mx.port}`,
        default_transport: 'smtp',
        smtp_tls_security_level: 'may',
        smtpd_sasl_auth_enable: 'yes',
        smtpd_sasl_type: 'dovecot',
        smtpd_sasl_path: dovecot.authSocket,
        smtpd_tls_auth_only: 'yes',
        smtpd_relay_restrictions: 'permit_sasl_authenticated, reject',
        smtpd_sender_restrictions: '',
        ...(options.holdOnSubmit === true
          ? { smtpd_end_of_data_restrictions: 'check_client_access inline:{ 127.0.0.1=HOLD }' }
          : {}),
        ...(options.milter !== undefined ? { smtpd_milters: options.milter, milter_default_action: 'tempfail' } : {}),
      },
      options.tls,
    );
    return {
      submitPort: submit.port,
      mxPort: mx.port,
      dovecot,
      recipient: `${dovecot.user}@${domain}`,
      release: () => {
        execFileSync('/usr/sbin/postsuper', ['-c', submit.conf, '-H', 'ALL'], { timeout: 10_000 });
        execFileSync(BINARIES.postfix, ['-c', submit.conf, 'flush'], { timeout: 10_000 });
      },
      log: () => [`--- submit ---`, submit.log(), `--- mx ---`, mx!.log(), `--- dovecot ---`, dovecot.log()].join('\n'),
      stop: async () => {
        await submit.daemon.stop();
        await mx!.daemon.stop();
        await dovecot.stop();
      },
    };
  } catch (err) {
    await mx?.daemon.stop();
    await dovecot.stop();
    throw err;
  }
}
