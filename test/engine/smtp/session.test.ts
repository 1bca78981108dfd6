/** The EHLO argument for a name or an address literal (smtp/session.ts, RFC 5321 §4.1.3). */
import { describe, expect, it } from 'vitest';
import { ehloArgument } from '../../../lambdas/engine/smtp/session.js';

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
