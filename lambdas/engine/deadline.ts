/**
 * Deadlines. Every probe has one overall deadline (a server dripping a byte a second
 * must not keep a probe alive) and each stage may have a shorter one; the effective
 * limit is always the earlier of the two.
 */
import type { FindingCode } from './findings.js';
import { ProbeError } from './errors.js';

export interface Clock {
  /** Milliseconds since the epoch; injectable so tests can pin "now" for certificate dates. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class Deadline {
  readonly at: number;
  private readonly clock: Clock;

  constructor(timeoutMs: number, clock: Clock = systemClock) {
    this.clock = clock;
    this.at = clock.now() + timeoutMs;
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** Milliseconds allowed for a stage: its own budget, capped by what is left overall. */
  budget(stageTimeoutMs: number): number {
    return Math.min(stageTimeoutMs, this.remainingMs());
  }
}

/**
 * Runs `work` with a timer; when it fires, `onTimeout` is called (to destroy sockets)
 * and the promise rejects with a ProbeError of `code`.
 */
export async function withTimeout<T>(
  work: Promise<T>,
  timeoutMs: number,
  code: FindingCode,
  message: string,
  onTimeout?: () => void,
  stage?: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        onTimeout?.();
        reject(new ProbeError(code, message, stage === undefined ? {} : { stage }));
      },
      Math.max(0, timeoutMs),
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
