/**
 * `mailprobe cost [--config FILE] [--json]`: the monthly AWS cost of deploying a config,
 * itemised, with the prices and assumptions it rests on (lib/cost/).
 */
import { loadConfig } from '../../lib/config/load.js';
import { planConfig } from '../../lib/config/plan.js';
import { estimateCost, type CostEstimate } from '../../lib/cost/model.js';
import { stringOption, type Parsed } from './args.js';
import type { Io } from './io.js';

const usd = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

export function formatCost(c: CostEstimate, path: string): string {
  const width = Math.max(12, ...c.targets.map((t) => t.name.length), ...c.fixedItems.map((i) => i.item.length));
  const line = (label: string, n: number) => `  ${label.padEnd(width)}  ${usd(n).padStart(10)}`;
  return [
    `mailprobe cost: ${path} (metrics ${c.metricsMode}, alarms ${c.alarmMode}; ${c.region} prices checked ${c.pricesChecked})`,
    '',
    'Per target (its own share, each month):',
    ...c.targets.map((t) => line(`${t.name} (${t.checks.join('+')})`.slice(0, 200), t.usd)),
    '',
    'All targets, by charge:',
    ...c.items.map((i) => line(i.item, i.usd)),
    '',
    'Fixed (per stack and per shard):',
    ...c.fixedItems.map((i) => line(i.item, i.usd)),
    '',
    line('total per month', c.totalUsd),
    '',
    'Assumptions:',
    ...c.assumptions.map((a) => `  - ${a}`),
    '',
  ].join('\n');
}

export async function costCommand(parsed: Parsed, io: Io): Promise<number> {
  const path = stringOption(parsed.values, 'config') ?? 'mailprobe.config.yaml';
  const estimate = estimateCost(planConfig(loadConfig(path)));
  // `version` as in every --json document of the CLI, so scripts can tell formats apart.
  const json = () => `${JSON.stringify({ version: 1, ...estimate }, null, 2)}\n`;
  io.stdout.write(parsed.values.json === true ? json() : formatCost(estimate, path));
  return 0;
}
