/**
 * Issue #24: `npm run synth` / `npm run deploy` without a config stop with the CLI's
 * message (exit 2) instead of deploying the example's smtp.example.com probes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const empty = mkdtempSync(join(tmpdir(), 'mailprobe-no-config-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('bin/app.ts without a config', () => {
  it('exits 2 with the missing file named, and synthesizes nothing', async () => {
    const tsx = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;
    const app = new URL('../../bin/app.ts', import.meta.url).pathname;
    const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: join(empty, 'cdk.out') };
    delete env['CDK_CONTEXT_JSON'];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [tsx, app], { cwd: empty, timeout: 120_000, env }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^mailprobe: mailprobe\.config\.yaml: 1 problem\n {2}- cannot read the file: there is no such file \(check the path; relative paths start from the current directory\)\n$/,
    );
    expect(result.stdout).toBe('');
  }, 120_000);
});
