/**
 * A private dnsmasq (Debian's dnsmasq-base) as the authoritative-looking DNS for the test
 * zones, on 127.0.0.1:PORT (UDP and TCP). No upstream servers and no /etc/hosts: a name
 * in a `--local` zone that is not configured is NXDOMAIN, and nothing is ever forwarded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK, scratchDir, startDaemon } from './daemon.js';
import { BINARIES } from './requirements.js';

export interface DnsZoneData {
  /** Zones answered locally (NXDOMAIN for unknown names), e.g. `example.test`. */
  readonly zones: readonly string[];
  /** name → IPv4 address (A records); several addresses make several A records. */
  readonly a?: Readonly<Record<string, string | readonly string[]>>;
  /** MX records. */
  readonly mx?: readonly { readonly domain: string; readonly exchange: string; readonly priority: number }[];
  /** TXT records; several strings make one record of several character-strings. */
  readonly txt?: readonly { readonly name: string; readonly strings: readonly string[] }[];
}

export interface DnsmasqInstance {
  /** `127.0.0.1:PORT`, as `--dns-server` takes it. */
  readonly server: string;
  readonly port: number;
  readonly startupMs: number;
  stop(): Promise<void>;
}

const NAME = /^[A-Za-z0-9._-]+$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`dnsmasq helper: unsafe name ${JSON.stringify(name)}`);
  return name;
}

/**
 * dnsmasq's TXT syntax: comma-separated character-strings, each quoted so that commas and
 * semicolons inside survive. Quotes are unquoted only when read from a configuration file,
 * not from argv, hence the file.
 */
function txtValue(strings: readonly string[]): string {
  return strings
    .map((s) => {
      if (/["\\\n]/.test(s)) throw new Error(`dnsmasq helper: unsupported TXT string ${JSON.stringify(s)}`);
      return `"${s}"`;
    })
    .join(',');
}

/** The dnsmasq.conf for one instance: loopback only, no upstream, no /etc/hosts. */
export function dnsmasqConf(port: number, zone: DnsZoneData): string {
  const lines = [
    'keep-in-foreground',
    'log-facility=-',
    'no-resolv',
    'no-hosts',
    'no-poll',
    `listen-address=${LOOPBACK}`,
    'bind-interfaces',
    `port=${port}`,
    // Answers come from this file only; a cache would only blur what a test changed.
    'cache-size=0',
  ];
  for (const z of zone.zones) lines.push(`local=/${checkName(z)}/`);
  for (const [name, addresses] of Object.entries(zone.a ?? {})) {
    for (const address of typeof addresses === 'string' ? [addresses] : addresses) {
      lines.push(`host-record=${checkName(name)},${checkName(address)}`);
    }
  }
  for (const mx of zone.mx ?? []) {
    lines.push(`mx-host=${checkName(mx.domain)},${checkName(mx.exchange)},${mx.priority}`);
  }
  for (const txt of zone.txt ?? []) lines.push(`txt-record=${checkName(txt.name)},${txtValue(txt.strings)}`);
  return lines.join('\n') + '\n';
}

export async function startDnsmasq(zone: DnsZoneData): Promise<DnsmasqInstance> {
  const port = await freePort();
  const scratch = scratchDir('dnsmasq');
  const conf = join(scratch.path, 'dnsmasq.conf');
  writeFileSync(conf, dnsmasqConf(port, zone));
  const daemon = await startDaemon({
    name: 'dnsmasq',
    command: BINARIES.dnsmasq,
    // --pid-file with no value: no pid file in /run; the test holds the PID.
    args: [`--conf-file=${conf}`, '--pid-file='],
    // dnsmasq binds its UDP and TCP sockets together; TCP accepting means UDP is bound too.
    readyPorts: [port],
    diagnostics: () => readFileSync(conf, 'utf8'),
    scratch,
  });
  return { server: `${LOOPBACK}:${port}`, port, startupMs: daemon.startupMs, stop: daemon.stop };
}
