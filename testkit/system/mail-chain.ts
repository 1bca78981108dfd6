/**
 * The mail path the flow tests send through, all Debian daemons on loopback:
 *   client ─(submission: STARTTLS + AUTH via Dovecot SASL)→ Postfix "submit"
 *          ─(SMTP, STARTTLS when the MX offers it)→ Postfix "mx"
 *          ─(Postfix virtual agent, Maildir)→ Dovecot (IMAP over TLS).
 * Both Postfix instances are postfix.ts's, with the delivery agents added and the relaying
 * each one needs. Knobs for the scenarios: the MX without TLS (a clear-text hop), holding
 * the queue on the submission side (a late delivery, released on demand), the MX
 * discarding (a lost message), delivery straight into Junk, a body line rewritten by the
 * MX (a DKIM body hash broken in transit), and a signing milter on the submission side.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOOPBACK, scratchDir } from './daemon.js';
import { startDovecot, type DovecotInstance } from './dovecot.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import { BINARIES } from './requirements.js';

export const POSTSUPER_BINARY = '/usr/sbin/postsuper';

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
  /** Body lines the MX rewrites in transit (Postfix body_checks REPLACE): [regexp, replacement]. */
  readonly mxBodyRewrite?: readonly (readonly [RegExp, string])[];
  /** The recipient domain. @default in.example.test */
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

export async function startMailChain(options: ChainOptions): Promise<MailChain> {
  const domain = options.recipientDomain ?? 'in.example.test';
  const aux = scratchDir('mail-chain');
  const dovecot = await startDovecot({ tls: options.tls });
  const mailUid = execFileSync('id', ['-u', 'mail'], { encoding: 'utf8' }).trim();
  const mailGid = execFileSync('id', ['-g', 'mail'], { encoding: 'utf8' }).trim();
  let bodyChecks: string | undefined;
  if (options.mxBodyRewrite !== undefined && options.mxBodyRewrite.length > 0) {
    bodyChecks = join(aux.path, 'body_checks');
    writeFileSync(bodyChecks, options.mxBodyRewrite.map(([re, to]) => `/${re.source}/ REPLACE ${to}\n`).join(''));
  }
  let mx: PostfixInstance | undefined;
  let submit: PostfixInstance | undefined;
  try {
    mx = await startPostfix({
      name: 'postfix-mx',
      delivery: true,
      hostname: 'mx.example.test',
      ...(options.mxWithoutTls === true ? {} : { tls: options.tls }),
      main: {
        virtual_mailbox_domains: domain,
        virtual_mailbox_base: dovecot.mailDir,
        // Maildir++: a folder is `.<name>` inside the user's Maildir, as Dovecot reads it.
        virtual_mailbox_maps: `inline:{ ${dovecot.user}@${domain}=${dovecot.user}/${options.deliverToJunk === true ? '.Junk/' : ''} }`,
        virtual_uid_maps: `static:${mailUid}`,
        virtual_gid_maps: `static:${mailGid}`,
        virtual_minimum_uid: '1',
        // The Received field names the TLS protocol and cipher: what the flow reads per hop.
        smtpd_tls_received_header: 'yes',
        ...(options.mxDiscards === true ? { virtual_transport: 'discard:lost in this test' } : {}),
        ...(bodyChecks !== undefined ? { body_checks: `regexp:${bodyChecks}` } : {}),
      },
    });
    submit = await startPostfix({
      name: 'postfix-submit',
      delivery: true,
      hostname: 'submit.example.test',
      tls: options.tls,
      main: {
        relayhost: `[${LOOPBACK}]:${mx.port}`,
        default_transport: 'smtp',
        smtp_tls_security_level: 'may',
        smtpd_tls_received_header: 'yes',
        smtpd_sasl_auth_enable: 'yes',
        smtpd_sasl_type: 'dovecot',
        smtpd_sasl_path: dovecot.authSocket,
        // RFC 8314 §3.3: the password only over TLS.
        smtpd_tls_auth_only: 'yes',
        smtpd_relay_restrictions: 'permit_sasl_authenticated, reject',
        ...(options.holdOnSubmit === true
          ? { smtpd_end_of_data_restrictions: `check_client_access inline:{ ${LOOPBACK}=HOLD }` }
          : {}),
        // tempfail: a milter that is down must not let an unsigned message through unnoticed.
        ...(options.milter !== undefined ? { smtpd_milters: options.milter, milter_default_action: 'tempfail' } : {}),
      },
    });
  } catch (err) {
    await mx?.stop();
    await dovecot.stop();
    aux.remove();
    throw err;
  }
  const [mxInstance, submitInstance] = [mx, submit];
  return {
    submitPort: submitInstance.port,
    mxPort: mxInstance.port,
    dovecot,
    recipient: `${dovecot.user}@${domain}`,
    release: () => {
      execFileSync(POSTSUPER_BINARY, ['-c', submitInstance.conf, '-H', 'ALL'], { timeout: 10_000, stdio: 'pipe' });
      execFileSync(BINARIES.postfix, ['-c', submitInstance.conf, 'flush'], { timeout: 10_000, stdio: 'pipe' });
    },
    log: () =>
      ['--- submit ---', submitInstance.log(), '--- mx ---', mxInstance.log(), '--- dovecot ---', dovecot.log()].join(
        '\n',
      ),
    stop: async () => {
      await submitInstance.stop();
      await mxInstance.stop();
      await dovecot.stop();
      aux.remove();
    },
  };
}
