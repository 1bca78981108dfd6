/**
 * `mailprobe plan [--config FILE]`: how a config's checks are spread over shards and
 * invocations, what each stack will hold (the root and, for a fleet one stack cannot hold, the
 * nested shard stacks and alarm stacks), and the monthly cost per endpoint in each metrics mode, before any `cdk synth`.
 */
import { loadConfig } from '../../lib/config/load.js';
import type { FlowPlan } from '../../lib/config/flow-plan.js';
import { planConfig } from '../../lib/config/plan.js';
import { stackLayoutsOf } from '../../lib/config/shard-stacks.js';
import { summarizePlan } from '../../lib/config/summary.js';
import { costPerEndpointByMode, endpointsOf } from '../../lib/cost/per-endpoint.js';
import { fleetAlarmGroups } from '../../lib/monitoring/alarm-layout.js';
import type { StackSize } from '../../lib/template-limits.js';
import { stringOption, type Parsed } from './args.js';
import type { Io } from './io.js';

/** The flows' line: deployed by the flow function, one schedule each, and how a lost message pages. */
function flowLine(flows: FlowPlan): string {
  const each = flows.flows.map((f) => `${f.name} every ${f.interval}`).join(', ');
  const paging = flows.alarmLayout === 'insights' ? 'one Metrics Insights alarm over all flows' : 'one alarm per flow';
  return `flows: ${flows.flows.length} deployed (flow function, one schedule each: ${each}); a lost message pages through ${paging}`;
}

export async function planCommand(parsed: Parsed, io: Io): Promise<number> {
  const path = stringOption(parsed.values, 'config') ?? 'mailprobe.config.yaml';
  const config = loadConfig(path);
  const plan = planConfig(config);
  const s = summarizePlan(plan);
  // Measured, not estimated: the template offline as cdk synth makes it (issue #20). That needs
  // aws-cdk-lib, an optional peer dependency: a CLI installed without it still plans, and says so.
  const limits = await import('../../lib/template-limits.js').catch((err: unknown) => {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  });
  const stacks: StackSize[] = limits?.synthSizes(plan) ?? [];
  const problems = limits?.templateLimitProblems(stacks) ?? [];
  // Probe runs and heartbeats: what Lambda and the Scheduler are billed for.
  const invocationsPerHour =
    Math.round(s.kinds.reduce((n, k) => n + k.invocationsPerHour + k.heartbeatsPerHour, 0) * 100) / 100;
  const endpoints = endpointsOf(plan);
  const costs = costPerEndpointByMode(config);
  const layouts = stackLayoutsOf(
    plan.shards,
    plan.estimate.resources,
    fleetAlarmGroups(plan.alarmGroups, plan.alarmMode, plan.metricsMode),
  );
  const shardStacks = layouts.shards.stacks;
  const alarmStacks = layouts.alarms.stacks;
  if (parsed.values.json === true) {
    const flows = plan.flows?.flows;
    io.stdout.write(
      `${JSON.stringify({ version: 1, ...s, ...(flows ? { flows } : {}), endpoints, invocationsPerHour, shardStacks, alarmStacks, stacks, costPerEndpoint: costs }, null, 2)}\n`,
    );
    return problems.length > 0 ? 2 : 0;
  }
  const rows = [
    [
      'check',
      'shards',
      'checks',
      'invocations/h',
      'heartbeats/h',
      'concurrency',
      'memory MB',
      'run (typical)',
      'run (worst)',
    ],
    ...s.kinds.map((k) => [
      k.check,
      String(k.shards),
      String(k.checks),
      String(k.invocationsPerHour),
      String(k.heartbeatsPerHour),
      String(k.concurrency),
      String(k.memoryMb),
      `${k.expectedRunSeconds} s`,
      `${k.worstRunSeconds} s`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  io.stdout.write(
    [
      `mailprobe plan: ${path}`,
      ...lines,
      '',
      `function timeout ${s.functionTimeoutSeconds} s; metrics: ${s.metricsMode}; alarms: ${s.alarmMode}`,
      `alarms: ${s.alarms.perTarget} per target, ${s.alarms.insights} Metrics Insights, ${s.alarms.other} reporting/per-kind/function`,
      `about ${s.estimatedResources} CloudFormation resources (limit 500 per stack)${shardStacks > 0 ? `: the schedules in ${shardStacks} nested shard stacks,${alarmStacks > 0 ? ` the fleet alarms in ${alarmStacks} nested alarm stacks,` : ''} the rest in the root` : ''}`,
      `${endpoints} endpoints, ${invocationsPerHour} invocations per hour (probe runs and heartbeats)`,
      ...costs.map((c) =>
        'notDeployable' in c
          ? `metrics ${c.metrics}: not deployable: ${c.notDeployable}`
          : `metrics ${c.metrics}: $${c.usdPerEndpointMonth.toFixed(4)} per endpoint a month ($${c.usdPerMonth.toFixed(2)} in all)${c.metrics === s.metricsMode ? ' (this config)' : ''}`,
      ),
      ...(plan.flows ? [flowLine(plan.flows)] : []),
      ...(limits === undefined
        ? ['template sizes not measured: install aws-cdk-lib (npm install aws-cdk-lib constructs) to measure them']
        : stacks.map(
            (t) =>
              `stack ${t.stack}: template ${t.bytes} bytes (limit ${limits.CFN_MAX_TEMPLATE_BYTES}), ${t.resources} resources (limit 500), ${t.outputs} outputs (limit 200), ${t.parameters} parameters (limit 200)`,
          )),
      '',
    ].join('\n'),
  );
  if (problems.length > 0) {
    io.stderr.write(`${problems.map((p) => `mailprobe: ${p}`).join('\n')}\n`);
    return 2;
  }
  return 0;
}
