/** Masking whole secrets and any 8+ character piece of them (mask.ts), table-driven. */
import { describe, expect, it } from 'vitest';
import { credentialSecrets, MASK, maskResultText, redact } from '../../lambdas/engine/mask.js';

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
