import { describe, expect, it } from 'vitest';
import { finding } from '../../../lambdas/engine/findings.js';
import { gradeMxFinding, gradePolicyFinding } from '../../../lambdas/engine/mtasts/grading.js';
import { mapLimited, mapMxFindings } from '../../../lambdas/engine/mtasts/mx.js';
import type { TlsSessionInfo } from '../../../lambdas/engine/result.js';

const session = (protocol: string): TlsSessionInfo => ({
  protocol,
  cipher: 'TLS_AES_128_GCM_SHA256',
  verified: true,
  servername: 'mx.example.com',
  chain: [],
});

describe('SMTP findings mapped to MTA-STS MX findings (RFC 8461 §4.2)', () => {
  it.each([
    ['CONNECT_TIMEOUT', 'MTASTS_MX_UNREACHABLE'],
    ['CONNECT_REFUSED', 'MTASTS_MX_UNREACHABLE'],
    ['GREETING_REJECTED', 'MTASTS_MX_UNREACHABLE'],
    ['DNS_NXDOMAIN', 'MTASTS_MX_UNREACHABLE'],
    ['STARTTLS_NOT_OFFERED', 'MTASTS_MX_NO_STARTTLS'],
    ['STARTTLS_REJECTED', 'MTASTS_MX_NO_STARTTLS'],
    ['TLS_HANDSHAKE_FAILED', 'MTASTS_MX_NO_STARTTLS'],
    ['CERT_UNTRUSTED', 'MTASTS_MX_CERT_INVALID'],
    ['CERT_SELF_SIGNED', 'MTASTS_MX_CERT_INVALID'],
    ['CERT_EXPIRED', 'MTASTS_MX_CERT_INVALID'],
    ['CERT_NAME_MISMATCH', 'MTASTS_MX_CERT_INVALID'],
  ] as const)('%s → %s, keeping the reason', (code, expected) => {
    const mapped = mapMxFindings('mx.example.com', '192.0.2.1', { findings: [finding(code, 'the reason')] });
    expect(mapped).toHaveLength(1);
    expect(mapped[0]).toMatchObject({ code: expected, severity: 'critical' });
    expect(mapped[0]?.message).toBe(`MX mx.example.com (192.0.2.1): ${code}: the reason`);
  });

  it('groups several certificate problems into one finding', () => {
    const mapped = mapMxFindings('mx.example.com', '192.0.2.1', {
      tls: session('TLSv1.3'),
      findings: [finding('CERT_EXPIRED', 'expired'), finding('CERT_NAME_MISMATCH', 'wrong name')],
    });
    expect(mapped.map((f) => f.code)).toEqual(['MTASTS_MX_CERT_INVALID']);
    expect(mapped[0]?.message).toBe(
      'MX mx.example.com (192.0.2.1): CERT_EXPIRED: expired; CERT_NAME_MISMATCH: wrong name',
    );
  });

  it('requires TLS 1.2 even when the smtp engine did not flag the session', () => {
    const mapped = mapMxFindings('mx.example.com', '192.0.2.1', { tls: session('TLSv1.1'), findings: [] });
    expect(mapped).toMatchObject([
      {
        code: 'MTASTS_MX_NO_STARTTLS',
        message: 'MX mx.example.com (192.0.2.1): negotiated TLSv1.1; RFC 8461 §4.2 requires TLS 1.2 or later',
      },
    ]);
    expect(mapMxFindings('mx.example.com', '192.0.2.1', { tls: session('TLSv1.2'), findings: [] })).toEqual([]);
  });

  it('passes warnings through, naming the MX', () => {
    const mapped = mapMxFindings('mx.example.com', '192.0.2.1', {
      tls: session('TLSv1.3'),
      findings: [finding('CERT_EXPIRING', 'expires in 12 days')],
    });
    expect(mapped).toMatchObject([
      { code: 'CERT_EXPIRING', severity: 'warning', message: 'MX mx.example.com (192.0.2.1): expires in 12 days' },
    ]);
  });
});

describe('an MX probe ended by the check deadline (budget exhaustion is not an unreachable MX)', () => {
  it('is DEADLINE_EXCEEDED with the budget it had, never MTASTS_MX_UNREACHABLE with port-25 advice', () => {
    const mapped = mapMxFindings(
      'mx.example.com',
      '192.0.2.1',
      { findings: [finding('GREETING_TIMEOUT', 'no greeting within 966 ms')] },
      { budgetMs: 966 },
    );
    expect(mapped.map((f) => f.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(mapped[0]?.message).toBe(
      "MX mx.example.com (192.0.2.1): the check's deadline ended the probe after the 966 ms this address could have (GREETING_TIMEOUT: no greeting within 966 ms); not judged: raise the check's timeoutMs to tell a slow MX from an unreachable one",
    );
    // The same timeout without the cut is the server's doing.
    expect(
      mapMxFindings('mx.example.com', '192.0.2.1', { findings: [finding('GREETING_TIMEOUT', 'x')] }).map((f) => f.code),
    ).toEqual(['MTASTS_MX_UNREACHABLE']);
  });
});

describe('grading (severities decided once, while the result is built)', () => {
  const noTls = finding('MTASTS_MX_NO_STARTTLS', 'x');
  it.each([
    [undefined, false, 'critical'],
    ['enforce', false, 'critical'],
    ['enforce', true, 'warning'],
    ['testing', false, 'warning'],
    ['none', false, 'info'],
    ['none', true, 'info'],
  ] as const)('mode %s, another address passed %s: %s', (mode, anotherPassed, severity) => {
    expect(gradeMxFinding(noTls, { mode }, anotherPassed).severity).toBe(severity);
  });

  it('keeps warnings that are not delivery failures, and softens policy findings only in testing', () => {
    expect(
      gradeMxFinding(finding('CERT_EXPIRING', 'x', { severity: 'critical' }), { mode: 'enforce' }, true).severity,
    ).toBe('critical');
    expect(gradePolicyFinding(finding('MTASTS_POLICY_INVALID', 'x'), { mode: 'testing' }).severity).toBe('warning');
    expect(gradePolicyFinding(finding('MTASTS_POLICY_INVALID', 'x'), { mode: 'none' }).severity).toBe('critical');
  });
});

describe('mapLimited', () => {
  it('keeps the order of results and the concurrency cap', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapLimited([5, 1, 4, 2, 3], 3, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, n * 5));
      inFlight -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(3);
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
  });
});
