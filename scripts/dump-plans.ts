/**
 * Plans and monthly cost estimates of a fixed set of configs (the example, generated fleets,
 * every alarm × metric mode over every kind) as one JSON line, for the checkout given as the
 * argument: scripts/compare-behaviour.sh runs it on two commits and diffs the output.
 *
 *   npx tsx scripts/dump-plans.ts [CHECKOUT]   (default: this repository)
 */
import { resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const { planConfig } = (await import(`${root}/lib/config/plan.js`)) as typeof import('../lib/config/plan.js');
const { fleetConfig } = (await import(
  `${root}/lib/cost/sample-configs.js`
)) as typeof import('../lib/cost/sample-configs.js');
const { loadConfig, validateConfig } = (await import(
  `${root}/lib/config/load.js`
)) as typeof import('../lib/config/load.js');
const { estimateCost } = (await import(`${root}/lib/cost/model.js`)) as typeof import('../lib/cost/model.js');
const configs: Record<string, ReturnType<typeof validateConfig>> = {
  example: loadConfig(`${root}/mailprobe.config.example.yaml`),
  fleet1000: fleetConfig(1000),
  fleet10000: fleetConfig(10000),
  fleet10000agg: fleetConfig(10000, { metrics: 'aggregate' }),
  fleet10000det: fleetConfig(10000, { metrics: 'detailed' }),
  fleet300: fleetConfig(300),
};
for (const mode of ['per-target', 'fleet', 'auto'] as const)
  for (const metrics of ['default', 'detailed', 'aggregate'] as const)
    configs[`mixed-${mode}-${metrics}`] = validateConfig({
      metrics,
      alarms: { mode },
      targets: [
        { name: 'relay', host: 'smtp.example.com', port: 587 },
        { name: 'plain', host: 'plain.example.com', port: 25, tls: 'none', checks: ['smtp'] },
        {
          name: 'submission',
          host: 'submit.example.com',
          port: 465,
          checks: ['smtp'],
          schedule: { smtp: 'rate(2 hours)' },
        },
        {
          name: 'slowtls',
          host: 'slow.example.com',
          port: 587,
          schedule: { tls: 'rate(1 hour)', smtp: 'rate(4 hours)' },
        },
        { name: 'ses-eu', ses: { region: 'eu-west-1', ports: [587, 465], account: { identities: ['example.com'] } } },
      ],
      domains: ['example.com', 'example.org'],
    });
const out: Record<string, unknown> = {};
for (const [k, c] of Object.entries(configs)) {
  try {
    const p = planConfig(c);
    out[k] = { plan: p, cost: estimateCost(p).totalUsd };
  } catch (e) {
    out[k] = String(e);
  }
}
console.log(JSON.stringify(out));
