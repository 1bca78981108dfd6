/** Prints a command's results (table or `--json`) and turns them into the exit status (DESIGN.md §4). */
import type { CheckResult } from '../../lambdas/engine/run/all.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import type { StateKey } from '../../lambdas/engine/state/types.js';
import { writeFileSync } from 'node:fs';
import { fileErrorReason } from '../../lib/fs-errors.js';
import { parseSeverity, stringOption, UsageError, type Parsed } from './args.js';
import { formatResults, jsonDocument } from './format.js';
import type { Io } from './io.js';

type StateModule = typeof import('./state.js');

/** `--state FILE`, opened before any check runs (a bad file is a usage error, not a wasted run). */
export interface OpenedState {
  readonly module: StateModule;
  readonly store: NonNullable<ReturnType<StateModule['openStateFile']>>;
}

/**
 * Opens the state file when `--state` is given. Its module (the alert decisions, which
 * bring the SNS types and more) loads only then: a plain `mailprobe smtp` never pays for it.
 */
export async function openState(parsed: Parsed): Promise<OpenedState | undefined> {
  const path = stringOption(parsed.values, 'state');
  if (path === undefined) return undefined;
  const module = await import('./state.js');
  const store = module.openStateFile(path);
  return store === undefined ? undefined : { module, store };
}

/**
 * Runs the checks and prints their results; with `--state`, through the probe function's
 * pipeline over the state file (`planned`: the targets whose state to read before the run and
 * the plan's shards, whose alert settings apply to `run`).
 */
export async function printResults(
  run: () => Promise<CheckResult[]>,
  parsed: Parsed,
  io: Io,
  state?: OpenedState,
  planned?: { readonly keys?: readonly StateKey[]; readonly shards?: readonly ShardEvent[] },
): Promise<number> {
  const applied = state && (await state.module.runWithState(state.store, run, planned));
  const results = applied?.results ?? (await run());
  const json = parsed.values.json === true;
  const output = stringOption(parsed.values, 'output');
  if (output !== undefined) {
    // The whole document goes to the file (as testssl.sh's --jsonfile), whatever the terminal shows.
    try {
      writeFileSync(output, jsonDocument(results));
    } catch (err) {
      throw new UsageError(`--output ${output}: cannot write it: ${fileErrorReason(err)}`);
    }
  }
  const human = () =>
    formatResults(results, {
      color: useColor(io),
      quiet: parsed.values.quiet === true,
      ...(parsed.values.severity === undefined
        ? {}
        : { minSeverity: parseSeverity(stringOption(parsed.values, 'severity')) }),
    });
  io.stdout.write(json ? jsonDocument(results) : human());
  if (state && applied && !json) io.stdout.write(state.module.formatNotices(state.store.path, applied.notices));
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
