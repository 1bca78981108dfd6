/**
 * The `mailprobe` CLI against SMTP and TLS servers we did not write: Debian's Postfix (one
 * private instance per configuration, loopback only) and `openssl s_server`. These prove
 * the findings hold against real implementations, not only against our own test servers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, dhParamsPem, type TestPki } from '../../../testkit/pki.js';
import { codesOf, runCli, type CliResult, type CliRun } from '../../../testkit/system/cli.js';
import { scratchDir, startAll, stopAll } from '../../../testkit/system/daemon.js';
import { startOpensslServer, type OpensslServerInstance } from '../../../testkit/system/openssl-server.js';
import { startPostfix, type PostfixInstance } from '../../../testkit/system/postfix.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';

const requirements = systemRequirements('postfix', 'openssl');

interface TlsSession {
  readonly verified: boolean;
  readonly protocol: string;
  readonly earliestExpiry?: { readonly daysToExpiry: number };
}

describe.skipIf(requirements.skip)(requirements.title('system: Postfix and openssl s_server'), () => {
  requirements.enforce();

  let pki: TestPki;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  let caFile: string;
  let good: PostfixInstance;
  let expired: PostfixInstance;
  let noStarttls: PostfixInstance;
  let dh1024: PostfixInstance;
  let dh2048: PostfixInstance;
  let implicitTls: PostfixInstance;
  let senderReject: PostfixInstance;
  let limited: PostfixInstance;
  let tls10: OpensslServerInstance;

  beforeAll(async () => {
    pki = await createTestPki();
    scratch = scratchDir('ca');
    caFile = join(scratch.path, 'ca.pem');
    writeFileSync(caFile, pki.caPem);
    const [expiredLeaf, rsaLeaf] = await Promise.all([
      pki.expired(),
      // DHE suites exist only for RSA (and DSS) keys: an ECDSA server can never be asked for DH.
      pki.issueLeaf({ key: { type: 'rsa', bits: 2048 } }),
    ]);
    // Pinned to TLS ≥ 1.2 so the protocol findings of the DH servers are known exactly.
    const modernOnly = { smtpd_tls_protocols: '>=TLSv1.2', smtpd_tls_mandatory_protocols: '>=TLSv1.2' };
    [good, expired, noStarttls, dh1024, dh2048, implicitTls, senderReject, limited, tls10] = await startAll([
      startPostfix({ tls: pki.credentials() }),
      startPostfix({ tls: pki.credentials(expiredLeaf) }),
      startPostfix({}),
      startPostfix({ tls: pki.credentials(rsaLeaf), dhParamsPem: dhParamsPem(1024), main: modernOnly }),
      startPostfix({ tls: pki.credentials(rsaLeaf), dhParamsPem: dhParamsPem(2048), main: modernOnly }),
      // TLS from the first byte, as on 465 (Postfix calls it wrapper mode).
      startPostfix({ tls: pki.credentials(), main: { smtpd_tls_wrappermode: 'yes' } }),
      // Every sender refused at MAIL FROM, like SES for an unverified identity. Postfix
      // defers restrictions to RCPT TO unless told not to.
      startPostfix({ tls: pki.credentials(), main: { smtpd_delay_reject: 'no', smtpd_sender_restrictions: 'reject' } }),
      // One session per client (anvil): the others are greeted "421 4.7.0 … too many connections".
      startPostfix({ tls: pki.credentials(), main: { smtpd_client_connection_count_limit: '1', ...modernOnly } }),
      // TLS 1.0 only. Debian's OpenSSL refuses TLS < 1.2 at its default security level 2,
      // so the server has to drop to level 0 to offer it at all.
      startOpensslServer({ tls: pki.credentials(), args: ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0'] }),
    ] as const);
    console.log(
      `system-postfix startup ms: postfix ${[good, expired, noStarttls, dh1024, dh2048, implicitTls, senderReject, limited].map((p) => p.startupMs).join(', ')}; openssl s_server ${tls10.startupMs}`,
    );
  });

  afterAll(async () => {
    await stopAll([good, expired, noStarttls, dh1024, dh2048, implicitTls, senderReject, limited, tls10]);
    scratch?.remove();
  });

  /** The CLI against one of the daemons, as JSON, trusting the test CA. */
  const probe = (command: 'smtp' | 'tls', server: { port: number }, ...extra: string[]): Promise<CliRun> =>
    runCli([command, `127.0.0.1:${server.port}`, '--json', '--ca-file', caFile, ...extra]);

  const only = (results: readonly CliResult[]): CliResult => {
    expect(results).toHaveLength(1);
    return results[0]!;
  };

  it('smtp: a valid chain over STARTTLS is ok and verified', async () => {
    const run = await probe('smtp', good);
    const result = only(run.results);
    expect(codesOf(result), good.log()).toEqual([]);
    expect(result).toMatchObject({ check: 'smtp', target: `127.0.0.1:${good.port}`, status: 'ok', completed: true });
    expect(result['greeting']).toContain('ESMTP Postfix');
    const tls = result['tls'] as TlsSession;
    expect(tls.verified).toBe(true);
    // Postfix 3.7 with OpenSSL 3 negotiates the newest protocol both sides have.
    expect(tls.protocol).toBe('TLSv1.3');
    // The leaf (90 days) expires before the intermediate (5 years).
    expect(tls.earliestExpiry?.daysToExpiry).toBe(89);
    expect(run.exitCode).toBe(0);
  });

  it('smtp: an expired certificate is CERT_EXPIRED, still inspected, exit 1', async () => {
    const run = await probe('smtp', expired);
    const result = only(run.results);
    expect(codesOf(result), expired.log()).toEqual(['CERT_EXPIRED']);
    expect(result.status).toBe('critical');
    const tls = result['tls'] as TlsSession;
    expect(tls.verified).toBe(false);
    // pki.expired() ends ten days ago, so it is 10 whole days plus a fraction past.
    expect(tls.earliestExpiry?.daysToExpiry).toBe(-11);
    expect(run.exitCode).toBe(1);
  });

  it('smtp: smtpd_tls_security_level = none is STARTTLS_NOT_OFFERED, exit 1', async () => {
    const run = await probe('smtp', noStarttls);
    const result = only(run.results);
    expect(codesOf(result), noStarttls.log()).toEqual(['STARTTLS_NOT_OFFERED']);
    expect(result.status).toBe('critical');
    expect(result['tls']).toBeUndefined();
    expect(result['capabilities']).toContain('PIPELINING');
    expect(run.exitCode).toBe(1);
  });

  it('smtp: the same server with --tls none is plain SMTP that completes', async () => {
    const run = await runCli(['smtp', `127.0.0.1:${noStarttls.port}`, '--json', '--tls', 'none']);
    const result = only(run.results);
    expect(result).toMatchObject({ status: 'ok', completed: true, tlsMode: 'none' });
    expect(run.exitCode).toBe(0);
  });

  it('smtp --tls implicit: Postfix in wrapper mode (465-style) is ok and verified', async () => {
    const run = await probe('smtp', implicitTls, '--tls', 'implicit');
    const result = only(run.results);
    expect(codesOf(result), implicitTls.log()).toEqual([]);
    expect(result).toMatchObject({ status: 'ok', tlsMode: 'implicit', completed: true });
    expect((result['tls'] as TlsSession).verified).toBe(true);
    expect(result['greeting']).toContain('ESMTP Postfix');
  });

  it('smtp --tls implicit against a plaintext Postfix is TLS_WRONG_MODE', async () => {
    const run = await probe('smtp', noStarttls, '--tls', 'implicit');
    const result = only(run.results);
    expect(codesOf(result)).toEqual(['TLS_WRONG_MODE']);
    expect(run.exitCode).toBe(1);
  });

  // Issue #24 item 3: the port is silent (it waits for a ClientHello); asked over a second
  // connection after WRONG_MODE_SILENCE_MS, it answers with a ServerHello.
  it('smtp --tls starttls against Postfix in wrapper mode (465) is TLS_WRONG_MODE, not GREETING_TIMEOUT', async () => {
    const run = await probe('smtp', implicitTls, '--tls', 'starttls');
    const result = only(run.results);
    expect(codesOf(result), implicitTls.log()).toEqual(['TLS_WRONG_MODE']);
    expect(result.findings[0]?.stage).toBe('greeting');
    expect(result.findings[0]?.message).toMatch(/answers a TLS ClientHello with a TLS handshake record/);
    expect(run.exitCode).toBe(1);
  });

  // (Not against openssl s_server: it serves one connection at a time, so the question on
  // the second connection waits behind the probe's own silent one and gets no answer.)
  it('tls --tls starttls against Postfix in wrapper mode is TLS_WRONG_MODE, not GREETING_TIMEOUT', async () => {
    const run = await probe('tls', implicitTls, '--tls', 'starttls');
    const result = only(run.results);
    expect(codesOf(result)).toContain('TLS_WRONG_MODE');
    expect(codesOf(result)).not.toContain('GREETING_TIMEOUT');
  });

  it('smtp test message: Postfix refusing to relay is RECIPIENT_REJECTED with its 554 reply', async () => {
    const run = await probe('smtp', good, '--mail-from', 'probe@sender.test', '--rcpt-to', 'user@elsewhere.test');
    const result = only(run.results);
    expect(codesOf(result), good.log()).toEqual(['RECIPIENT_REJECTED']);
    expect(result['reply']).toBe('554 5.7.1 <user@elsewhere.test>: Relay access denied');
    expect(result['message']).toMatchObject({ accepted: false });
    expect(run.exitCode).toBe(1);
  });

  it('smtp test message: a sender refused at MAIL FROM is SENDER_REJECTED', async () => {
    const run = await probe(
      'smtp',
      senderReject,
      '--mail-from',
      'probe@sender.test',
      '--rcpt-to',
      'user@elsewhere.test',
    );
    const result = only(run.results);
    expect(codesOf(result), senderReject.log()).toEqual(['SENDER_REJECTED']);
    expect(result['reply']).toBe('554 5.7.1 <probe@sender.test>: Sender address rejected: Access denied');
    expect(run.exitCode).toBe(1);
  });

  it('tls: Postfix allowing one session per client (anvil 421) gets a full posture, no GREETING_REJECTED', async () => {
    const run = await probe('tls', limited);
    const result = only(run.results);
    expect(codesOf(result), limited.log()).toEqual([]);
    expect(result['protocols']).toEqual({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
    expect(run.exitCode).toBe(0);
  });

  it('tls: Postfix with 1024-bit DH parameters is DH_WEAK with dh.bits 1024', async () => {
    const run = await probe('tls', dh1024);
    const result = only(run.results);
    expect(result.check).toBe('tls');
    expect((result['dh'] as { bits: number }).bits).toBe(1024);
    expect(codesOf(result), dh1024.log()).toEqual(['DH_WEAK']);
    // 1024 is below the 2048 default minimum but not below the critical 1024 floor.
    expect(result.findings[0]!.severity).toBe('warning');
    expect(result['protocols']).toMatchObject({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
    expect(run.exitCode).toBe(0);
  });

  it('tls: the same with --min-dh-bits 1024 has no finding', async () => {
    const run = await probe('tls', dh1024, '--min-dh-bits', '1024');
    const result = only(run.results);
    expect((result['dh'] as { bits: number }).bits).toBe(1024);
    expect(codesOf(result)).toEqual([]);
  });

  it('tls: Postfix with 2048-bit DH parameters reports 2048 and no finding', async () => {
    const run = await probe('tls', dh2048);
    const result = only(run.results);
    expect((result['dh'] as { bits: number }).bits).toBe(2048);
    expect(codesOf(result), dh2048.log()).toEqual([]);
    expect(result.status).toBe('ok');
    expect(run.exitCode).toBe(0);
  });

  it('tls: Debian Postfix at its defaults accepts TLS 1.0 and 1.1 (TLS_LEGACY_PROTOCOL); ECDSA means no DHE', async () => {
    // Checked independently with `openssl s_client -starttls smtp -tls1`: Postfix 3.7 on
    // Debian 12 really does negotiate TLS 1.0 unless smtpd_tls_protocols says otherwise.
    const run = await probe('tls', good);
    const result = only(run.results);
    expect(codesOf(result), good.log()).toEqual(['TLS_LEGACY_PROTOCOL']);
    expect(result['protocols']).toMatchObject({ TLSv1: true, 'TLSv1.1': true, 'TLSv1.2': true, 'TLSv1.3': true });
    // DHE suites need an RSA key; a server with none reports 0, which is fine, not weak.
    expect((result['dh'] as { bits: number }).bits).toBe(0);
    expect(result.status).toBe('warning');
    expect(run.exitCode).toBe(0);
  });

  it('tls: an openssl s_server speaking only TLS 1.0 is TLS_LEGACY_PROTOCOL + TLS_NO_MODERN_PROTOCOL', async () => {
    const run = await probe('tls', tls10, '--tls', 'implicit');
    const result = only(run.results);
    expect(codesOf(result)).toEqual(['TLS_LEGACY_PROTOCOL', 'TLS_NO_MODERN_PROTOCOL']);
    expect(result['protocols']).toMatchObject({ TLSv1: true, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': false });
    expect(result.status).toBe('critical');
    expect(run.exitCode).toBe(1);
  });
});
