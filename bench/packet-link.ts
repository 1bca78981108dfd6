/**
 * Round trips of whole client processes over a packet-level link (issue #24): the client
 * runs in its own network namespace, joined to a second one by TUN devices and
 * tun-delay.py, which holds every IP packet ONE_WAY_MS (this kernel has no netem). Unlike
 * the TCP proxy of delay-line.ts, the client's own TCP stack meets the delay: its SYN, its
 * ACKs (Nagle, delayed ACK), its FIN, and whatever the process waits for before it exits.
 *
 * On the wire (load-independent): one traced run per client, its round trips counted from the
 * packets (packet-flights.ts). By time: (fastest wall through the delay − fastest wall through
 * the same path with 0 ms) / RTT. On a loaded machine a process's start varies by more than a round trip, so
 * for mailprobe a second figure starts the clock at the check's own `startedAt` (from
 * --json) and stops it at the process's exit: everything the process waits for on the
 * network (the lookup, the session, the 221 or the server's close before exiting) is in
 * it, Node's start is not. Floors (round-trips.ts): 6 for STARTTLS + second EHLO + QUIT, 7 with AUTH
 * PLAIN. Postfix serves the STARTTLS session, smtp-server (nodemailer) the AUTH one (the test
 * Postfix has no SASL backend). Needs root (namespaces), `ip` and python3: skipped otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestPki } from '../testkit/pki.js';
import { startSmtpServer } from '../testkit/smtp-servers.js';
import { startPostfix } from '../testkit/system/postfix.js';
import { parseTrace, roundTripsOnTheWire } from './packet-flights.js';
import { ensureBuiltCli, MAILPROBE, round, swaksTlsArgs, timeCommand, which } from './tools.js';

const ONE_WAY_MS = Number(process.env.BENCH_ONE_WAY_MS ?? 50);
const RUNS = Number(process.env.BENCH_RTT_RUNS ?? 5);
const RTT_MS = 2 * ONE_WAY_MS;
const DELAY_SCRIPT = fileURLToPath(new URL('./tun-delay.py', import.meta.url));
/** A private /24 for the link; the server side answers on .2. */
const CLIENT_IP = '10.231.0.1';
const SERVER_IP = '10.231.0.2';
const SMTP_PORT = 2525;
const AUTH_PORT = 2526;

async function sh(command: string, args: readonly string[]): Promise<void> {
  const run = await timeCommand(command, args, { timeoutMs: 10_000 });
  if (run.code !== 0) throw new Error(`${command} ${args.join(' ')}: ${run.stderr.trim()}`);
}

interface Namespaces {
  readonly client: string;
  readonly server: string;
  remove(): Promise<void>;
}

export async function createNamespaces(): Promise<Namespaces> {
  const client = `mpbench-c${process.pid}`;
  const server = `mpbench-s${process.pid}`;
  const made: string[] = [];
  const remove = async () => {
    for (const ns of made) await sh('ip', ['netns', 'delete', ns]).catch(() => undefined);
  };
  try {
    for (const [ns, ip] of [
      [client, CLIENT_IP],
      [server, SERVER_IP],
    ] as const) {
      await sh('ip', ['netns', 'add', ns]);
      made.push(ns);
      await sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      await sh('ip', ['netns', 'exec', ns, 'ip', 'tuntap', 'add', 'dev', 'mptun0', 'mode', 'tun']);
      await sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'mptun0']);
      await sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'mptun0', 'up']);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { client, server, remove };
}

/** tun-delay.py with `oneWayMs`, relaying SMTP_PORT and AUTH_PORT to the loopback servers. */
export async function startLink(
  ns: Namespaces,
  oneWayMs: number,
  upstream: { smtp: number; auth: number },
  /** Receives tun-delay.py's packet trace, one line per packet (MPBENCH_TRACE=1). */
  trace?: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawn(
    'python3',
    [
      DELAY_SCRIPT,
      ns.client,
      ns.server,
      String(oneWayMs),
      `${SERVER_IP}:${SMTP_PORT}=${upstream.smtp}`,
      `${SERVER_IP}:${AUTH_PORT}=${upstream.auth}`,
    ],
    {
      stdio: ['ignore', 'pipe', trace !== undefined ? 'pipe' : 'inherit'],
      env: { ...process.env, ...(trace !== undefined ? { MPBENCH_TRACE: '1' } : {}) },
    },
  );
  if (trace !== undefined) createInterface({ input: child.stderr! }).on('line', trace);
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`tun-delay.py exited ${String(code)}`)));
    lines.once('line', () => resolve());
  });
  return child;
}

interface Client {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Prints mailprobe's --json: the check's startedAt gives the "after start" figure. */
  readonly json?: boolean;
}

interface Fastest {
  readonly wallMs: number;
  /** From the check's startedAt to the process's exit (mailprobe only). */
  readonly afterStartMs?: number;
}

async function fastest(ns: Namespaces, client: Client): Promise<Fastest> {
  let best = Infinity;
  let bestAfterStart = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const run = await timeCommand('ip', ['netns', 'exec', ns.client, client.command, ...client.args], {
      ...(client.input !== undefined ? { input: client.input } : {}),
      ...(client.env !== undefined ? { env: client.env } : {}),
      timeoutMs: 60_000,
    });
    if (run.code !== 0) {
      throw new Error(
        `${client.name} exited ${String(run.code)}: ${run.stderr.slice(0, 400)}${run.stdout.slice(0, 400)}`,
      );
    }
    best = Math.min(best, run.ms);
    if (client.json === true) {
      const doc = JSON.parse(run.stdout) as { results: { startedAt: string }[] };
      const startedAt = Date.parse(doc.results[0]?.startedAt ?? '');
      bestAfterStart = Math.min(bestAfterStart, run.exitedAt - startedAt);
    }
  }
  return { wallMs: best, ...(client.json === true ? { afterStartMs: bestAfterStart } : {}) };
}

