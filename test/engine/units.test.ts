/**
 * The pure parts of issue 10's fixes, table-driven: masking pieces of secrets, the one
 * socket-error mapper, the TLS policy table, findings worst first, the error base class.
 */
import { describe, expect, it } from 'vitest';
import { MailprobeError, ProbeError } from '../../lambdas/engine/errors.js';
import { finding } from '../../lambdas/engine/findings.js';
import { credentialSecrets, MASK, maskResultText, redact } from '../../lambdas/engine/mask.js';
import { DnsError } from '../../lambdas/engine/net/resolver.js';
import { isServerTlsRefusal, socketErrorCode, type SocketPhase } from '../../lambdas/engine/net/socket-errors.js';
import { worstFirst } from '../../lambdas/engine/result.js';
import { CredentialError } from '../../lambdas/engine/secrets.js';
import { ehloArgument } from '../../lambdas/engine/smtp/session.js';
import { gradeByPolicy } from '../../lambdas/engine/tls/policy.js';

const err = (code: string) => Object.assign(new Error(code), { code });

describe('redact: whole secrets and any 8+ character piece', () => {
  const secrets = credentialSecrets({ username: 'probe-user', password: 'S3cr3t-Pa55word!' });
  const blob = secrets[2] as string;

  it.each([
    ['the whole AUTH PLAIN blob', `535 rejected: ${blob}`, `535 rejected: ${MASK}`],
    ['a prefix cut by a shortened quote', `535 rejected: ${blob.slice(0, 14)}…`, `535 rejected: ${MASK}…`],
    ['a suffix after a wrapped line', `${blob.slice(-9)} end`, `${MASK} end`],
    ['the plain password inside text', 'pw=S3cr3t-Pa55word! ok', `pw=${MASK} ok`],
    ['a 7-character piece stays (too common to mask)', `x ${blob.slice(0, 7)} y`, `x ${blob.slice(0, 7)} y`],
  ])('%s', (_what, text, expected) => {
    expect(redact(text, secrets)).toBe(expected);
  });

  it('a short secret is masked whole, only in the result it belongs to', () => {
    expect(redact('smtp relay', ['m'])).toBe(`s${MASK}tp relay`);
    expect(maskResultText({ name: 'smtp', findings: [{ message: 'smtp' }] }, ['m'])).toEqual({
      name: 'smtp',
      findings: [{ message: `s${MASK}tp` }],
    });
  });
});

describe('socketErrorCode: one mapper, by phase', () => {
  it.each<[string, SocketPhase, string]>([
    ['ECONNREFUSED', 'tcp', 'CONNECT_REFUSED'],
    ['ECONNRESET', 'tls-first-byte', 'CONNECT_RESET'],
    ['EHOSTUNREACH', 'tcp', 'CONNECT_TIMEOUT'],
    ['EMFILE', 'tcp', 'PROBE_INTERNAL_ERROR'],
    ['EADDRNOTAVAIL', 'tls-after-starttls', 'PROBE_INTERNAL_ERROR'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls-first-byte', 'TLS_WRONG_MODE'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls-after-starttls', 'TLS_HANDSHAKE_FAILED'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'tls-after-starttls', 'TLS_HANDSHAKE_FAILED'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'session', 'TLS_SESSION_ERROR'],
    ['ECONNRESET', 'session', 'CONNECT_RESET'],
  ])('%s during %s is %s', (code, phase, expected) => {
    expect(socketErrorCode(err(code), phase)).toBe(expected);
  });

  it.each([
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', true],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', true],
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', true],
    ['ECONNRESET', false],
    ['EMFILE', false],
    ['ERR_SSL_NO_PROTOCOLS_AVAILABLE', false],
  ])('%s is a refusal by the server: %s', (code, refusal) => {
    expect(isServerTlsRefusal(err(code))).toBe(refusal);
  });
});

describe('findings worst first', () => {
  it('is a stable sort by severity', () => {
    const list = [
      finding('TLSRPT_MISSING', 'a'),
      finding('MTASTS_POLICY_UNREACHABLE', 'b'),
      finding('MTASTS_MODE_TESTING', 'c'),
      finding('CERT_EXPIRED', 'd'),
    ];
    expect(worstFirst(list).map((f) => f.message)).toEqual(['b', 'd', 'a', 'c']);
  });
});

describe('gradeByPolicy', () => {
  it('leaves the probe’s own rules and posture findings alone', () => {
    const graded = gradeByPolicy([finding('AUTH_WITHHELD', 'x'), finding('CERT_EXPIRING', 'y')], 'preferred');
    expect(graded.map((f) => [f.severity, f.tlsPolicy])).toEqual([
      ['critical', undefined],
      ['warning', undefined],
    ]);
  });
});

describe('EHLO argument', () => {
  it.each([
    ['192.0.2.1', '[192.0.2.1]'],
    ['[192.0.2.1]', '[192.0.2.1]'],
    ['2001:db8::1', '[IPv6:2001:db8::1]'],
    ['mx.example.com', 'mx.example.com'],
  ])('%s → %s', (name, argument) => {
    expect(ehloArgument(name)).toBe(argument);
  });
});

describe('one error base class', () => {
  it('gives every engine error a name, a cause and context', () => {
    const cause = new Error('socket');
    const errors: MailprobeError[] = [
      new ProbeError('CONNECT_RESET', 'reset', { stage: 'greeting', cause }),
      new DnsError('SERVFAIL', 'example.com', 'MX', cause),
      new CredentialError('SECRET_NOT_FOUND', 'arn:aws:secretsmanager:eu-west-1:1:secret:x', 'not found'),
    ];
    expect(errors.map((e) => [e.name, e instanceof MailprobeError])).toEqual([
      ['ProbeError', true],
      ['DnsError', true],
      ['CredentialError', true],
    ]);
    expect(errors[0]?.context).toEqual({ code: 'CONNECT_RESET', stage: 'greeting' });
    expect(errors[0]?.cause).toBe(cause);
    expect(errors[1]?.context).toEqual({ kind: 'SERVFAIL', query: 'example.com', rrtype: 'MX' });
  });
});
