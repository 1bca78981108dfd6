/**
 * Classifies IP addresses so names taken from DNS (MX hosts, the MTA-STS policy host)
 * cannot steer the probe into the local network: an SSRF guard for a probe that runs
 * inside a VPC next to other services. Explicitly configured targets are exempt.
 */
import { networkInterfaces } from 'node:os';
import { BlockList } from 'node:net';
import { ipFamily } from './ip.js';

const blocked = new BlockList();
// IPv4: "this network", RFC 1918, CGNAT, loopback, link-local (incl. the EC2/Lambda
// metadata endpoint 169.254.169.254), IETF protocol assignments, benchmarking, multicast, reserved.
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
// IPv6: unspecified and IPv4-compatible (::/96, deprecated), loopback, local-use NAT64,
// Teredo, documentation, site-local (deprecated), unique local, link-local, multicast.
for (const [net, prefix] of [
  ['::', 96],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['fec0::', 10],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address (accepts `::` compression and a trailing dotted quad). */
export function ipv6Bytes(address: string): number[] | undefined {
  if (ipFamily(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * The IPv4 address an IPv6 address carries, for forms that route to it: IPv4-mapped
 * (::ffff:a.b.c.d), NAT64 well-known prefix (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16,
 * RFC 3056). Under DNS64/NAT64 `64:ff9b::a9fe:a9fe` reaches 169.254.169.254.
 */
export function embeddedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  if (b === undefined) return undefined;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12, 16).join('.');
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12))
    return b.slice(12, 16).join('.');
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  return undefined;
}

/** True for loopback, private, link-local and other non-public addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = ipFamily(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return blocked.check(v4, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return false;
}

/**
 * Whether this host has an IPv6 address it could reach the internet from (not loopback, not
 * link-local). Lambda functions outside a dual-stack VPC have none: their connections to an
 * MX's AAAA addresses fail locally (ENETUNREACH), which says nothing about the MX; senders
 * without IPv6 use its IPv4 addresses too.
 */
export function hostHasIpv6(): boolean {
  return Object.values(networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((a) => a.family === 'IPv6' && !a.internal && !/^fe[89ab]/i.test(a.address)),
  );
}
