/**
 * The engine's structured logging: one JSON object per line on the function's stdout, which
 * Lambda sends to CloudWatch Logs and Logs Insights queries by field (`level`, `msg`, `code`).
 * Like Powertools' logger, the shape is fixed and the fields are facts, never a message body
 * or a secret: callers pass error names and codes, and the alert path redacts before logging.
 */

export type LogLevel = 'info' | 'warn' | 'error';

/** One entry: its level, a constant message (queries group by it) and facts. */
export type LogEntry = { readonly level: LogLevel; readonly msg: string } & Readonly<Record<string, unknown>>;

export type Log = (entry: LogEntry) => void;

/** A log that writes each entry as one JSON line, with `context` fields (e.g. the shard) first. */
export function jsonLog(
  write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  context: Readonly<Record<string, unknown>> = {},
): Log {
  return (entry) => write(JSON.stringify({ ...context, ...entry }));
}
