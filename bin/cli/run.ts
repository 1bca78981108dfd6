/** `mailprobe run`: exactly what the deployed probes run, from the config file. */
import { createResolver, dnsQueryTimeoutMs, type Resolver } from '../../lambdas/engine/net/resolver.js';
import type { ProbeContext } from '../../lambdas/engine/context.js';
import { runChecks, type CheckResult } from '../../lambdas/engine/run/all.js';
import { ConfigError, loadConfig } from '../../lib/config/load.js';
import { expandFlows, type FlowEntry } from '../../lib/config/expand.js';
import { nameOf, planConfig, type Plan } from '../../lib/config/plan.js';
import { stringOption, UsageError, type Parsed } from './args.js';
import type { Io } from './io.js';
import { contextFrom, engineDeps, thresholdsFrom } from './options.js';
import { dnssecFromShard } from './dane.js';
import { openState, printResults } from './output.js';
import { Progress, type ProgressStream } from './progress.js';
import { FLOW_DEFAULTS, targetOf, type CheckSpec } from '../../lambdas/engine/checks.js';
import { stateKeyOf } from '../../lambdas/engine/shard/run-shard.js';
import { FileStateStore } from '../../lambdas/engine/state/file.js';
import type { StateKey, StateStore } from '../../lambdas/engine/state/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseResult } from '../../lambdas/engine/result.js';

export async function runCommand(parsed: Parsed, io: Io): Promise<number> {
  const state = await openState(parsed);
  const { run, keys, shards } = runConfig(parsed, io, state?.store);
  // The shards carry each target's alert settings, as they do to the Lambda.
  return printResults(run, parsed, io, state, { keys, shards });
}

/**
 * The same plan, shard by shard, same thresholds: the run, and the targets it will report on
 * (their state is read before the checks, as the probe function reads it).
 */
function runConfig(
  parsed: Parsed,
  io: Io,
  stateStore: StateStore | undefined,
): { run: () => Promise<CheckResult[]>; keys: StateKey[]; shards: Plan['shards'] } {
  const { values } = parsed;
  const path = stringOption(values, 'config') ?? 'mailprobe.config.yaml';
  const config = loadConfig(path);
  // A terminal usually reaches port 25: `mx: auto` probes the MX hosts here (only `never` skips them).
  const plan = planConfig(config, { port25Reachable: true });
  const flowProblems: string[] = [];
  const flows = expandFlows(config, flowProblems);
  if (flowProblems.length > 0) throw new ConfigError(path, flowProblems);
  const only = (values.only as string[] | undefined) ?? [];
  const base = contextFrom(values);
  const known = new Set([
    ...plan.shards.flatMap((s) => s.specs.map((spec) => nameOf(spec))),
    ...flows.map((f) => f.spec.name),
  ]);
  for (const name of only) {
    if (!known.has(name))
      throw new UsageError(`--only ${name}: no target of that name in ${path} (names: ${[...known].join(', ')})`);
  }
  // --dns-server wins over the config's dnsServer (already in base's resolver and dnssec.server).
  const flagServer = stringOption(values, 'dns-server') !== undefined;
  const resolvers = new Map<string, Resolver>();
  const resolverFor = (server: string): Resolver => {
    let resolver = resolvers.get(server);
    if (resolver === undefined) {
      resolver = createResolver({ server, timeoutMs: dnsQueryTimeoutMs(base.timeoutMs) });
      resolvers.set(server, resolver);
    }
    return resolver;
  };
  const selected = (shard: Plan['shards'][number]) =>
    only.length > 0 ? shard.specs.filter((s) => only.includes(nameOf(s))) : shard.specs;
  const named = only.length > 0 ? flows.filter((f) => only.includes(f.spec.name)) : flows;
  // Only the deployed receiver, with the deployment's key, sees an SES-received message: here it
  // would wait out maxSeconds for an arrival nothing can log, and report a loss that is not one.
  const viaSes = named.filter((f) => 'ses' in f.spec.receive);
  const selectedFlows = named.filter((f) => !('ses' in f.spec.receive));
  const keys = [
    ...plan.shards.flatMap((shard) => selected(shard).map((spec) => stateKeyOf(spec, targetOf(spec)))),
    ...selectedFlows.map((f) => stateKeyOf(f.spec, targetOf(f.spec))),
  ];
  const run = async (): Promise<CheckResult[]> => {
    const results: CheckResult[] = [];
    const total = plan.shards.reduce((n, shard) => n + selected(shard).length, 0);
    // A live line on a terminal only; --json, pipes and files see exactly what they did before.
    const progress = values.json === true ? undefined : Progress.for(io.stderr as ProgressStream, total);
    let offset = 0;
    for (const shard of plan.shards) {
      const specs = selected(shard);
      if (specs.length === 0) continue;
      const configServer = flagServer ? undefined : shard.dnsServer;
      const ctx: ProbeContext = {
        ...base,
        ...(configServer !== undefined ? { resolver: resolverFor(configServer) } : {}),
        thresholds: thresholdsFrom(values, shard.thresholds),
        allowPrivate: base.allowPrivate || shard.allowPrivate,
        // --trust-anchor wins over the config's dnssec.trustAnchors, --dns-server over its dnsServer.
        dnssec: {
          ...dnssecFromShard(shard.trustAnchors),
          ...(configServer !== undefined ? { server: configServer } : {}),
          ...base.dnssec,
        },
      };
      const first = offset;
      offset += specs.length;
      results.push(
        ...(await runChecks(specs, ctx, {
          concurrency: shard.concurrency,
          deps: { ...engineDeps(values), credentials: { env: io.env } },
          ...(progress === undefined
            ? {}
            : {
                onStart: (spec: CheckSpec, i: number) => progress.onStart(spec, first + i),
                onResult: (result: BaseResult, i: number) => progress.onResult(result, first + i),
              }),
        })),
      );
    }
    if (viaSes.length > 0) {
      io.stderr.write(
        `mailprobe: skipped ${viaSes.map((f) => f.spec.name).join(', ')}: SES-received flows run deployed; from here use \`mailprobe flow --wait-ses REGION --table NAME --key-secret ARN\` against the deployment\n`,
      );
    }
    if (selectedFlows.length > 0) {
      // The config's resolver (its dnsServer, unless --dns-server) also verifies SPF/DKIM/DMARC of what arrived.
      const flowCtx: ProbeContext = {
        ...base,
        ...(!flagServer && config.dnsServer !== undefined ? { resolver: resolverFor(config.dnsServer) } : {}),
        allowPrivate: base.allowPrivate || config.allowPrivate === true,
      };
      results.push(...(await runFlows(selectedFlows, flowCtx, io, stateStore)));
    }
    progress?.finish();
    return results;
  };
  return { run, keys, shards: plan.shards };
}

