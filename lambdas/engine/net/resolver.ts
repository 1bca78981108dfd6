/**
 * DNS, behind an interface so every lookup of a run can go through one server
 * (`--dns-server`) and tests can point it at a real DNS server on loopback.
 *
 * Failures are classified, because they mean different things to a mail sender:
 * NXDOMAIN/NODATA are answers ("there is no such record"), SERVFAIL/timeouts are not
 * (RFC 8461 §3.1: a temporary failure is never "no policy").
 */
import { promises as dns } from 'node:dns';
import { readFileSync } from 'node:fs';
import { ipFamily } from './ip.js';
import { MailprobeError } from '../errors.js';
import { formatDnsServer, parseDnsServer } from './dns-server.js';

export type DnsFailureKind = 'NXDOMAIN' | 'NODATA' | 'SERVFAIL' | 'TIMEOUT' | 'REFUSED' | 'OTHER';

export class DnsError extends MailprobeError {
  override readonly name = 'DnsError';
  constructor(
    readonly kind: DnsFailureKind,
    readonly query: string,
    readonly rrtype: string,
    cause?: unknown,
  ) {
    super(`${rrtype} lookup of ${query} failed: ${kind}`, { cause, context: { kind, query, rrtype } });
  }

  /** NXDOMAIN and NODATA are authoritative "no such record" answers. */
  get isNegativeAnswer(): boolean {
    return this.kind === 'NXDOMAIN' || this.kind === 'NODATA';
  }
}

export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

export interface LookupOptions {
  /**
   * Cancels the lookup's queries (the check's deadline). Without it an abandoned query
   * lives until c-ares gives up (timeout × 3 with two tries) and holds the process open.
   */
  readonly signal?: AbortSignal;
}

export interface Resolver {
  /** IPv4 and IPv6 addresses of a host (IPv4 first). An IP literal is returned as is. */
  addresses(host: string, options?: LookupOptions): Promise<string[]>;
  mx(domain: string, options?: LookupOptions): Promise<MxRecord[]>;
  /** TXT records, each as its list of character-strings (not yet concatenated). */
  txt(name: string, options?: LookupOptions): Promise<string[][]>;
}

export interface DnsResolverOptions {
  /** `IP` or `IP:PORT` (`[v6]:PORT` for IPv6); when absent, the system's configuration is used. */
  readonly server?: string;
  /** Per-query timeout. @default 3000 */
  readonly timeoutMs?: number;
  /** @default 2 */
  readonly tries?: number;
}

function classify(err: unknown): DnsFailureKind {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'ENOTFOUND':
      return 'NXDOMAIN';
    case 'ENODATA':
      return 'NODATA';
    case 'ESERVFAIL':
      return 'SERVFAIL';
    case 'ETIMEOUT':
    case 'ETIMEDOUT':
      return 'TIMEOUT';
    case 'EREFUSED':
    case 'ECONNREFUSED':
      return 'REFUSED';
    case 'ECANCELLED':
      return 'TIMEOUT';
    default:
      return 'OTHER';
  }
}

/** Normalises `1.2.3.4:53`, `[::1]:53`, `::1` into the form c-ares accepts (net/dns-server.ts has the syntax). */
export function normaliseDnsServer(server: string): string {
  return formatDnsServer(parseDnsServer(server));
}

/**
 * The per-query timeout for checks with this deadline. c-ares gives up after about 3 × its
 * timeout (two tries, doubling), so even a query nobody cancels ends by the deadline and
 * cannot hold the process past it. 15 s (the default deadline) gives c-ares' own 3 s.
 */
export function dnsQueryTimeoutMs(deadlineMs: number): number {
  return Math.max(50, Math.min(3000, Math.floor(deadlineMs / 3)));
}

export class DnsResolver implements Resolver {
  private channel: dns.Resolver | undefined;
  private readonly channelOptions: { timeout: number; tries: number };

  constructor(options: DnsResolverOptions = {}) {
    this.channelOptions = { timeout: options.timeoutMs ?? 3000, tries: options.tries ?? 2 };
    // An explicit server is set (and refused if malformed) now; the system's, on first use.
    if (options.server !== undefined) this.resolver.setServers([normaliseDnsServer(options.server)]);
  }

  /** Made on first use: a c-ares channel reads resolv.conf, which a run against an address never needs. */
  private get resolver(): dns.Resolver {
    this.channel ??= new dns.Resolver(this.channelOptions);
    return this.channel;
  }

