/** Shared by the side-by-side benches: external commands, timing, the built CLI, Postfix. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createTestPki } from '../testkit/pki.js';
import { startPostfix, type PostfixInstance } from '../testkit/system/postfix.js';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The launcher users run; it runs dist/cli/mailprobe.mjs when the build is current. */
export const MAILPROBE = join(REPO, 'bin/mailprobe.mjs');

/** The path of a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Timed {
  readonly ms: number;
  /** Date.now() when the command exited: to compare with times the command printed. */
  readonly exitedAt: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Wall time of one run of a command, from spawn to exit; stdin gets `input` then EOF. */
export function timeCommand(
  command: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...args], {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, exitedAt: Date.now(), code, stdout, stderr });
    });
    if (options.input !== undefined) {
      // openssl s_client reads its commands only once the handshake is done; send them late.
      setTimeout(() => child.stdin.end(options.input), 0);
    } else {
      child.stdin.end();
    }
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The built CLI, building it first when dist/ is missing or older than a source file. */
export function ensureBuiltCli(): void {
  const current =
    existsSync(join(REPO, 'dist/BUILD')) &&
    execFileSync('find', ['bin', 'lib', 'lambdas', '-name', '*.ts', '-newer', 'dist/BUILD'], {
      cwd: REPO,
      encoding: 'utf8',
    }).trim() === '';
  if (!current) {
    console.log('bench: building the CLI first (npm run build)');
    execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
  }
}

/** swaks over STARTTLS with a verified certificate (`ca`: a PEM file), ending after `quitAfter`, IPv4. */
export function swaksTlsArgs(server: string, ca: string, quitAfter: string, extra: readonly string[] = []): string[] {
  return ['--server', server, '--tls', '--tls-verify', '--tls-ca-path', ca, ...extra, '--quit-after', quitAfter, '-4'];
}

export interface LocalPostfix {
  readonly postfix: PostfixInstance;
  /** PEM file of the test CA that issued the server certificate. */
  readonly caFile: string;
  stop(): Promise<void>;
}

/** Debian's Postfix on 127.0.0.1 with STARTTLS and a certificate from a CA made on the spot. */
export async function startLocalPostfix(): Promise<LocalPostfix> {
  const pki = await createTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-bench-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  const postfix = await startPostfix({ tls: pki.credentials() });
  return { postfix, caFile, stop: () => postfix.stop() };
}
