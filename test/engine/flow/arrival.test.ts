/**
 * The findings an arrival gives on its own, for the shapes the end-to-end tests cannot
 * produce on demand (a verifier that throws).
 */
import { describe, expect, it } from 'vitest';
import { arrivalFindings, type Arrival } from '../../../lambdas/engine/flow/arrival.js';

const base: Arrival = {
  token: 't',
  flow: 'f',
  sentAt: 0,
  arrivedAt: 1_000,
  source: 'imap',
  folder: 'inbox',
  hops: [{ by: 'mx.example.test', from: 'submit.example.test', fromAddress: '192.0.2.1', transport: 'tls' }],
  hopsDropped: 0,
  verdicts: { spf: 'pass', dkim: 'pass', dmarc: 'pass' },
  receiverResults: [],
};

describe('arrivalFindings', () => {
  it('gives nothing for a clean arrival', () => {
    expect(arrivalFindings(base)).toEqual([]);
  });

  it('says why the verdicts are missing when the verifier could not run, with its error cut short', () => {
    const findings = arrivalFindings({ ...base, verdicts: {}, verifyError: `parse error ${'x'.repeat(5_000)}` });
    expect(findings.map((f) => f.code)).toEqual(['FLOW_MESSAGE_UNVERIFIABLE']);
    expect(findings[0]!.message).toMatch(/verification could not run: parse error x+$/);
    expect(findings[0]!.message.length).toBeLessThan(600);
  });

  it('names every reason in one finding', () => {
    const findings = arrivalFindings({ ...base, truncated: true, hopsDropped: 400, verifyError: 'boom' });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/larger than the read cap.*Received chain has 401 fields.*boom/);
  });
});
