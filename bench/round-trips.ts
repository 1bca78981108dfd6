/**
 * Round trips of one STARTTLS session against Debian's Postfix through a delay line
 * (delay-line.ts; 100 ms round trip by default), mailprobe next to openssl s_client and
 * swaks when installed. Two counts: on the wire, the server flights a client had received
 * when it was done plus the TCP handshake (load cannot change it); by time, (fastest wall through the delay − fastest wall
 * without it) / RTT: the local work cancels out and what is left is waiting on the link;
 * the fastest of several runs, because a shared machine only ever adds time. The flights
 * column counts runs of bytes in one direction, seen by the delay line (a client's QUIT
 * and the 221 are flights even when the client does not wait for them).
 *
 * The floor for TLS 1.3 with a second EHLO (RFC 3207 §4.2) and no pipelining across
 * STARTTLS: TCP + greeting 2, EHLO 1, STARTTLS 1, handshake 1, EHLO 1 = 6; AUTH PLAIN
 * adds 1. AUTH runs against smtp-server (nodemailer) with the same delay: the test Postfix
 * has no SASL backend.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SmtpCheckSpec } from '../lambdas/engine/checks.js';
import { createContext } from '../lambdas/engine/context.js';
import { runSmtpCheck } from '../lambdas/engine/smtp/check.js';
import { createTestPki } from '../testkit/pki.js';
import { startSmtpServer } from '../testkit/smtp-servers.js';
import { countFlights, roundTripsWaited, startDelayLine, type DelayLine } from './delay-line.js';
import {
  ensureBuiltCli,
  MAILPROBE,
  median,
  round,
  startLocalPostfix,
  swaksTlsArgs,
  timeCommand,
  which,
} from './tools.js';

const ONE_WAY_MS = Number(process.env.BENCH_ONE_WAY_MS ?? 50);
const RUNS = Number(process.env.BENCH_RTT_RUNS ?? 5);
const RTT_MS = 2 * ONE_WAY_MS;

interface Client {
  readonly name: string;
  /** One session against `port`; resolves when the client is done. */
  session(port: number): Promise<void>;
}

interface Measured {
  readonly client: string;
  /** Server flights the client had received when it was done, + 1 for the TCP handshake (delay-line.ts). */
  readonly roundTripsOnTheWire: number;
  /** (fastest wall through the delay − fastest wall without) / RTT. */
  readonly roundTrips: number;
  readonly flights: number;
  readonly wallMs: number;
}

async function measure(client: Client, directPort: number, line: DelayLine): Promise<Measured> {
  const direct: number[] = [];
  const delayed: number[] = [];
  const flights: number[] = [];
  const waited: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await client.session(directPort);
    direct.push(performance.now() - t0);
    line.reset();
    t0 = performance.now();
    await client.session(line.port);
    const doneAt = performance.now();
    delayed.push(doneAt - t0);
    // Let the last delayed chunks (the 221, the close) pass before counting.
    await new Promise((r) => setTimeout(r, 3 * ONE_WAY_MS));
    flights.push(countFlights(line.connections[0] ?? []));
    waited.push(roundTripsWaited(line.chunks[0] ?? [], doneAt));
  }
  return {
    client: client.name,
    roundTripsOnTheWire: median(waited),
    roundTrips: round((Math.min(...delayed) - Math.min(...direct)) / RTT_MS, 2),
    flights: median(flights),
    wallMs: Math.round(Math.min(...delayed)),
  };
}

function engineClient(caPem: string, extra: Partial<SmtpCheckSpec> = {}, password?: string): Client {
  const ctx = createContext({ extraCa: [caPem], timeoutMs: 30_000 });
  return {
    name: extra.auth ? 'mailprobe (engine) + AUTH PLAIN' : 'mailprobe (engine)',
    session: async (port) => {
      const result = await runSmtpCheck({ check: 'smtp', host: '127.0.0.1', port, tls: 'starttls', ...extra }, ctx, {
        ...(password !== undefined ? { credentials: { username: 'probe', password } } : {}),
      });
      if (result.status !== 'ok') throw new Error(`mailprobe: ${JSON.stringify(result.findings)}`);
    },
  };
}

