/**
 * ipFamily (lambdas/engine/net/ip.ts) answers exactly as net.isIP does, without Node 20's
 * IPv6 regex: the same verdict on a table of edge cases and on generated address-shaped
 * text, and no URL trickery (`]`, `/`, `@`) turns a non-address into an address.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipFamily, isIPv6Address } from '../../../lambdas/engine/net/ip.js';

describe('ipFamily', () => {
  it.each([
    ['127.0.0.1', 4],
    ['255.255.255.255', 4],
    ['256.1.1.1', 0],
    ['01.2.3.4', 0],
    ['smtp.example.com', 0],
    ['127.0.0.1:25', 0],
    ['::', 6],
    ['::1', 6],
    ['1::', 6],
    ['2001:db8::25', 6],
    ['1:2:3:4:5:6:7:8', 6],
    ['1:2:3:4:5:6:7:8:9', 0],
    ['1::2::3', 0],
    [':::', 0],
    ['::ffff:192.0.2.1', 6],
    ['::ffff:192.0.2', 0],
    ['::01.2.3.4', 0],
    ['1.2.3.4::', 0],
    ['12345::', 0],
    ['fe80::1%eth0', 6],
    ['fe80::1%', 0],
    ['fe80::1%a b', 0],
    ['[::1]', 0],
    ['::1]:80/x[', 0],
    ['user@[::1]', 0],
    ['', 0],
  ] as const)('%j is %i, as net.isIP says', (input, family) => {
    expect(isIP(input)).toBe(family);
    expect(ipFamily(input)).toBe(family);
  });

  it('agrees with net.isIP on generated address-shaped text (property)', () => {
    const piece = fc.constantFrom('', '0', '1', 'ff', 'FFFF', '12345', 'abcd', 'g', '1.2.3.4', '01.2.3.4', '1.2.3');
    const candidate = fc
      .tuple(
        fc.array(piece, { minLength: 1, maxLength: 10 }),
        fc.constantFrom(':', '::', '.'),
        fc.constantFrom('', '%eth0', '%', '%1:2', '%a/b', ']', '/x'),
      )
      .map(([parts, sep, tail]) => parts.join(sep) + tail);
    fc.assert(
      fc.property(fc.oneof(candidate, fc.string({ maxLength: 60 })), (text) => {
        expect(ipFamily(text)).toBe(isIP(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses a huge input without parsing it', () => {
    const huge = `${'1:'.repeat(100_000)}1`;
    expect(isIPv6Address(huge)).toBe(false);
    expect(ipFamily(`fe80::1%${'a'.repeat(1_000_000)}`)).toBe(0);
  });
});
