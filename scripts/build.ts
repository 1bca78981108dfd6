/**
 * `npm run build`: what the published package runs, built from the sources in one step.
 *
 *  1. tsc (tsconfig.build.json): ESM JavaScript and .d.ts of bin/, lib/ and lambdas/ into dist/.
 *  2. esbuild: each Lambda handler bundled on its own (SDK included, minified, Node 22, ESM)
 *     into dist/bundles/<check>/index.mjs. lib/probe-function.ts deploys these with
 *     `Code.fromAsset` when they exist, so a user's `cdk synth` bundles nothing and needs
 *     neither esbuild nor Docker. From a clone there is no lib/../bundles, and the handlers
 *     are bundled from source as before.
 *  3. esbuild: the CLI (bin/mailprobe.ts) as dist/cli/mailprobe.mjs, split per command
 *     (bin/cli/main.ts imports each command on demand), its dependencies included: a
 *     one-shot `mailprobe smtp` loads the smtp check and nothing else, without resolving
 *     hundreds of files in node_modules.
 *  4. dist/BUILD: a stamp bin/mailprobe.mjs compares with the sources' mtimes in a clone.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { HANDLER_BUNDLE_OPTIONS } from '../lib/bundle-options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const HANDLERS = join(ROOT, 'lambdas/handlers');
/** package.json `engines`: Node ≥ 20.12. */
const CLI_TARGET = 'node20';

/** Every file in lambdas/handlers that exports `handler` is one probe function's entry. */
export function handlerEntries(dir: string = HANDLERS): { check: string; entry: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => /export\s+(const|async\s+function|function)\s+handler\b/.test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => ({ check: f.replace(/\.ts$/, ''), entry: join(dir, f) }))
    .sort((a, b) => a.check.localeCompare(b.check));
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const bundles: string[] = [];
  for (const { check, entry } of handlerEntries()) {
    const outfile = join(DIST, 'bundles', check, 'index.mjs');
    await build({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [entry], outfile, logLevel: 'warning' });
    bundles.push(`${check} ${Math.round(statSync(outfile).size / 1024)} KiB`);
  }
  await build({
    ...HANDLER_BUNDLE_OPTIONS,
    entryPoints: { mailprobe: join(ROOT, 'bin/mailprobe.ts') },
    outdir: join(DIST, 'cli'),
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // The CLI runs on the user's Node (package.json engines), not only on the Lambda runtime.
    target: CLI_TARGET,
    // `mailprobe plan` measures the template with aws-cdk-lib, an optional peer dependency:
    // loaded from the user's install when there, never bundled (it made a 40 MB chunk).
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    logLevel: 'warning',
  });
  writeFileSync(join(DIST, 'BUILD'), `${new Date().toISOString()}\n`);
  console.log(
    `build: dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s; handler bundles: ${bundles.join(', ')}`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
