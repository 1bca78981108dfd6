/**
 * `--state FILE`: the CLI keeps the same state the Lambdas keep in DynamoDB, in a JSON file,
 * and runs the same decisions over it: what changed since the last run (printed with the
 * results and in `--json`), and which notifications the probe function would send. Nothing
 * is published from a terminal; the notifications are printed instead.
 */
import type { AlertSummary, TargetAlertPolicy } from '../../lambdas/engine/alerts/probe-state.js';
import type { BaseResult } from '../../lambdas/engine/result.js';
import type { CheckResult } from '../../lambdas/engine/run/all.js';
import { policyLookup } from '../../lambdas/engine/shard/alerting.js';
import { runShard } from '../../lambdas/engine/shard/run-shard.js';
import type { StateKey } from '../../lambdas/engine/state/types.js';
import { FileStateStore, StateFileError } from '../../lambdas/engine/state/file.js';
import type { ShardEvent } from '../../lambdas/engine/shard/event.js';
import { nameOf } from '../../lib/config/plan.js';
import { UsageError } from './args.js';

export interface StateOutcome {
  readonly results: CheckResult[];
  /** One line per notification the probe function would have sent. */
  readonly notices: string[];
  readonly summary: AlertSummary;
}

/** Opens (and checks) the state file before any check runs; a bad file is a usage error naming it. */
export function openStateFile(path: string | undefined): FileStateStore | undefined {
  if (path === undefined) return undefined;
  if (path === '') throw new UsageError('--state: expected a file name');
  try {
    return new FileStateStore(path);
  } catch (err) {
    if (err instanceof StateFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** The alert settings of each target as the shards carry them to the Lambda, looked up as the Lambda does. */
export function policiesOf(
  shards: readonly ShardEvent[],
): (result: BaseResult) => Partial<TargetAlertPolicy> | undefined {
  return policyLookup(shards, nameOf);
}

/**
 * Runs the checks through the probe function's pipeline (engine/shard/run-shard.ts) over the
 * file: the same state reads, change annotations, alert decisions and commit, with a notifier
 * that records what would be sent instead of publishing it.
 */
export async function runWithState(
  store: FileStateStore,
  run: () => Promise<CheckResult[]>,
  planned: { readonly keys?: readonly StateKey[]; readonly shards?: readonly ShardEvent[] } = {},
  now: () => number = Date.now,
): Promise<StateOutcome> {
  const notices: string[] = [];
  const problems: string[] = [];
  const log = (entry: { level: string; msg: string } & Record<string, unknown>) => {
    if (entry.level !== 'info') problems.push(`${entry.msg}${entry['target'] ? ` (${String(entry['target'])})` : ''}`);
  };
  // The shards carry each target's alert settings, as they do to the Lambda.
  const policyFor = planned.shards ? policiesOf(planned.shards) : () => undefined;
  const { results, alerts } = await runShard<CheckResult>({
    ...(planned.keys ? { keys: planned.keys } : {}),
    run: () => run(),
    state: {
      store,
      notify: async (message, about) => {
        notices.push(`${about.kind}: ${message.subject}`);
        return true;
      },
      policyFor,
    },
    clock: { now },
    log,
  });
  const summary = alerts!;
  if (summary.stateError !== undefined) {
    throw new UsageError(`--state ${store.path}: ${problems[0] ?? summary.stateError}`);
  }
  return { results, notices: [...notices, ...problems.map((p) => `warning: ${p}`)], summary };
}

/** The notifications section of the human output. */
export function formatNotices(path: string, notices: readonly string[]): string {
  if (notices.length === 0) return `\nState ${path}: no notification would be sent this run.\n`;
  return `\nState ${path}: the probe function would send:\n${notices.map((n) => `  ${n}`).join('\n')}\n`;
}
