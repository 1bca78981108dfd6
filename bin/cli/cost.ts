/**
 * `mailprobe cost [--config FILE] [--json]`: the monthly AWS cost of deploying a config,
 * itemised, with the prices and assumptions it rests on (lib/cost/).
 */
import { loadConfig } from '../../lib/config/load.js';
import { planConfig } from '../../lib/config/plan.js';
import { DEFAULT_VIEWING, estimateDashboardViewing, type DashboardViewingCost } from '../../lib/cost/dashboard.js';
import { withFlowCosts } from '../../lib/cost/flow.js';
import { estimateCost, type CostEstimate } from '../../lib/cost/model.js';
import { intOption, stringOption, type Parsed } from './args.js';
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

/** The viewing section: not part of the deployment's total, since it depends on the people looking. */
export function formatViewing(v: DashboardViewingCost, deploymentUsd: number): string {
  const width = Math.max(40, ...v.widgets.map((w) => Math.min(90, w.title.length)));
  const row = (label: string, value: string) => `  ${label.slice(0, 90).padEnd(width)}  ${value.padStart(10)}`;
  return [
    `Viewing the dashboard (${v.pattern.hoursPerDay} h a day, refreshed every ${v.pattern.refreshMinutes} min; not in the total above):`,
    ...v.widgets.map((w) => row(w.title, `${w.metrics} metric${w.metrics === 1 ? '' : 's'}`)),
    row('metrics per refresh', String(v.metricsPerRefresh)),
    row(`GetMetricData (${v.refreshesPerMonth} refreshes)`, usd(v.getMetricDataUsd)),
    row(`Logs Insights widget (${(v.logBytesPerRefresh / 1e6).toFixed(1)} MB a refresh)`, usd(v.logsInsightsUsd)),
    row('viewing per month', usd(v.usd)),
    row('total per month with viewing', usd(deploymentUsd + v.usd)),
    '',
    'Viewing assumptions:',
    ...v.assumptions.map((a) => `  - ${a}`),
    '',
  ].join('\n');
}

export async function costCommand(parsed: Parsed, io: Io): Promise<number> {
  const path = stringOption(parsed.values, 'config') ?? 'mailprobe.config.yaml';
  const pattern = {
    hoursPerDay: intOption(parsed.values, 'dashboard-hours', 0, 24, DEFAULT_VIEWING.hoursPerDay),
    refreshMinutes: intOption(parsed.values, 'dashboard-refresh', 1, 1440, DEFAULT_VIEWING.refreshMinutes),
  };
  const plan = planConfig(loadConfig(path));
  const estimate = withFlowCosts(estimateCost(plan), plan);
  const viewing = estimateDashboardViewing(plan, pattern);
  // `version` as in every --json document of the CLI, so scripts can tell formats apart.
  const json = () => `${JSON.stringify({ version: 1, ...estimate, dashboardViewing: viewing }, null, 2)}\n`;
  io.stdout.write(
    parsed.values.json === true
      ? json()
      : `${formatCost(estimate, path)}\n${formatViewing(viewing, estimate.totalUsd)}`,
  );
  return 0;
}
