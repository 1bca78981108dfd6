/** Prints a command's results (table or `--json`) and turns them into the exit status (DESIGN.md §4). */
import type { CheckResult } from '../../lambdas/engine/run.js';
import type { Parsed } from './args.js';
import { formatResults, jsonDocument } from './format.js';
import type { Io } from './main.js';

export async function printResults(results: readonly CheckResult[], parsed: Parsed, io: Io): Promise<number> {
  const json = parsed.values.json === true;
  io.stdout.write(json ? jsonDocument(results) : formatResults(results, { color: useColor(io) }));
  if (parsed.values['explain-alerts'] === true) {
    // The SNS message each failing target would send on its first failure (issue: alerts say what broke).
    const { explainAlert } = await import('../../lambdas/engine/alerts/explain.js');
    for (const result of results.filter((r) => r.status !== 'ok')) {
      io.stdout.write(`\n${explainAlert(result, { redact: (text) => text, now: Date.now() })}`);
    }
  }
  return results.some((r) => r.status === 'critical') ? 1 : 0;
}

function useColor(io: Io): boolean {
  return io.stdout.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}
