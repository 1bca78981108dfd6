/**
 * The layering docs/architecture.md promises, checked on the source: the engine never
 * imports the Lambda entry points, the constructs or the CLI, and no files import each other
 * in a circle (static imports, type-only ones included; `import()` on demand is not an edge).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const LAYERS = ['lambdas', 'lib', 'bin'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative static imports and re-exports of a file, as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
    out.push(relative(ROOT, target));
  }
  return out;
}

const files = LAYERS.flatMap((layer) => sources(join(ROOT, layer))).map((f) => relative(ROOT, f));
const graph = new Map(files.map((f) => [f, importsOf(join(ROOT, f)).filter((t) => files.includes(t))]));

describe('layers (docs/architecture.md)', () => {
  it('reads the whole source tree', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(graph.get('lambdas/engine/run/all.ts')).toContain('lambdas/engine/checks.ts');
  });

  it('the engine imports nothing from handlers, lib or bin', () => {
    const upward = [...graph]
      .filter(([file]) => file.startsWith('lambdas/engine/'))
      .flatMap(([file, targets]) =>
        targets.filter((t) => !t.startsWith('lambdas/engine/')).map((t) => `${file} -> ${t}`),
      );
    expect(upward).toEqual([]);
  });

  it('the Lambda entry points import neither lib nor bin', () => {
    const upward = [...graph]
      .filter(([file]) => file.startsWith('lambdas/handlers/'))
      .flatMap(([file, targets]) => targets.filter((t) => !t.startsWith('lambdas/')).map((t) => `${file} -> ${t}`));
    expect(upward).toEqual([]);
  });

  it('no import circle', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
        else if (state.get(next) === undefined) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (state.get(file) === undefined) visit(file);
    expect(circles).toEqual([]);
  });
});
