#!/usr/bin/env node
// `mailprobe` (the package's bin, and `npx mailprobe` in a clone).
//
// Runs the built CLI, dist/cli/mailprobe.mjs: one esbuild bundle split per command, so a
// command loads only its own code (scripts/build.ts). The npm package always has it.
// In a clone it exists after `npm run build`; when it is missing, or older than any
// source file, the TypeScript sources run through tsx instead (a slower start, the same
// behaviour), so `npx mailprobe` never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/mailprobe.mjs', root);
const clone = existsSync(new URL('bin/cli/main.ts', root));

/** Newest mtime of the sources the CLI is built from (a few ms over ~150 files). */
function newestSourceMs() {
  let newest = 0;
  for (const dir of ['bin', 'lib', 'lambdas']) {
    const base = new URL(`${dir}/`, root);
    for (const entry of readdirSync(base, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
    }
  }
  return newest;
}

function builtIsCurrent() {
  if (!existsSync(built)) return false;
  if (!clone) return true;
  const stamp = new URL('dist/BUILD', root);
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestSourceMs();
}

if (builtIsCurrent()) {
  // Node ≥ 22.1 caches compiled code on disk: later starts skip parsing the bundle.
  module.enableCompileCache?.();
  await import(built.href);
} else if (clone) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('bin/mailprobe.ts', root).href);
} else {
  process.stderr.write('mailprobe: this installation has no dist/cli/mailprobe.mjs; reinstall the package\n');
  process.exitCode = 2;
}
