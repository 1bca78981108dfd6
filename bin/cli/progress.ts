/**
 * The live progress of `mailprobe run` on a terminal: each result is printed the moment it
 * is ready (a good relay's 150 ms answer is not held back behind a tarpit's 10 s), and one
 * status line below says how many are done and which check has been running longest.
 * Written to stderr and only to a terminal, so the final table, `--json` and pipes are
 * exactly as without it.
 */
import type { CheckSpec } from '../../lambdas/engine/checks.js';
import type { BaseResult } from '../../lambdas/engine/result.js';

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

const LABEL: Record<BaseResult['status'], string> = { ok: 'OK  ', warning: 'WARN', critical: 'CRIT' };
const CLEAR_LINE = '\r\x1b[K';

function describeSpec(spec: CheckSpec): string {
  const where =
    'host' in spec ? `${spec.host}:${spec.port}` : 'domain' in spec ? spec.domain : 'region' in spec ? spec.region : '';
  return `${spec.check} ${spec.name ?? where}`;
}

export class Progress {
  private done = 0;
  private readonly running = new Map<number, { label: string; since: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly now: () => number = Date.now,
    refreshMs = 250,
  ) {
    // The "running for N s" figure moves while nothing completes; unref'd so it never holds the process.
    this.timer = setInterval(() => this.redraw(), refreshMs);
    this.timer.unref();
  }

  /** Only on a terminal: a pipe or file gets nothing from this class. */
  static for(stream: ProgressStream, total: number): Progress | undefined {
    return stream.isTTY === true && total > 0 ? new Progress(stream, total) : undefined;
  }

  readonly onStart = (spec: CheckSpec, index: number): void => {
    this.running.set(index, { label: describeSpec(spec), since: this.now() });
    this.redraw();
  };

  readonly onResult = (result: BaseResult, index: number): void => {
    this.running.delete(index);
    this.done += 1;
    const who = `${result.check} ${result.name ?? result.target}`;
    const first = result.findings[0];
    const why = result.status === 'ok' || first === undefined ? '' : `  ${first.code}`;
    this.stream.write(`${CLEAR_LINE}${LABEL[result.status]}  ${who}  ${result.durationMs} ms${why}\n`);
    this.redraw();
  };

  /** The status line: `3/10 done; running 7: slowest smtp tarpit (10.2 s)`. */
  statusLine(): string {
    let slowest: { label: string; since: number } | undefined;
    for (const entry of this.running.values())
      if (slowest === undefined || entry.since < slowest.since) slowest = entry;
    const head = `${this.done}/${this.total} done`;
    if (slowest === undefined) return head;
    const seconds = ((this.now() - slowest.since) / 1000).toFixed(1);
    return `${head}; running ${this.running.size}: slowest ${slowest.label} (${seconds} s)`;
  }

  private redraw(): void {
    // A pseudo-terminal may report 0 columns: treat that as unknown.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const line = this.statusLine();
    this.stream.write(`${CLEAR_LINE}${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  }

  /** Clears the status line before the final table. */
  finish(): void {
    clearInterval(this.timer);
    this.stream.write(CLEAR_LINE);
  }
}
