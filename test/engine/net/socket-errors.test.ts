/** The one socket-error mapper, by phase (net/socket-errors.ts). */
import { describe, expect, it } from 'vitest';
import { isServerTlsRefusal, socketErrorCode, type SocketPhase } from '../../../lambdas/engine/net/socket-errors.js';

const err = (code: string) => Object.assign(new Error(code), { code });

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
