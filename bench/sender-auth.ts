/**
 * `npm run bench sender-auth`: `mailprobe sender-auth` as a whole process against a loopback
 * name server, next to Debian's `spfquery` (Mail::SPF) on the same zone.
 *
 * The domain is ten.example (an SPF include tree of exactly 10 DNS-querying terms over four
 * levels, testkit/sender-auth-zones.ts) and good.example (one include, DMARC reject, an RSA and
 * an Ed25519 DKIM key). mailprobe walks the whole tree, counts the lookups and reads DMARC and
 * the DKIM keys; spfquery evaluates SPF for one sending IP, the work a receiver does per message.
 * Also printed: the DNS queries each domain costs (the name server's own count), which is what a
 * receiver's resolver and the probe's deadline pay.
 *
 * spfquery cannot be given a port: it runs only as root, with the zone served on
 * 127.0.53.53:53 (as test/engine/sender-auth/system-spfquery.test.ts does); otherwise skipped.
 */
import { join } from 'node:path';
import { startDnsServer, type DnsTestServer } from '../testkit/dns-server.js';
import { scenarioZone } from '../testkit/sender-auth-zones.js';
import { BINARIES } from '../testkit/system/requirements.js';
import { ensureBuiltCli, median, REPO, round, timeCommand, which } from './tools.js';

const RUNS = Number(process.env.BENCH_SENDER_AUTH_RUNS ?? 7);
const BUILT_CLI = join(REPO, 'dist/cli/mailprobe.mjs');
const CLEAN_ENV: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '' };

async function medianMs(command: string, args: readonly string[], env: NodeJS.ProcessEnv = CLEAN_ENV) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await timeCommand(command, args, { env });
    // sender-auth exits 1 on a critical finding; anything else is a failed run.
    if (run.code !== 0 && run.code !== 1)
      throw new Error(`${command} ${args.join(' ')} exited ${run.code}: ${run.stderr.slice(0, 300)}`);
    times.push(run.ms);
  }
  return Math.round(median(times));
}

/** Queries the name server answered for one whole-process run of `args`. */
async function queriesOf(dns: DnsTestServer, args: readonly string[]): Promise<number> {
  const before = dns.queries.length;
  await timeCommand(process.execPath, args, { env: CLEAN_ENV });
  return dns.queries.length - before;
}

export async function run(): Promise<void> {
  ensureBuiltCli();
  const root = process.getuid?.() === 0;
  let dns: DnsTestServer;
  let onPort53 = false;
  try {
    dns = await startDnsServer(scenarioZone(), root ? { address: '127.0.53.53', port: 53 } : undefined);
    onPort53 = root;
  } catch {
    dns = await startDnsServer(scenarioZone());
  }
  try {
    const server = `${onPort53 ? '127.0.53.53' : '127.0.0.1'}:${dns.port}`;
    const cli = (...domains: string[]) => [
      BUILT_CLI,
      'sender-auth',
      ...domains,
      '--dkim-selector',
      's1',
      '--dkim-selector',
      'ed',
      '--dns-server',
      server,
    ];
    const figures: Record<string, number> = {
      mailprobeTenMs: await medianMs(process.execPath, cli('ten.example')),
      mailprobeGoodMs: await medianMs(process.execPath, cli('good.example')),
      mailprobeBothMs: await medianMs(process.execPath, cli('ten.example', 'good.example')),
      nodeStartMs: await medianMs(process.execPath, ['-e', '0']),
      queriesTen: await queriesOf(dns, cli('ten.example')),
      queriesGood: await queriesOf(dns, cli('good.example')),
    };
    let skipped: string | undefined;
    if (!onPort53) skipped = 'spfquery: skipped (it cannot be given a port: needs root for 127.0.53.53:53)';
    else if (which('spfquery') === undefined) skipped = `spfquery: skipped (apt-get install spf-tools-perl)`;
    else {
      const spf = (domain: string) => [
        '--scope',
        'mfrom',
        '--id',
        `probe@${domain}`,
        // Matches no term: every one of the tree's terms is evaluated, as mailprobe walks them all.
        '--ip',
        '192.0.2.99',
      ];
      const env = { ...CLEAN_ENV, RES_NAMESERVERS: '127.0.53.53' };
      figures.spfqueryTenMs = await medianMs(BINARIES.spfquery, spf('ten.example'), env);
      figures.spfqueryGoodMs = await medianMs(BINARIES.spfquery, spf('good.example'), env);
    }
    const ratios = figures.spfqueryTenMs
      ? { tenVsSpfquery: round(figures.mailprobeTenMs! / figures.spfqueryTenMs, 2) }
      : undefined;
    console.log(JSON.stringify({ node: process.version, runs: RUNS, figures, ...(ratios ? { ratios } : {}) }, null, 2));
    console.log(
      `sender-auth whole process (median of ${RUNS}): ten.example (10-lookup SPF tree + DMARC + 2 DKIM selectors) ` +
        `${figures.mailprobeTenMs} ms, ${figures.queriesTen} DNS queries; good.example ${figures.mailprobeGoodMs} ms, ` +
        `${figures.queriesGood} queries; both in one run ${figures.mailprobeBothMs} ms; node -e 0 ${figures.nodeStartMs} ms`,
    );
    console.log(
      skipped ??
        `spfquery (Mail::SPF, SPF only, one IP): ten.example ${figures.spfqueryTenMs} ms, good.example ${figures.spfqueryGoodMs} ms; ` +
          `mailprobe ${ratios!.tenVsSpfquery}× spfquery on the tree`,
    );
  } finally {
    await dns.close();
  }
}
