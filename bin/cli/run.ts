/** `mailprobe run`: exactly what the deployed probes run, from the config file. */
import { createResolver, dnsQueryTimeoutMs, type Resolver } from '../../lambdas/engine/net/resolver.js';
import type { ProbeContext } from '../../lambdas/engine/options.js';
import { runChecks, type CheckResult } from '../../lambdas/engine/run.js';
import { loadConfig } from '../../lib/config/load.js';
import { nameOf, planConfig, type Plan } from '../../lib/config/plan.js';
import { stringOption, UsageError, type Parsed } from './args.js';
import type { Io } from './io.js';
import { contextFrom, engineDeps, thresholdsFrom } from './options.js';
import { dnssecFromShard } from './dane.js';
import { openState, printResults } from './output.js';
import { Progress, type ProgressStream } from './progress.js';
import type { CheckSpec } from '../../lambdas/engine/checks.js';
import type { BaseResult } from '../../lambdas/engine/result.js';

export async function runCommand(parsed: Parsed, io: Io): Promise<number> {
  const state = await openState(parsed);
  const { results, shards } = await runConfig(parsed, io);
  // The shards carry each target's alert settings, as they do to the Lambda.
  return printResults(results, parsed, io, state, shards);
}

/** The same plan, shard by shard, same thresholds. */
async function runConfig(parsed: Parsed, io: Io): Promise<{ results: CheckResult[]; shards: Plan['shards'] }> {
  const { values } = parsed;
  const path = stringOption(values, 'config') ?? 'mailprobe.config.yaml';
  // A terminal usually reaches port 25: `mx: auto` probes the MX hosts here (only `never` skips them).
  const plan = planConfig(loadConfig(path), { port25Reachable: true });
  const only = (values.only as string[] | undefined) ?? [];
  const base = contextFrom(values);
  const known = new Set(plan.shards.flatMap((s) => s.specs.map((spec) => nameOf(spec))));
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
  const results: CheckResult[] = [];
  const selected = (shard: Plan['shards'][number]) =>
    only.length > 0 ? shard.specs.filter((s) => only.includes(nameOf(s))) : shard.specs;
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
  progress?.finish();
  return { results, shards: plan.shards };
}
