/**
 * The proof that a user can `npm install` mailprobe: pack the repository (prepack runs the
 * build), then follow examples/own-app/README.md in a clone's layout: the tarball at the
 * clone's root, `npm install` in examples/own-app exactly as its package.json is written
 * (its `file:` dependency names the tarball), type-check and synthesize it, and run the
 * installed CLI.
 *
 * The build happens in a copy of the sources (node_modules linked), never in this
 * worktree's dist/, which other tests' CLI runs may be reading at the same time. esbuild
 * is kept off the synth's PATH: a synth that tried to bundle would fail.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_ARTIFACT_FOLDER } from '../../lambdas/engine/shard/artifact.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
/** What `npm pack` needs from the repository (package.json `files` picks from the build). */
const SOURCES = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'bin',
  'lib',
  'lambdas',
  'scripts',
  'schema',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  'mailprobe.config.example.yaml',
];
const STEP_TIMEOUT_MS = 300_000;

/** The environment without any node_modules/.bin (npm test puts the repo's, with esbuild, on PATH). */
function cleanEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(delimiter);
  return { ...process.env, PATH: path, CDK_DISABLE_VERSION_CHECK: '1', NO_COLOR: '1' };
}

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

describe('npm pack → npm install → cdk synth of examples/own-app', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mailprobe-pack-'));
  const src = join(tmp, 'src');
  /** A clone's layout without its node_modules: nothing can resolve from the repository's. */
  const clone = join(tmp, 'clone');
  const app = join(clone, 'examples/own-app');
  let tarball: string;
  let packed: { size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
  let template: { Resources: Record<string, CfnResource> };
  let outdir: string;

  beforeAll(async () => {
    const steps: string[] = [];
    let last = Date.now();
    const step = (name: string) => {
      steps.push(`${name} ${((Date.now() - last) / 1000).toFixed(1)} s`);
      last = Date.now();
    };
    mkdirSync(src);
    for (const entry of SOURCES) cpSync(join(REPO, entry), join(src, entry), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'), 'dir');
    mkdirSync(clone);
    // `npm pack` at a clone's root leaves the tarball there, where the example's `file:` points.
    const pack = await run('npm', ['pack', '--json', '--pack-destination', clone], {
      cwd: src,
      timeout: STEP_TIMEOUT_MS,
      maxBuffer: 64 << 20,
    });
    // prepack's build prints its own lines before npm's JSON.
    step('pack (with build)');
    const json = pack.stdout.slice(pack.stdout.indexOf('\n[') + 1);
    const [report] = JSON.parse(json) as (typeof packed & { filename: string })[];
    packed = report!;
    tarball = join(clone, report!.filename);
    console.log(
      `npm pack: ${(packed.size / 1024).toFixed(0)} KiB tarball, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.entryCount} files`,
    );

    cpSync(join(REPO, 'examples/own-app'), app, { recursive: true });
    // The README's `npm install`, with no arguments: the example's package.json as written.
    await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
      timeout: STEP_TIMEOUT_MS,
      env: cleanEnv(),
      maxBuffer: 64 << 20,
    });
    step('install');
    // The typed props against the package's .d.ts: a mistake in them fails here.
    await run(process.execPath, [TSC, '-p', app], { cwd: app, timeout: STEP_TIMEOUT_MS });
    step('tsc');
    outdir = join(app, 'cdk.out');
    await run(process.execPath, ['build/app.js'], {
      cwd: app,
      timeout: STEP_TIMEOUT_MS,
      env: { ...cleanEnv(), CDK_OUTDIR: outdir },
    });
    step('synth');
    console.log(`package install test: ${steps.join(', ')}`);
    template = JSON.parse(readFileSync(join(outdir, 'OwnApp.template.json'), 'utf8')) as typeof template;
  }, 4 * STEP_TIMEOUT_MS);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('packs only what users need', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('dist/lib/index.js');
    expect(paths).toContain('dist/lib/index.d.ts');
    expect(paths).toContain('dist/lambdas/engine/api.d.ts');
    expect(paths).toContain('dist/cli/mailprobe.mjs');
    expect(paths).toContain('bin/mailprobe.mjs');
    for (const check of [
      'smtp',
      'tls',
      'mta-sts',
      'ses-account',
      'sender-auth',
      'flow',
      'flow-receiver',
      'tlsrpt-https',
      'tlsrpt-mail',
    ]) {
      expect(paths).toContain(`dist/bundles/${check}/index.mjs`);
    }
    expect(
      paths.filter(
        (p) => /^(test|bench|examples|node_modules)\//.test(p) || /(^|\/)[^/]+\.ts$/.test(p.replace(/\.d\.ts$/, '')),
      ),
    ).toEqual([]);
  });

  it('the example depends on the tarball `npm pack` writes, by a path that works from a clone', () => {
    const example = JSON.parse(readFileSync(join(REPO, 'examples/own-app/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(example.dependencies['mailprobe']).toBe(`file:../../${basename(tarball)}`);
  });

  it('installs without the repository’s dev tools', () => {
    const installed = join(app, 'node_modules');
    expect(existsSync(join(installed, 'mailprobe/dist/lib/index.js'))).toBe(true);
    for (const dev of ['tsx', 'esbuild', 'typescript', 'cdk-nag']) expect(existsSync(join(installed, dev))).toBe(false);
  });

  it('synthesizes MailProbes next to the app’s own topic, deploying the prebundled handlers', () => {
    const resources = Object.values(template.Resources);
    const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.Description).sort()).toEqual([
      'mailprobe: TLS-RPT https receiver',
      'mailprobe: mta-sts checks',
      'mailprobe: smtp checks',
      'mailprobe: tls checks',
    ]);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler' });
      // functionTimeout applies to the probes; the receiver keeps its own 60 s.
      expect(fn.Properties.Timeout).toBe(/TLS-RPT/.test(String(fn.Properties.Description)) ? 60 : 120);
    }
    // One topic, the app's own, receiving the config's subscription.
    const topics = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SNS::Topic');
    expect(topics.map(([id]) => id)).toEqual([expect.stringMatching(/^OnCall/)]);
    const subscription = resources.find((r) => r.Type === 'AWS::SNS::Subscription');
    expect(subscription?.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topics[0]![0] },
    });
  });

  it('each function asset is the handler bundle shipped in the package, byte for byte', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'OwnApp.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const dirs = Object.values(manifest.files)
      .map((f) => f.source)
      .filter((s) => s.packaging === 'zip')
      .map((s) => join(outdir, s.path));
    // Issue #20: besides the four handler bundles, each probe function has a layer of its
    // shards (JSON files only), so the template holds references, not specs.
    const layers = dirs.filter((dir) => readdirSync(dir).includes(SHARD_ARTIFACT_FOLDER));
    const bundles = dirs.filter((dir) => !layers.includes(dir));
    expect(bundles).toHaveLength(4);
    expect(layers).toHaveLength(3);
    for (const layer of layers) {
      expect(readdirSync(layer)).toEqual([SHARD_ARTIFACT_FOLDER]);
      const files = readdirSync(join(layer, SHARD_ARTIFACT_FOLDER));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect(file).toMatch(/\.json$/);
    }
    const shipped = ['smtp', 'tls', 'mta-sts', 'tlsrpt-https'].map((check) =>
      readFileSync(join(app, 'node_modules/mailprobe/dist/bundles', check, 'index.mjs'), 'utf8'),
    );
    for (const dir of bundles) {
      expect(readdirSync(dir)).toEqual(['index.mjs']);
      expect(shipped).toContain(readFileSync(join(dir, 'index.mjs'), 'utf8'));
    }
  });

  it('the installed CLI and the engine entry point run from the built JavaScript', async () => {
    const env = cleanEnv();
    const bin = join(app, 'node_modules/.bin/mailprobe');
    const version = await run(bin, ['--version'], { cwd: app, env, timeout: 60_000 });
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toMatch(new RegExp(`^mailprobe ${pkg.version.replace(/\./g, '\\.')} \\(node v`));
    const help = await run(bin, ['tls', '--help'], { cwd: app, env, timeout: 60_000 });
    expect(help.stdout).toMatch(/^mailprobe tls HOST\[:PORT\]/);
    const engine = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('mailprobe/engine'); console.log(typeof m.runChecks, typeof m.createContext)",
      ],
      { cwd: app, env, timeout: 60_000 },
    );
    expect(engine.stdout.trim()).toBe('function function');
  });
});
