import { describe, expect, it } from 'vitest';
import { expiredCertificateResult, exampleResolvedResult } from '../../../lambdas/engine/alerts/example.js';
import { alertFor, explainAlert } from '../../../lambdas/engine/alerts/explain.js';

const NOW = Date.parse('2026-11-23T03:10:07.000Z');
const identity = (s: string) => s;

describe('explainAlert (mailprobe run --explain-alerts)', () => {
  it('prints the subject, attributes, size, e-mail text and JSON a failing result would send', () => {
    const text = explainAlert(expiredCertificateResult(), { redact: identity, now: NOW });
    expect(text).toContain('=== Alert for smtp relay-eu (127.0.0.1:2587) ===');
    expect(text).toContain('Subject: [CRITICAL] smtp relay-eu (127.0.0.1:2587): CERT_EXPIRED, AUTH_WITHHELD');
    expect(text).toContain(
      'Attributes: severity=critical check=smtp target=127.0.0.1:2587 code=CERT_EXPIRED transition=raised name=relay-eu',
    );
    expect(text).toMatch(/Size: \d+ of 262144 bytes\n/);
    expect(text).toContain('Failing since: 2026-11-23T03:10:05.412Z (0 min)');
    expect(text).toContain('"transition": "raised"');
  });

  it('says that an ok result sends nothing', () => {
    expect(alertFor(exampleResolvedResult(), { redact: identity, now: NOW })).toBeUndefined();
    expect(explainAlert(exampleResolvedResult(), { redact: identity, now: NOW })).toBe(
      'No alert for smtp relay-eu (127.0.0.1:2587): it is ok (a recovery is sent only after a failure was announced).\n',
    );
  });

  it('redacts through the given function', () => {
    const text = explainAlert(expiredCertificateResult(), { redact: (s) => s.replaceAll('relay-eu', '[x]'), now: NOW });
    expect(text).not.toContain('relay-eu');
  });
});
