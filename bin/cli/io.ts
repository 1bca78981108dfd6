/**
 * What a command is given and returns: the process's streams and environment (tests pass
 * their own), and its exit status. Its own file so that commands and main() do not import
 * each other.
 */
import type { Parsed } from './args.js';

/** The process's streams and environment, as a command sees them. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** A command's implementation: prints its output, returns the exit status. */
export type CommandRunner = (parsed: Parsed, io: Io) => Promise<number>;
