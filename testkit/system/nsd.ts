/**
 * DNSSEC-signed zones for the system tests: keys generated and zones signed at test time
 * with ldns (`ldns-keygen`, `ldns-signzone`, Debian's ldnsutils), served by NSD (Debian's
 * authoritative server) on 127.0.0.1:PORT, UDP and TCP, in the foreground.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileLog, freePort, LOOPBACK, scratchDir, startDaemon } from './daemon.js';
import { BINARIES } from './requirements.js';

export type DnssecAlgorithm = 'ECDSAP256SHA256' | 'RSASHA256' | 'ED25519';

export interface ZoneSpec {
  /** e.g. `dane.test` */
  readonly origin: string;
  /** Records after the SOA and NS (relative names allowed), one per line. */
  readonly records: readonly string[];
  /** Unsigned when absent. */
  readonly sign?: {
    readonly algorithm: DnssecAlgorithm;
    /** NSEC3 (no opt-out, 0 iterations, empty salt: RFC 9276) instead of NSEC. */
    readonly nsec3?: boolean;
    /** Signatures that expired a year ago (inception and expiration in the past). */
    readonly expired?: boolean;
    /** Applied to the signed zone text: for tampering with data after signing. */
    readonly tamper?: (signed: string) => string;
  };
}

export interface SignedZone {
  readonly origin: string;
  /** The zone file as served. */
  readonly file: string;
  /** The KSK's DS records (presentation format), for the parent zone or a trust anchor. */
  readonly ds: readonly string[];
  /** The KSK itself (presentation format), as a DNSKEY trust anchor. */
  readonly ksk?: string;
}

function zoneText(spec: ZoneSpec): string {
  return [
    `$ORIGIN ${spec.origin}.`,
    '$TTL 300',
    `@ IN SOA ns.${spec.origin}. hostmaster.${spec.origin}. 1 3600 600 86400 300`,
    `@ IN NS ns.dane.test.`,
    ...spec.records,
    '',
  ].join('\n');
}

function ldns(dir: string, command: string, args: readonly string[]): string {
  return execFileSync(command, [...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 }).trim();
}

/** Writes the zone into `dir`, signed as asked, and returns where it is and its DS. */
export function buildZone(dir: string, spec: ZoneSpec): SignedZone {
  const plain = join(dir, `${spec.origin}.zone`);
  writeFileSync(plain, zoneText(spec));
  if (spec.sign === undefined) return { origin: spec.origin, file: plain, ds: [] };
  const { algorithm } = spec.sign;
  const bits = algorithm === 'RSASHA256' ? ['-b', '2048'] : [];
  const ksk = ldns(dir, BINARIES['ldns-keygen'], ['-a', algorithm, ...bits, '-k', spec.origin]);
  const zsk = ldns(dir, BINARIES['ldns-keygen'], ['-a', algorithm, ...bits, spec.origin]);
  const signed = join(dir, `${spec.origin}.signed`);
  const dates = spec.sign.expired
    ? [
        '-i',
        String(Math.floor(Date.now() / 1000) - 2 * 365 * 86400),
        '-e',
        String(Math.floor(Date.now() / 1000) - 365 * 86400),
      ]
    : [];
  const nsec3 = spec.sign.nsec3 ? ['-n', '-t', '0', '-s', ''] : [];
  ldns(dir, BINARIES['ldns-signzone'], [...nsec3, ...dates, '-f', signed, '-o', `${spec.origin}.`, plain, ksk, zsk]);
  if (spec.sign.tamper) writeFileSync(signed, spec.sign.tamper(readFileSync(signed, 'utf8')));
  const ds = readFileSync(join(dir, `${ksk}.ds`), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith(';'));
  const kskRecord = readFileSync(join(dir, `${ksk}.key`), 'utf8')
    .split('\n')
    .find((l) => /\sDNSKEY\s/.test(l) && !l.startsWith(';'));
  return { origin: spec.origin, file: signed, ds, ...(kskRecord !== undefined ? { ksk: kskRecord.trim() } : {}) };
}

export interface NsdInstance {
  readonly port: number;
  readonly startupMs: number;
  stop(): Promise<void>;
}

/** NSD serving the zones, built in its own scratch directory by `build`. */
export async function startNsd(
  build: (dir: string) => readonly SignedZone[],
): Promise<NsdInstance & { zones: readonly SignedZone[] }> {
  const scratch = scratchDir('nsd');
  let zones: readonly SignedZone[];
  try {
    zones = build(scratch.path);
  } catch (err) {
    scratch.remove();
    throw err;
  }
  const port = await freePort();
  const conf = join(scratch.path, 'nsd.conf');
  const log = join(scratch.path, 'nsd.log');
  writeFileSync(
    conf,
    [
      'server:',
      `  ip-address: ${LOOPBACK}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${scratch.path}"`,
      `  pidfile: "${join(scratch.path, 'nsd.pid')}"`,
      '  database: ""',
      `  zonelistfile: "${join(scratch.path, 'zone.list')}"`,
      `  xfrdfile: "${join(scratch.path, 'xfrd.state')}"`,
      `  xfrdir: "${scratch.path}"`,
      `  logfile: "${log}"`,
      '  server-count: 1',
      '  verbosity: 1',
      'remote-control:',
      '  control-enable: no',
      ...zones.flatMap((z) => ['zone:', `  name: "${z.origin}"`, `  zonefile: "${z.file}"`]),
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon({
    name: 'nsd',
    command: BINARIES.nsd,
    args: ['-d', '-c', conf],
    readyPorts: [port],
    diagnostics: fileLog(log),
    scratch,
  });
  return { port, startupMs: daemon.startupMs, zones, stop: daemon.stop };
}
