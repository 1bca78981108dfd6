import { describe, expect, it } from 'vitest';
import { checkHostname, matchesDnsId } from '../../../lambdas/engine/tls/identity.js';
import { createSelfSigned } from '../../../testkit/pki.js';

describe('matchesDnsId (RFC 6125 §6.4, RFC 8461 §4.2)', () => {
  const table: [host: string, names: string[], expected: boolean][] = [
    ['mx.example.com', ['mx.example.com'], true],
    ['MX.Example.COM', ['mx.example.com'], true],
    ['mx.example.com', ['MX.EXAMPLE.COM'], true],
    ['mx.example.com.', ['mx.example.com'], true],
    ['mx.example.com', ['mx.example.com.'], true],
    ['mx.example.com', ['other.example.com', 'mx.example.com'], true],
    ['mx.example.com', ['example.com'], false],
    ['mx.example.com', [], false],
    // wildcards: exactly one whole left-most label
    ['a.example.com', ['*.example.com'], true],
    ['A.EXAMPLE.COM.', ['*.Example.Com'], true],
    ['example.com', ['*.example.com'], false],
    ['a.b.example.com', ['*.example.com'], false],
    ['xexample.com', ['*.example.com'], false],
    ['foo1.example.com', ['foo*.example.com'], false],
    ['foo.example.com', ['foo*.example.com'], false],
    ['foo.example.com', ['*oo.example.com'], false],
    ['a.b.example.com', ['a.*.example.com'], false],
    ['a.example.com', ['*.*.com'], false],
    ['example.com', ['*.com'], false],
    ['a.com', ['*.com'], false],
    ['a.example.com', ['*'], false],
    ['a.example.com', ['*.example.com.'], true],
    // not DNS names
    ['192.0.2.1', ['192.0.2.1'], false],
    ['', ['*.example.com'], false],
    ['.example.com', ['*.example.com'], false],
    ['a..example.com', ['a..example.com'], false],
  ];
  it.each(table)('%s against %j → %s', (host, names, expected) => {
    expect(matchesDnsId(host, names)).toBe(expected);
  });
});

describe('checkHostname', () => {
  it('pkix falls back to the subject CN without DNS SANs; dns-id does not', async () => {
    const cnOnly = await createSelfSigned({ commonName: 'mx.example.com' });
    expect(checkHostname('mx.example.com', cnOnly.x509, 'pkix')).toBe(true);
    expect(checkHostname('mx.example.com', cnOnly.x509, 'dns-id')).toBe(false);
  });

  it('pkix checks IP literals against IP SANs, dns-id never matches them', async () => {
    const cert = await createSelfSigned({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
    expect(checkHostname('127.0.0.1', cert.x509, 'pkix')).toBe(true);
    expect(checkHostname('[::1]', cert.x509, 'pkix')).toBe(true);
    expect(checkHostname('127.0.0.2', cert.x509, 'pkix')).toBe(false);
    expect(checkHostname('127.0.0.1', cert.x509, 'dns-id')).toBe(false);
    expect(checkHostname('LOCALHOST.', cert.x509, 'dns-id')).toBe(true);
  });

  it('both reject a SAN wildcard two labels up', async () => {
    const cert = await createSelfSigned({ dnsNames: ['*.example.com'] });
    for (const mode of ['pkix', 'dns-id'] as const) {
      expect(checkHostname('mx.example.com', cert.x509, mode)).toBe(true);
      expect(checkHostname('a.mx.example.com', cert.x509, mode)).toBe(false);
    }
  });
});
