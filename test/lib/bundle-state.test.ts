/**
 * Each side bundles only the state store it uses: the Lambda handlers the DynamoDB store
 * (no file code), the CLI the JSON file store (no DynamoDB client). Built with esbuild and
 * the options of lib/probe-function.ts.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { STATE_FILE_KIND } from '../../lambdas/engine/state/file.js';

async function bundle(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [new URL(`../../${entry}`, import.meta.url).pathname],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    logLevel: 'silent',
    external: ['aws-cdk-lib', 'constructs'],
  });
  return out.outputFiles[0]!.text;
}

describe('state store in the bundles', () => {
  it('the smtp handler carries the DynamoDB store and not the file store', async () => {
    const code = await bundle('lambdas/handlers/smtp.ts');
    expect(code).toContain('BatchGetItem');
    expect(code).toContain('attribute_not_exists(#pk)');
    expect(code).not.toContain(STATE_FILE_KIND);
  }, 60_000);

  // Each CLI command is its own chunk (scripts/build.ts). Only `mailprobe flow --wait-ses` reads a
  // deployment's table; the commands that keep state with --state carry the file store alone.
  it.each(['bin/cli/run.ts', 'bin/cli/probe.ts'])(
    'the CLI command %s carries the file store and not the DynamoDB client',
    async (entry) => {
      const code = await bundle(entry);
      expect(code).toContain(STATE_FILE_KIND);
      // The store's own condition expression, not the IAM action names that \`plan\` (lib/) now carries.
      expect(code).not.toContain('attribute_not_exists(#pk)');
      expect(code).not.toContain('DynamoDB_20120810');
    },
    60_000,
  );
});
