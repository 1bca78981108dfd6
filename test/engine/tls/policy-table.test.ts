/** The TLS policy table (tls/policy.ts), pure. */
import { describe, expect, it } from 'vitest';
import { finding } from '../../../lambdas/engine/findings.js';
import { gradeByPolicy } from '../../../lambdas/engine/tls/policy.js';

describe('gradeByPolicy', () => {
  it('leaves the probe’s own rules and posture findings alone', () => {
    const graded = gradeByPolicy([finding('AUTH_WITHHELD', 'x'), finding('CERT_EXPIRING', 'y')], 'preferred');
    expect(graded.map((f) => [f.severity, f.tlsPolicy])).toEqual([
      ['critical', undefined],
      ['warning', undefined],
    ]);
  });
});