export async function run(): Promise<void> {
  const missing = [
    process.getuid?.() === 0 ? undefined : 'root (network namespaces)',
    which('ip') === undefined ? 'ip (iproute2)' : undefined,
    which('python3') === undefined ? 'python3' : undefined,
    which('postfix') === undefined ? 'postfix' : undefined,
  ].filter((m) => m !== undefined);
  if (missing.length > 0) {
    console.log(`packet-link: skipped (needs ${missing.join(', ')})`);
    return;
  }
  ensureBuiltCli();
  const pki = await createTestPki();
  const leaf = await pki.issueLeaf({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', SERVER_IP] });
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-bench-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  const postfix = await startPostfix({ tls: pki.credentials(leaf) });
  const auth = await startSmtpServer({
    credentials: pki.credentials(leaf),
    user: { username: 'probe', password: 'secret' },
  });
  const ns = await createNamespaces();
  const smtpTarget = `${SERVER_IP}:${SMTP_PORT}`;
  const authTarget = `${SERVER_IP}:${AUTH_PORT}`;
  const clients: Client[] = [
    {
      name: 'mailprobe smtp (installed CLI)',
      command: process.execPath,
      args: [MAILPROBE, 'smtp', smtpTarget, '--tls', 'starttls', '--ca-file', caFile, '--json'],
      json: true,
    },
    {
      name: 'mailprobe smtp + AUTH PLAIN (installed CLI)',
      command: process.execPath,
      args: [
        MAILPROBE,
        'smtp',
        authTarget,
        '--tls',
        'starttls',
        '--ca-file',
        caFile,
        '--user',
        'probe',
        '--password-env',
        'MP_BENCH_PW',
        '--json',
      ],
      env: { MP_BENCH_PW: 'secret' },
      json: true,
    },
    ...(which('openssl') !== undefined
      ? [
          {
            name: 'openssl s_client -starttls smtp (no second EHLO)',
            command: 'openssl',
            args: ['s_client', '-starttls', 'smtp', '-connect', smtpTarget, '-CAfile', caFile, '-quiet'],
            input: 'QUIT\r\n',
          },
        ]
      : []),
    ...(which('swaks') !== undefined
      ? [
          { name: 'swaks --tls --quit-after EHLO', command: 'swaks', args: swaksTlsArgs(smtpTarget, caFile, 'EHLO') },
          {
            name: 'swaks --tls --auth PLAIN --quit-after AUTH',
            command: 'swaks',
            args: swaksTlsArgs(authTarget, caFile, 'AUTH', [
              '--auth',
              'PLAIN',
              '--auth-user',
              'probe',
              '--auth-password',
              'secret',
            ]),
          },
        ]
      : []),
  ];
  const results: {
    client: string;
    onTheWire: number;
    roundTrips: number;
    roundTripsAfterStart?: number;
    directMs: number;
    delayedMs: number;
  }[] = [];
  try {
    const measured = new Map<string, Fastest[]>();
    for (const oneWayMs of [0, ONE_WAY_MS]) {
      const link = await startLink(ns, oneWayMs, { smtp: postfix.port, auth: auth.port });
      try {
        for (const client of clients) {
          measured.set(client.name, [...(measured.get(client.name) ?? []), await fastest(ns, client)]);
        }
      } finally {
        link.kill();
      }
    }
    // One more run of each client through a traced link: its round trips counted on the wire.
    const wire = new Map<string, number>();
    let lines: string[] = [];
    const traced = await startLink(ns, ONE_WAY_MS, { smtp: postfix.port, auth: auth.port }, (l) => lines.push(l));
    try {
      for (const client of clients) {
        lines = [];
        await timeCommand('ip', ['netns', 'exec', ns.client, client.command, ...client.args], {
          ...(client.input !== undefined ? { input: client.input } : {}),
          ...(client.env !== undefined ? { env: client.env } : {}),
          timeoutMs: 60_000,
        });
        // The server's 221 and the client's reset come after the process exits: let them pass the line.
        await new Promise((resolve) => setTimeout(resolve, 3 * ONE_WAY_MS));
        wire.set(client.name, roundTripsOnTheWire(parseTrace(lines)));
      }
    } finally {
      traced.kill();
    }
    for (const client of clients) {
      const [direct, delayed] = measured.get(client.name) as [Fastest, Fastest];
      const afterStart =
        direct.afterStartMs !== undefined && delayed.afterStartMs !== undefined
          ? { roundTripsAfterStart: round((delayed.afterStartMs - direct.afterStartMs) / RTT_MS, 2) }
          : {};
      results.push({
        client: client.name,
        onTheWire: wire.get(client.name) ?? NaN,
        roundTrips: round((delayed.wallMs - direct.wallMs) / RTT_MS, 2),
        ...afterStart,
        directMs: Math.round(direct.wallMs),
        delayedMs: Math.round(delayed.wallMs),
      });
    }
  } finally {
    await ns.remove();
    await auth.close();
    await postfix.stop();
  }
  console.log(JSON.stringify({ oneWayMs: ONE_WAY_MS, rttMs: RTT_MS, runs: RUNS, results }, null, 2));
  for (const r of results) {
    console.log(
      `packet-level round trips at ${RTT_MS} ms RTT: ${r.client}: ${r.onTheWire} on the wire, ${r.roundTrips} by wall` +
        (r.roundTripsAfterStart !== undefined ? `, ${r.roundTripsAfterStart} from the check's start to exit` : '') +
        ` (fastest ${r.delayedMs} ms, ${r.directMs} ms at 0 ms; floor 6, 7 with AUTH)`,
    );
  }
}
