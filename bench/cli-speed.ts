/**
 * One-shot wall time of the CLI next to the tools operators already use, against the same
 * local Postfix (STARTTLS, certificate verified against a CA made on the spot), as ratios
 * taken in one run (machine load hits both sides alike):
 *
 *   mailprobe smtp   vs  swaks --tls --quit-after EHLO   and  openssl s_client -starttls smtp
 *   mailprobe tls    vs  testssl.sh --starttls smtp -p -S -f   (protocols, server defaults, PFS/DH)
 *
 * The CLI is the built one (bin/mailprobe.mjs → dist/cli), as `npm install -g mailprobe`
 * or `npx mailprobe` after `npm run build` runs it. Goals: smtp ≤ 1.0× swaks (issue #24; was ≤ 3×, issue 14),
 * tls ≥ 50× faster than testssl.sh. Tools that are not installed are skipped (apt-get
 * install swaks testssl.sh: bench-only, CI does not need them).
 */
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

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 7);
const TESTSSL_RUNS = Number(process.env.BENCH_TESTSSL_RUNS ?? 1);

async function medianMs(
  runs: number,
  command: string,
  args: readonly string[],
  options: { input?: string; ok?: (code: number | null) => boolean } = {},
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await timeCommand(command, args, options.input !== undefined ? { input: options.input } : {});
    if (!(options.ok ?? ((code) => code === 0))(run.code)) {
      throw new Error(
        `${command} ${args.join(' ')} exited ${run.code}: ${run.stderr.slice(0, 400)}${run.stdout.slice(0, 400)}`,
      );
    }
    times.push(run.ms);
  }
  return Math.round(median(times));
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
  try {
    // Warm the page cache and the compile cache (Node ≥ 22) once; operators run these repeatedly too.
    await timeCommand(process.execPath, [MAILPROBE, 'smtp', target, '--ca-file', local.caFile]);
    figures.nodeStartMs = await medianMs(RUNS, process.execPath, ['-e', '0']);
    figures.mailprobeSmtpMs = await medianMs(RUNS, process.execPath, [
      MAILPROBE,
      'smtp',
      target,
      '--ca-file',
      local.caFile,
    ]);
    if (which('swaks') !== undefined) {
      figures.swaksMs = await medianMs(RUNS, 'swaks', swaksTlsArgs(target, local.caFile, 'EHLO'));
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
      [MAILPROBE, 'tls', target, '--ca-file', local.caFile],
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
    ...(figures.swaksMs ? { smtpVsSwaks: round(figures.mailprobeSmtpMs! / figures.swaksMs, 2) } : {}),
    ...(figures.opensslMs ? { smtpVsOpenssl: round(figures.mailprobeSmtpMs! / figures.opensslMs, 2) } : {}),
    ...(figures.testsslMs ? { tlsFasterThanTestssl: round(figures.testsslMs / figures.mailprobeTlsMs!, 1) } : {}),
  };
  console.log(JSON.stringify({ node: process.version, runs: RUNS, figures, ratios }, null, 2));
  console.log(
    `one-shot wall (median of ${RUNS}): mailprobe smtp ${figures.mailprobeSmtpMs} ms` +
      (figures.swaksMs ? `, swaks ${figures.swaksMs} ms (${ratios.smtpVsSwaks}× swaks, goal ≤ 1.0×)` : '') +
      (figures.opensslMs ? `, openssl s_client ${figures.opensslMs} ms` : '') +
      `; node -e 0 ${figures.nodeStartMs} ms`,
  );
  console.log(
    `posture: mailprobe tls ${figures.mailprobeTlsMs} ms` +
      (figures.testsslMs
        ? `, testssl.sh -p -S -f ${figures.testsslMs} ms (${ratios.tlsFasterThanTestssl}× faster, goal ≥ 50×)`
        : ' (testssl.sh not installed)'),
  );
}
