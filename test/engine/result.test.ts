/** Findings in a result, worst first (result.ts). */
import { describe, expect, it } from 'vitest';
import { finding } from '../../lambdas/engine/findings.js';
import { worstFirst } from '../../lambdas/engine/result.js';

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
