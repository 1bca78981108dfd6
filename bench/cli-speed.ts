/**
 * One-shot wall time of the CLI next to the tools operators already use, against the same
 * local Postfix (STARTTLS, certificate verified against a CA made on the spot), as ratios
 * taken in one run (machine load hits both sides alike):
 *
 *   mailprobe smtp   vs  swaks --tls --quit-after EHLO   and  openssl s_client -starttls smtp
 *   mailprobe tls    vs  testssl.sh --starttls smtp -p -S -f   (protocols, server defaults, PFS/DH)
 *
 * The CLI is the built one, dist/cli/mailprobe.mjs, which the launcher of an installed
 * package imports directly (in a clone the launcher first compares the sources' mtimes with
 * the build, ~20 ms that `npm install -g mailprobe` users never pay; ensureBuiltCli has
 * done that check once here). Goals: smtp ≤ 1.0× swaks (issue #24; was ≤ 3×, issue 14),
 * tls ≥ 50× faster than testssl.sh. Tools that are not installed are skipped (apt-get
 * install swaks testssl.sh: bench-only, CI does not need them).
 *
 * mailprobe and swaks run in turn (A B A B …) and the smtp ratio is the median of the
 * pairs' ratios, so load that drifts during the bench hits both sides alike. All commands
 * run without NODE_EXTRA_CA_CERTS: a machine that points it at its whole system bundle (CI
 * images do) makes every Node process parse ~140 certificates at startup, ~50 ms before
 * any mailprobe code runs; that figure is printed apart when the variable is set.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuiltCli, REPO, median, round, startLocalPostfix, swaksTlsArgs, timeCommand, which } from './tools.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 7);
/** What an installed package's bin/mailprobe.mjs imports. */
const BUILT_CLI = join(REPO, 'dist/cli/mailprobe.mjs');
/** Node with no machine-wide extra roots, as on an operator's workstation. */
const CLEAN_ENV: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '' };
/** bench/node-floor.mjs: the dialogue alone, in Node. */
const NODE_FLOOR = join(REPO, 'bench/node-floor.mjs');
/** Node 22 as scripts/fetch-node22.sh leaves it (CI), or on PATH as node22. */
const NODE22 = [join(REPO, '.tmp/node22/package/bin/node'), join(REPO, '.tmp/node22/bin/node')];
const TESTSSL_RUNS = Number(process.env.BENCH_TESTSSL_RUNS ?? 1);

interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  ok?: (code: number | null) => boolean;
}

