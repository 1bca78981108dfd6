/**
 * A private OpenDKIM (Debian's opendkim, not our code) for the flow tests: a signing milter
 * on 127.0.0.1 that Postfix's submission side calls (`smtpd_milters`), so the message the
 * flow reads back carries a DKIM signature made by a real signer. The key is made at test
 * time; `dnsRecord` is what a test DNS zone publishes at `<selector>._domainkey.<domain>`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK, startDaemon } from './daemon.js';

export const OPENDKIM_BINARY = '/usr/sbin/opendkim';

export interface OpendkimOptions {
  /** The signing domain (`d=`): mail whose From is in it gets signed. */
  readonly domain: string;
  /** @default 's1' */
  readonly selector?: string;
}

export interface OpendkimInstance {
  /** For Postfix's `smtpd_milters`. */
  readonly milter: string;
  readonly domain: string;
  readonly selector: string;
  /** `<selector>._domainkey.<domain>` */
  readonly recordName: string;
  /** The TXT record's character-strings (RFC 6376 §3.6.2.2: a long key spans several). */
  readonly dnsRecord: readonly string[];
  stop(): Promise<void>;
}

/** TXT character-strings hold at most 255 bytes (RFC 1035 §3.3). */
function chunks(text: string, size = 255): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export async function startOpendkim(options: OpendkimOptions): Promise<OpendkimInstance> {
  const selector = options.selector ?? 's1';
  // OpenDKIM refuses a config or key below a directory others can write (/tmp, even sticky):
  // its files live in a root-only directory under /run instead.
  const dir = mkdtempSync('/run/mailprobe-opendkim-');
  const scratch = { remove: () => rmSync(dir, { recursive: true, force: true }) };
  const port = await freePort();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'key.pem');
  // OpenDKIM refuses a key others can read (RequireSafeKeys).
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs1' }), { mode: 0o600 });
  const conf = join(dir, 'opendkim.conf');
  writeFileSync(
    conf,
    [
      'Syslog no',
      'Mode s',
      `Domain ${options.domain}`,
      `Selector ${selector}`,
      `KeyFile ${keyFile}`,
      `Socket inet:${port}@${LOOPBACK}`,
      `PidFile ${join(dir, 'opendkim.pid')}`,
      // simple body canonicalization: a changed body line must break the body hash.
      'Canonicalization relaxed/simple',
      'SignatureAlgorithm rsa-sha256',
      // Mail from loopback is "internal" and gets signed (the submission relay connects from there).
      `InternalHosts ${LOOPBACK}`,
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon({
    name: 'opendkim',
    command: OPENDKIM_BINARY,
    args: ['-f', '-x', conf],
    readyPorts: [port],
    scratch,
  });
  const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  return {
    milter: `inet:${LOOPBACK}:${port}`,
    domain: options.domain,
    selector,
    recordName: `${selector}._domainkey.${options.domain}`,
    dnsRecord: chunks(`v=DKIM1; k=rsa; p=${spki}`),
    stop: daemon.stop,
  };
}