  /**
   * The channel for one lookup. With a signal, a channel of its own (same servers), so
   * cancel() on abort ends exactly this lookup's queries and nobody else's.
   */
  private async withChannel<T>(options: LookupOptions | undefined, run: (r: dns.Resolver) => Promise<T>): Promise<T> {
    const signal = options?.signal;
    if (signal === undefined) return run(this.resolver);
    if (signal.aborted) throw new DnsError('TIMEOUT', '', 'cancelled');
    const channel = new dns.Resolver(this.channelOptions);
    channel.setServers(this.resolver.getServers());
    const cancel = () => channel.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return await run(channel);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  async addresses(host: string, options?: LookupOptions): Promise<string[]> {
    if (ipFamily(host)) return [host];
    const name = host.replace(/\.$/, '');
    const [v4, v6] = await this.withChannel(options, (r) => Promise.allSettled([r.resolve4(name), r.resolve6(name)]));
    const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (found.length > 0) return found;
    // Both failed or both empty: report the more telling failure (a temporary error beats NODATA).
    const kinds = [v4, v6].map((r) => (r.status === 'rejected' ? classify(r.reason) : 'NODATA'));
    const order: DnsFailureKind[] = ['SERVFAIL', 'TIMEOUT', 'REFUSED', 'OTHER', 'NXDOMAIN', 'NODATA'];
    const kind = order.find((k) => kinds.includes(k)) ?? 'NODATA';
    const cause = v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : undefined;
    throw new DnsError(kind, name, 'A/AAAA', cause);
  }

  async mx(domain: string, options?: LookupOptions): Promise<MxRecord[]> {
    try {
      const records = await this.withChannel(options, (r) => r.resolveMx(domain));
      return records.map((r) => ({ exchange: r.exchange, priority: r.priority }));
    } catch (err) {
      throw new DnsError(classify(err), domain, 'MX', err);
    }
  }

  async txt(name: string, options?: LookupOptions): Promise<string[][]> {
    try {
      return await this.withChannel(options, (r) => r.resolveTxt(name));
    } catch (err) {
      throw new DnsError(classify(err), name, 'TXT', err);
    }
  }
}

/** Parses hosts(5): `address name [aliases…]`, comments after `#`. */
export function parseHostsFile(text: string): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (address === undefined || names.length === 0 || !ipFamily(address)) continue;
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, '');
      hosts.set(key, [...(hosts.get(key) ?? []), address]);
    }
  }
  return hosts;
}

let hostsFile: Map<string, string[]> | undefined;
function systemHosts(): Map<string, string[]> {
  if (hostsFile === undefined) {
    try {
      hostsFile = parseHostsFile(readFileSync('/etc/hosts', 'utf8'));
    } catch {
      hostsFile = new Map();
    }
  }
  return hostsFile;
}

/**
 * Host addresses the way the system finds them (hosts file, then the system's name
 * servers), but through c-ares rather than `dns.lookup`: getaddrinfo runs on libuv's
 * four-thread pool and cannot be cancelled, so one target with dead name servers would
 * hold every thread and fail the lookups of all other targets in the invocation.
 */
export class SystemResolver extends DnsResolver {
  private readonly hosts: () => Map<string, string[]>;

  constructor(options: DnsResolverOptions & { readonly hosts?: Map<string, string[]> } = {}) {
    super(options);
    const fixed = options.hosts;
    this.hosts = fixed ? () => fixed : systemHosts;
  }

  override async addresses(host: string, options?: LookupOptions): Promise<string[]> {
    if (ipFamily(host)) return [host];
    const fromFile = this.hosts().get(host.toLowerCase().replace(/\.$/, ''));
    if (fromFile !== undefined) {
      // ipv4first, as the probe connects in order.
      return [...fromFile.filter((a) => ipFamily(a) === 4), ...fromFile.filter((a) => ipFamily(a) === 6)];
    }
    return super.addresses(host, options);
  }
}

export function createResolver(options: DnsResolverOptions = {}): Resolver {
  return options.server !== undefined ? new DnsResolver(options) : new SystemResolver(options);
}

/**
 * The CLI's `-4` / `-6` (as curl and testssl.sh): every connection of the run uses only
 * that address family. A host with no address of it is NODATA for it, so the check says
 * "no IPv6 address" instead of silently testing the other family.
 */
export function onlyFamily(resolver: Resolver, family: 4 | 6): Resolver {
  return {
    mx: (domain, options) => resolver.mx(domain, options),
    txt: (name, options) => resolver.txt(name, options),
    async addresses(host, options) {
      const found = (await resolver.addresses(host, options)).filter((address) => ipFamily(address) === family);
      if (found.length === 0) throw new DnsError('NODATA', host.replace(/\.$/, ''), family === 4 ? 'A' : 'AAAA');
      return found;
    },
  };
}