async function timedOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<number> {
  const run = await timeCommand(command, args, {
    env: options.env ?? CLEAN_ENV,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (!(options.ok ?? ((code) => code === 0))(run.code)) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${run.code}: ${run.stderr.slice(0, 400)}${run.stdout.slice(0, 400)}`,
    );
  }
  return run.ms;
}

async function medianMs(
  runs: number,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timedOk(command, args, options));
  return Math.round(median(times));
}

/** A and B in turn, `runs` pairs: both medians and the median of the pairs' A/B ratios. */
async function paired(
  runs: number,
  a: readonly [string, readonly string[]],
  b: readonly [string, readonly string[]],
): Promise<{ aMs: number; bMs: number; ratio: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const aMs = await timedOk(...a);
    const bMs = await timedOk(...b);
    as.push(aMs);
    bs.push(bMs);
    ratios.push(aMs / bMs);
  }
  return { aMs: Math.round(median(as)), bMs: Math.round(median(bs)), ratio: round(median(ratios), 2) };
}

export async function run(): Promise<void> {
  if (which('postfix') === undefined) {
    console.log('cli-speed: skipped (no postfix; bash scripts/install-system-deps.sh)');
    return;
  }
  ensureBuiltCli();
  const local = await startLocalPostfix();
  const target = `127.0.0.1:${local.postfix.port}`;
  const figures: Record<string, number> = {};
  let pairedRatio: number | undefined;
  try {
    const smtpArgs = [BUILT_CLI, 'smtp', target, '--ca-file', local.caFile];
    // Warm the page cache and the compile cache (Node ≥ 22) once; operators run these repeatedly too.
    await timedOk(process.execPath, smtpArgs);
    figures.nodeStartMs = await medianMs(RUNS, process.execPath, ['-e', '0']);
    if (which('swaks') !== undefined) {
      const pair = await paired(
        RUNS,
        [process.execPath, smtpArgs],
        ['swaks', swaksTlsArgs(target, local.caFile, 'EHLO')],
      );
      figures.mailprobeSmtpMs = pair.aMs;
      figures.swaksMs = pair.bMs;
      pairedRatio = pair.ratio;
    } else {
      figures.mailprobeSmtpMs = await medianMs(RUNS, process.execPath, smtpArgs);
    }
    // The floor: a 70-line Node client doing only the dialogue (bench/node-floor.mjs). If it is
    // slower than swaks, no Node CLI reaches 1.0× swaks on this machine; mailprobe's own cost is
    // what it adds over the floor.
    const floorArgs = [NODE_FLOOR, '127.0.0.1', String(local.postfix.port), local.caFile];
    figures.nodeFloorMs = await medianMs(RUNS, process.execPath, floorArgs);
    const node22 = NODE22.find((p) => existsSync(p));
    if (node22 !== undefined) {
      // Node 22 (the Lambdas' runtime): faster OpenSSL start-up, and the compile cache the launcher enables.
      await timedOk(node22, smtpArgs);
      figures.nodeFloorNode22Ms = await medianMs(RUNS, node22, floorArgs);
      figures.mailprobeSmtpNode22Ms = await medianMs(RUNS, node22, smtpArgs);
    }
    const machineExtraCa = process.env.NODE_EXTRA_CA_CERTS;
    if (machineExtraCa !== undefined && machineExtraCa !== '') {
      figures.mailprobeSmtpWithMachineExtraCaMs = await medianMs(RUNS, process.execPath, smtpArgs, {
        env: { NODE_EXTRA_CA_CERTS: machineExtraCa },
      });
    }
    if (which('openssl') !== undefined) {
      figures.opensslMs = await medianMs(
        RUNS,
        'openssl',
        [
          's_client',
          '-starttls',
          'smtp',
          '-connect',
          target,
          '-CAfile',
          local.caFile,
          '-verify_return_error',
          '-quiet',
        ],
        { input: 'QUIT\r\n' },
      );
    }
    // A TLS 1.0 finding makes the result a warning (exit 0); critical would be exit 1.
    figures.mailprobeTlsMs = await medianMs(
      RUNS,
      process.execPath,
      [BUILT_CLI, 'tls', target, '--ca-file', local.caFile],
      { ok: (code) => code === 0 || code === 1 },
    );
    const testssl = which('testssl') ?? which('testssl.sh');
    if (testssl !== undefined) {
      figures.testsslMs = await medianMs(
        TESTSSL_RUNS,
        testssl,
        [
          '--quiet',
          '--color',
          '0',
          '--warnings',
          'off',
          '--nodns',
          'none',
          '--starttls',
          'smtp',
          '-p',
          '-S',
          '-f',
          target,
        ],
        { ok: () => true },
      );
    }
  } finally {
    await local.stop();
  }

  const ratios = {
    ...(pairedRatio !== undefined ? { smtpVsSwaks: pairedRatio } : {}),
    ...(figures.swaksMs ? { nodeFloorVsSwaks: round(figures.nodeFloorMs! / figures.swaksMs, 2) } : {}),
    smtpVsNodeFloor: round(figures.mailprobeSmtpMs! / figures.nodeFloorMs!, 2),
    ...(figures.opensslMs ? { smtpVsOpenssl: round(figures.mailprobeSmtpMs! / figures.opensslMs, 2) } : {}),
    ...(figures.testsslMs ? { tlsFasterThanTestssl: round(figures.testsslMs / figures.mailprobeTlsMs!, 1) } : {}),
  };
  console.log(JSON.stringify({ node: process.version, runs: RUNS, figures, ratios }, null, 2));
  console.log(
    `one-shot wall (median of ${RUNS}): mailprobe smtp ${figures.mailprobeSmtpMs} ms` +
      (figures.swaksMs
        ? `, swaks ${figures.swaksMs} ms (${ratios.smtpVsSwaks}× swaks, median of ${RUNS} pairs; goal ≤ 1.0×)`
        : '') +
      (figures.opensslMs ? `, openssl s_client ${figures.opensslMs} ms` : '') +
      `; node -e 0 ${figures.nodeStartMs} ms` +
      (figures.mailprobeSmtpWithMachineExtraCaMs !== undefined
        ? `; with this machine's NODE_EXTRA_CA_CERTS ${figures.mailprobeSmtpWithMachineExtraCaMs} ms`
        : ''),
  );
  console.log(
    `the Node floor (bench/node-floor.mjs, the dialogue alone): ${figures.nodeFloorMs} ms` +
      (ratios.nodeFloorVsSwaks !== undefined ? ` (${ratios.nodeFloorVsSwaks}× swaks)` : '') +
      `; mailprobe smtp is ${ratios.smtpVsNodeFloor}× the floor` +
      (figures.mailprobeSmtpNode22Ms !== undefined
        ? `; under Node 22: floor ${figures.nodeFloorNode22Ms} ms, mailprobe smtp ${figures.mailprobeSmtpNode22Ms} ms`
        : ''),
  );
  console.log(
    `posture: mailprobe tls ${figures.mailprobeTlsMs} ms` +
      (figures.testsslMs
        ? `, testssl.sh -p -S -f ${figures.testsslMs} ms (${ratios.tlsFasterThanTestssl}× faster, goal ≥ 50×)`
        : ' (testssl.sh not installed)'),
  );
}