function commandClient(name: string, command: string, args: (port: number) => string[], input?: string): Client {
  return {
    name,
    session: async (port) => {
      const run = await timeCommand(command, args(port), input !== undefined ? { input } : {});
      if (run.code !== 0) throw new Error(`${name} exited ${run.code}: ${run.stderr.slice(0, 400)}`);
    },
  };
}

export async function run(): Promise<void> {
  if (which('postfix') === undefined) {
    console.log('round-trips: skipped (no postfix; bash scripts/install-system-deps.sh)');
    return;
  }
  const local = await startLocalPostfix();
  const caPem = readFileSync(local.caFile, 'utf8');
  const results: Measured[] = [];
  const line = await startDelayLine(local.postfix.port, ONE_WAY_MS);
  try {
    results.push(await measure(engineClient(caPem), local.postfix.port, line));
    ensureBuiltCli();
    results.push(
      await measure(
        commandClient('mailprobe smtp (installed CLI)', process.execPath, (port) => [
          MAILPROBE,
          'smtp',
          `127.0.0.1:${port}`,
          '--tls',
          'starttls',
          '--ca-file',
          local.caFile,
        ]),
        local.postfix.port,
        line,
      ),
    );
    if (which('openssl') !== undefined) {
      results.push(
        await measure(
          commandClient(
            'openssl s_client -starttls smtp (no second EHLO)',
            'openssl',
            (port) => [
              's_client',
              '-starttls',
              'smtp',
              '-connect',
              `127.0.0.1:${port}`,
              '-CAfile',
              local.caFile,
              '-quiet',
            ],
            'QUIT\r\n',
          ),
          local.postfix.port,
          line,
        ),
      );
    }
    if (which('swaks') !== undefined) {
      results.push(
        await measure(
          commandClient('swaks --tls --quit-after EHLO', 'swaks', (port) =>
            swaksTlsArgs(`127.0.0.1:${port}`, local.caFile, 'EHLO'),
          ),
          local.postfix.port,
          line,
        ),
      );
    }
  } finally {
    await line.close();
    await local.stop();
  }

  // AUTH PLAIN: smtp-server (nodemailer) stands in for a SASL-enabled Postfix.
  const pki = await createTestPki();
  const auth = await startSmtpServer({
    credentials: pki.credentials(),
    user: { username: 'probe', password: 'secret' },
  });
  const authLine = await startDelayLine(auth.port, ONE_WAY_MS);
  try {
    const env = 'MAILPROBE_BENCH_PASSWORD';
    results.push(
      await measure(
        engineClient(pki.caPem, { auth: { username: 'probe', passwordEnv: env } }, 'secret'),
        auth.port,
        authLine,
      ),
    );
    if (which('swaks') !== undefined) {
      const ca = join(mkdtempSync(join(tmpdir(), 'mailprobe-bench-')), 'ca.pem');
      writeFileSync(ca, pki.caPem);
      results.push(
        await measure(
          commandClient('swaks --tls --auth PLAIN --quit-after AUTH', 'swaks', (port) =>
            swaksTlsArgs(`127.0.0.1:${port}`, ca, 'AUTH', [
              '--auth',
              'PLAIN',
              '--auth-user',
              'probe',
              '--auth-password',
              'secret',
            ]),
          ),
          auth.port,
          authLine,
        ),
      );
    }
  } finally {
    await authLine.close();
    await auth.close();
  }

  console.log(JSON.stringify({ oneWayMs: ONE_WAY_MS, rttMs: RTT_MS, runs: RUNS, results }, null, 2));
  for (const r of results) {
    console.log(
      `round trips at ${RTT_MS} ms RTT: ${r.client}: ${r.roundTripsOnTheWire} on the wire, ${r.roundTrips} by time (${r.flights} flights, ${r.wallMs} ms)`,
    );
  }
}
