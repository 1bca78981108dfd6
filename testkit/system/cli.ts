/**
 * Runs the real `mailprobe` CLI (bin/mailprobe.mjs, the file `npx mailprobe` runs) as a
 * child process and parses its `--json` document.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/mailprobe.mjs', import.meta.url));

/** tsx compiles the CLI on first start; a loaded CI machine needs time for that. */
export const CLI_TIMEOUT_MS = 60_000;

export interface CliFinding {
  readonly code: string;
  readonly severity: string;
  readonly message: string;
  readonly hint?: string;
  readonly stage?: string;
}

export interface CliResult {
  readonly check: string;
  readonly target: string;
  readonly status: 'ok' | 'warning' | 'critical';
  readonly findings: readonly CliFinding[];
  readonly [detail: string]: unknown;
}

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly results: readonly CliResult[];
}

/**
 * A check deadline well above the 15 s default: on a loaded 2-core CI machine a late answer
 * must not turn into DEADLINE_EXCEEDED. The servers answer in milliseconds when healthy.
 */
export const CHECK_TIMEOUT_MS = 30_000;

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const withTimeout = args.includes('--timeout') ? args : [...args, '--timeout', String(CHECK_TIMEOUT_MS)];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...withTimeout],
      { cwd: REPO, timeout: CLI_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (exitCode < 0 || exitCode > 1) {
          reject(new Error(`mailprobe ${args.join(' ')} exited ${String(error?.code)}: ${stderr}\n${stdout}`));
          return;
        }
        try {
          const doc = JSON.parse(stdout) as { version: number; results: CliResult[] };
          if (doc.version !== 1) throw new Error(`unexpected document version ${doc.version}`);
          resolve({ exitCode, stdout, stderr, results: doc.results });
        } catch (err) {
          reject(
            new Error(
              `mailprobe ${args.join(' ')}: no JSON document (${(err as Error).message}): ${stdout}\n${stderr}`,
            ),
          );
        }
      },
    );
  });
}

/** The findings codes of one result, sorted, for exact comparisons. */
export function codesOf(result: CliResult): string[] {
  return result.findings.map((f) => f.code).sort();
}
