/**
 * Third-party daemons under test control: each runs in the foreground as a child of the
 * test, in its own process group, bound to 127.0.0.1 only. Readiness is proven by
 * connecting to its port (never by sleeping), and stop() ends exactly the group this module
 * started, then waits for it to be gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Loopback only: the system tests must never listen on or talk to anything else. */
export const LOOPBACK = '127.0.0.1';

/** How long a daemon may take to accept connections on a loaded 2-core CI machine. */
export const READY_TIMEOUT_MS = 30_000;

/** A port that was free on 127.0.0.1 a moment ago (the kernel picks it, as with port 0). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One TCP connection attempt; true when something accepted it. */
export function canConnect(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A private scratch directory the daemons' unprivileged workers can traverse. */
export function scratchDir(prefix: string): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `mailprobe-${prefix}-`));
  // mkdtemp makes it 0700; Postfix's and nginx's workers drop to their own users and must
  // reach their directories inside (keys stay 0600 and are read before the drop).
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface DaemonOptions {
  /** For messages: `postfix`, `nginx`, … */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** TCP ports on 127.0.0.1 that must accept connections before the daemon counts as up. */
  readonly readyPorts: readonly number[];
  readonly cwd?: string;
  /** Extra diagnostics for failures (e.g. the daemon's own log file). */
  readonly diagnostics?: () => string;
  /**
   * Ends processes that left the group, before the group itself is ended. Postfix's master
   * calls setsid(), so only its pid file knows it.
   */
  readonly beforeStop?: () => Promise<void>;
  /** The daemon's scratch directory: removed when it stops, or when it fails to start. */
  readonly scratch?: { remove(): void };
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Milliseconds from spawn until every ready port accepted a connection. */
  readonly startupMs: number;
  /** stdout+stderr so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A daemon's log file as text, for diagnostics; a note when it was never written. */
export function fileLog(path: string): () => string {
  return () => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return `(no ${basename(path)})`;
    }
  };
}

/** SIGTERM to one process this test started, SIGKILL if it is still there after `graceMs`; resolves once it is gone. */
export async function terminatePid(pid: number, graceMs = 5_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const killAt = performance.now() + graceMs;
  let killed = false;
  while (alive(pid)) {
    if (!killed && performance.now() > killAt) {
      process.kill(pid, 'SIGKILL');
      killed = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Spawns the daemon and resolves once it serves every ready port; rejects with its output if it dies first. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const started = performance.now();
  // detached: the daemon leads its own process group, so stop() can end it together with
  // the workers it forks (Postfix's master and its services) and nothing else.
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    options.scratch?.remove();
    throw err;
  }
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const describe = (): string =>
    [`${options.name} (${options.command} ${options.args.join(' ')})`, output, options.diagnostics?.() ?? '']
      .filter((s) => s !== '')
      .join('\n');

  const stop = async (): Promise<void> => {
    try {
      await stopProcesses();
    } finally {
      options.scratch?.remove();
    }
  };
  const stopProcesses = async (): Promise<void> => {
    await options.beforeStop?.();
    if (child.pid === undefined) return;
    const gone = exited(child);
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return; // the group is already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await gone;
    clearTimeout(timer);
  };

  const deadline = started + READY_TIMEOUT_MS;
  const pending = new Set(options.readyPorts);
  while (pending.size > 0) {
    if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `${options.name} exited before it was ready (code ${String(child.exitCode)}, signal ${String(child.signalCode)}${spawnError ? `, ${spawnError.message}` : ''})\n${describe()}`,
      );
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(
        `${options.name} did not accept connections on ${[...pending].join(', ')} within ${READY_TIMEOUT_MS} ms\n${describe()}`,
      );
    }
    for (const port of [...pending]) {
      if (await canConnect(port)) pending.delete(port);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  return {
    name: options.name,
    pid: child.pid!,
    startupMs: Math.round(performance.now() - started),
    output: () => output,
    stop,
  };
}

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Starts daemons in parallel (startup dominates the suite's time). If any fails, the ones
 * that did start are stopped before the error propagates, so a failed beforeAll leaks nothing.
 */
export async function startAll<T extends readonly Promise<Stoppable>[]>(
  starts: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failures.length > 0) {
    await Promise.all(
      settled.map((s) => (s.status === 'fulfilled' ? s.value.stop().catch(() => undefined) : undefined)),
    );
    throw failures[0]!.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<Stoppable>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/** Stops whatever was started, even when some stops fail, and reports the first failure. */
export async function stopAll(daemons: readonly (Stoppable | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(daemons.map((d) => d?.stop()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
