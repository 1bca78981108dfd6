/**
 * `net.isIP` without Node 20's IPv6 regular expression. On Node 20 `isIPv6` (and `isIP`
 * of anything that is not a dotted quad, a host name included) runs a very large regex
 * that V8 compiles on first use and again when it tiers up: 30–45 ms of a one-shot CLI
 * run, more than the whole SMTP session on loopback (bench/cli-speed.ts). The WHATWG URL
 * parser (C++) accepts exactly the IPv6 text forms, so it answers instead; the zone index
 * (`fe80::1%eth0`) that Node accepts and URLs do not is split off first.
 */
import { isIPv4 } from 'node:net';

/** Characters of an IPv6 address proper (hex groups, `:`, a trailing dotted quad). */
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
/** Node's zone index syntax (`%` then these), as net.isIPv6 accepts it. */
const ZONE = /^[0-9A-Za-z.:-]+$/;

/** 4, 6 or 0, as `net.isIP` returns. */
export function ipFamily(input: string): 0 | 4 | 6 {
  if (isIPv4(input)) return 4;
  return isIPv6Address(input) ? 6 : 0;
}

/** As `net.isIPv6`. */
export function isIPv6Address(input: string): boolean {
  // The longest IPv6 text is 45 characters; the cap also bounds the zone index.
  if (input.length > 255 || !input.includes(':')) return false;
  const zoneAt = input.indexOf('%');
  const address = zoneAt < 0 ? input : input.slice(0, zoneAt);
  if (zoneAt >= 0 && !ZONE.test(input.slice(zoneAt + 1))) return false;
  // Only IPv6 characters reach the URL parser: `]`, `/` or `@` could make a valid URL of a non-address.
  if (!IPV6_CHARS.test(address)) return false;
  return URL.canParse(`http://[${address}]/`);
}
