/** `mailprobe` run in this process with captured output, for CLI tests that need no child process. */
import { PassThrough } from 'node:stream';
import { main } from '../bin/cli/main.js';

export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const stdin = new PassThrough();
  stdin.end('');
  const code = await main(argv, { stdout: out, stderr: err, stdin, env });
  return { code, stdout, stderr };
}