/** The variable `run --state` reads the flows' token key from: the next run must verify this run's tokens. */
export const FLOW_KEY_ENV = 'MAILPROBE_FLOW_KEY';

/**
 * Flows are not in the plan's shards (lib/config/flow-plan.ts); `run` runs them here. With `--state` as the scheduled probe
 * would (send, settle earlier sends, do not wait: the next run settles this one), with the
 * key from MAILPROBE_FLOW_KEY; without it as `mailprobe flow` does (a key and a log for this
 * run only, waiting up to maxSeconds for the message).
 */
async function runFlows(
  flows: readonly FlowEntry[],
  ctx: ProbeContext,
  io: Io,
  stateStore: StateStore | undefined,
): Promise<CheckResult[]> {
  const { generateFlowKey, parseFlowKey, FlowKeyError } = await import('../../lambdas/engine/flow/token.js');
  let key: Buffer;
  if (stateStore !== undefined) {
    const secret = io.env[FLOW_KEY_ENV];
    if (secret === undefined || secret === '') {
      throw new UsageError(
        `run --state with flows needs ${FLOW_KEY_ENV} (32+ random bytes, hex or base64, e.g. \`openssl rand -hex 32\`): the next run verifies this run's tokens with it`,
      );
    }
    try {
      key = parseFlowKey(secret);
    } catch (err) {
      if (err instanceof FlowKeyError) throw new UsageError(`${FLOW_KEY_ENV}: ${err.message}`);
      throw err;
    }
  } else {
    key = generateFlowKey();
  }
  const scratch = stateStore === undefined ? mkdtempSync(join(tmpdir(), 'mailprobe-run-flows-')) : undefined;
  try {
    const store = stateStore ?? new FileStateStore(join(scratch!, 'flows.json'));
    const specs = flows.map((f) =>
      stateStore === undefined ? { ...f.spec, waitSeconds: f.spec.maxSeconds ?? FLOW_DEFAULTS.maxSeconds } : f.spec,
    );
    return await runChecks(specs, ctx, {
      concurrency: 4,
      deps: { credentials: { env: io.env }, flow: { key, store } },
    });
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
}
