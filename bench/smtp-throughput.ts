/**
 * Throughput, latency, memory and round trips of the smtp check against
 * a local STARTTLS server (smtp-server on loopback, certificates generated on the spot).
 *
 * Round trips are counted through the delay line (delay-line.ts): a "flight" is a run of
 * bytes in one direction; the client's TCP handshake plus the greeting make the first
 * round trip, then every request/answer pair is one. bench/round-trips.ts does the same
 * against Postfix, next to openssl and swaks.
 */
import { performance } from 'node:perf_hooks';
import type { SmtpCheckSpec } from '../lambdas/engine/checks.js';
import { createContext } from '../lambdas/engine/context.js';
import { runSmtpCheck } from '../lambdas/engine/smtp/check.js';
import { createTestPki } from '../testkit/pki.js';
import { startScriptedSmtp, startSmtpServer } from '../testkit/smtp-servers.js';
import { countFlights, startDelayLine } from './delay-line.js';

const PROBES_SEQUENTIAL = Number(process.env.BENCH_PROBES_SEQ ?? 200);
const PROBES_CONCURRENT = Number(process.env.BENCH_PROBES_CONC ?? 1000);
const PROXY_DELAY_MS = 40;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? NaN;
}

async function measure(spec: SmtpCheckSpec, ctx: ReturnType<typeof createContext>, total: number, concurrency: number) {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = performance.now();
        const result = await runSmtpCheck(spec, ctx);
        latencies.push(performance.now() - t0);
        if (result.status !== 'ok') failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    probes: total,
    failures,
    probesPerSecond: Math.round((total / seconds) * 10) / 10,
    p50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
    p99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
  };
}

export async function run(): Promise<void> {
  const pki = await createTestPki();
  // Two servers: nodemailer's smtp-server, a realistic one that pauses 100 ms before its
  // greeting to catch early talkers (as Postfix's postscreen does), and a minimal scripted
  // server that answers at once, which shows what the probe itself costs.
  const realistic = await startSmtpServer({ credentials: pki.credentials() });
  const minimal = await startScriptedSmtp({
    greeting: '220 bench.example ESMTP\r\n',
    credentials: pki.credentials(),
    onCommand: (line) => (line === 'STARTTLS' ? { startTls: '220 2.0.0 go ahead' } : undefined),
  });
  const ctx = createContext({ extraCa: [pki.caPem], timeoutMs: 30_000 });
  const specFor = (port: number): SmtpCheckSpec => ({ check: 'smtp', host: '127.0.0.1', port, tls: 'starttls' });

  // Warm up TLS contexts and the JIT so the first figures are not start-up costs.
  await measure(specFor(minimal.port), ctx, 20, 4);
  const minimalSequential = await measure(specFor(minimal.port), ctx, PROBES_SEQUENTIAL, 1);
  const minimalConcurrent = await measure(specFor(minimal.port), ctx, PROBES_CONCURRENT, 64);
  const realisticSequential = await measure(specFor(realistic.port), ctx, Math.min(PROBES_SEQUENTIAL, 50), 1);
  const realisticConcurrent = await measure(specFor(realistic.port), ctx, PROBES_CONCURRENT, 64);

  const proxy = await startDelayLine(minimal.port, PROXY_DELAY_MS);
  const t0 = performance.now();
  const viaProxy = await runSmtpCheck(specFor(proxy.port), ctx);
  const proxiedMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, PROXY_DELAY_MS * 3));
  const flights = countFlights(proxy.connections[0] ?? []);
  await proxy.close();
  await realistic.close();
  await minimal.close();

  const report = {
    node: process.version,
    probe: 'smtp check, STARTTLS, TLS 1.3, EC P-256 certificate chain, on 127.0.0.1',
    minimalServer: { sequential: minimalSequential, concurrent: minimalConcurrent },
    smtpServerWith100msGreetPause: { sequential: realisticSequential, concurrent: realisticConcurrent },
    roundTrips: {
      // The first flight (the greeting) pairs with the client's TCP handshake.
      byFlights: Math.ceil(flights / 2),
      flights,
      // The delay line emulates the TCP handshake (1.5 round trips before the greeting).
      byTime: Math.round((proxiedMs / (2 * PROXY_DELAY_MS)) * 10) / 10,
      oneWayDelayMs: PROXY_DELAY_MS,
      probeMs: Math.round(proxiedMs),
      status: viaProxy.status,
    },
    peakRssMiB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  };
  console.log(JSON.stringify(report, null, 2));
  const line = (name: string, seq: typeof minimalSequential, conc: typeof minimalSequential) =>
    `${name}: ${seq.probesPerSecond}/s at concurrency 1 (p50 ${seq.p50Ms} ms, p99 ${seq.p99Ms} ms), ` +
    `${conc.probesPerSecond}/s at concurrency 64 (p50 ${conc.p50Ms} ms, p99 ${conc.p99Ms} ms)`;
  console.log(`\n${line('minimal server', minimalSequential, minimalConcurrent)}`);
  console.log(line('smtp-server (100 ms greet pause)', realisticSequential, realisticConcurrent));
  console.log(`${report.roundTrips.byFlights} round trips per STARTTLS probe; peak RSS ${report.peakRssMiB} MiB`);
  const failures = [minimalSequential, minimalConcurrent, realisticSequential, realisticConcurrent].reduce(
    (n, m) => n + m.failures,
    0,
  );
  if (failures > 0 || viaProxy.status !== 'ok') {
    console.error(`probes failed: ${failures}; proxied probe ${viaProxy.status}`);
    process.exitCode = 1;
  }
}
