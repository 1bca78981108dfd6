import { describe, expect, it } from 'vitest';
import { embeddedIpv4, ipv6Bytes, isPrivateAddress } from '../../../lambdas/engine/net/address.js';

describe('isPrivateAddress: the SSRF guard for addresses that come from DNS', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true], // the EC2/Lambda metadata endpoint
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['8.8.8.8', false],
    ['52.94.1.1', false],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['fec0::1', true],
    ['ff02::1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['::ffff:a9fe:a9fe', true], // IPv4-mapped, hex form
    ['64:ff9b::a9fe:a9fe', true], // NAT64 to 169.254.169.254
    ['64:ff9b::808:808', false], // NAT64 to 8.8.8.8
    ['64:ff9b:1::1', true],
    ['2002:0a00:0001::1', true], // 6to4 of 10.0.0.1
    ['2002:0808:0808::1', false],
    ['2001:db8::1', true],
    ['2001:0:4136:e378::1', true], // Teredo
    ['::10.0.0.1', true], // IPv4-compatible (deprecated)
    ['2a00:1450:4001:80b::200e', false],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('IPv6 parsing', () => {
  it('expands compressed forms and dotted quads', () => {
    expect(ipv6Bytes('::1')).toEqual([...Array<number>(15).fill(0), 1]);
    expect(ipv6Bytes('64:ff9b::192.0.2.33')?.slice(12)).toEqual([192, 0, 2, 33]);
    expect(ipv6Bytes('1.2.3.4')).toBeUndefined();
  });

  it('finds the IPv4 address a mapped, NAT64 or 6to4 address routes to', () => {
    expect(embeddedIpv4('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(embeddedIpv4('64:ff9b::7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('2002:7f00:1::')).toBe('127.0.0.1');
    expect(embeddedIpv4('2a00:1450::1')).toBeUndefined();
  });
});
