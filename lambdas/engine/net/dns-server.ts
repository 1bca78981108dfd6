/**
 * The one syntax of a DNS server address (`--dns-server`, the config's `dnsServer`, the
 * shard event): an IP literal with an optional port, `IP`, `IPv4:PORT` or `[IPv6]:PORT`.
 * No host names: the server is what resolves names, so naming it by one would need a
 * resolver to find the resolver. Both the c-ares resolver (net/resolver.ts) and the DNSSEC
 * transport (dnssec/transport.ts) read it through here, so they agree on what is valid.
 */
import { ipFamily } from './ip.js';
import { MailprobeError } from '../errors.js';

export interface DnsServerAddress {
  readonly host: string;
  readonly port: number;
}

export const DNS_SERVER_SYNTAX =
  'an IP address with an optional port, e.g. 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:5353';

export class DnsServerSyntaxError extends MailprobeError {
  override readonly name = 'DnsServerSyntaxError';
}

function portOf(text: string, value: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new DnsServerSyntaxError(`invalid DNS server "${value}": port "${text}" is not in 1–65535`);
  }
  return port;
}

/** Parses `IP`, `IPv4:PORT` or `[IPv6]:PORT` (port 53 when absent); throws DnsServerSyntaxError with what is wrong. */
export function parseDnsServer(value: string): DnsServerAddress {
  if (ipFamily(value)) return { host: value, port: 53 };
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
  if (v6) {
    const host = v6[1] ?? '';
    if (ipFamily(host) !== 6)
      throw new DnsServerSyntaxError(`invalid DNS server "${value}": "${host}" is not an IPv6 address`);
    return { host, port: v6[2] === undefined ? 53 : portOf(v6[2], value) };
  }
  const v4 = /^([^:]*):([^:]*)$/.exec(value);
  if (v4 && ipFamily(v4[1] ?? '') === 4) return { host: v4[1] as string, port: portOf(v4[2] ?? '', value) };
  const host = v4 ? (v4[1] ?? '') : value;
  const what = /^[A-Za-z0-9.-]+$/.test(host) && /[A-Za-z]/.test(host) ? 'a host name' : 'not an IP address';
  throw new DnsServerSyntaxError(`invalid DNS server "${value}": ${what}; expected ${DNS_SERVER_SYNTAX}`);
}

/** The address in the form c-ares' setServers takes (`IP:PORT`, `[IPv6]:PORT`). */
export function formatDnsServer(address: DnsServerAddress): string {
  return ipFamily(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
