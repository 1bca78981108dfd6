/**
 * The monthly cost per endpoint of one config in each metrics mode (`mailprobe plan`, issue #20
 * item 3): the same targets re-planned with `metrics:` set, priced by estimateCost. A mode the
 * config cannot be deployed in (the Metrics Insights quota at 100,000 endpoints) says why.
 */
import { METRICS_MODES, type MetricsMode } from '../../lambdas/engine/metrics/definitions.js';
import { PlanError, planConfig, type Plan } from '../config/plan.js';
import type { MailProbeConfig } from '../config/schema.js';
import { estimateCost } from './model.js';

export type ModeCost =
  | { readonly metrics: MetricsMode; readonly usdPerMonth: number; readonly usdPerEndpointMonth: number }
  | { readonly metrics: MetricsMode; readonly notDeployable: string };

/**
 * Endpoints, as the cost table counts them (sample-configs.ts): each SMTP check (an SES preset
 * is four; two presets of one region are eight, each paid for), each TLS-only host, each domain
 * (its mta-sts, dane and sender-auth checks together). An SMTP target's tls check is part of
 * its endpoint; the SES account check is none.
 */
export function endpointsOf(plan: Plan): number {
  const smtpHosts = new Set(plan.targets.filter((t) => t.check === 'smtp').map((t) => t.target));
  const smtp = plan.targets.filter((t) => t.check === 'smtp').length;
  const tlsOnly = new Set(
    plan.targets.filter((t) => t.check === 'tls' && !smtpHosts.has(t.target)).map((t) => t.target),
  ).size;
  const domains = new Set(
    plan.targets
      .filter((t) => t.check === 'mta-sts' || t.check === 'dane' || t.check === 'sender-auth')
      .map((t) => t.target),
  ).size;
  return smtp + tlsOnly + domains;
}

export function costPerEndpointByMode(config: MailProbeConfig, alarmNamePrefix?: string): ModeCost[] {
  return METRICS_MODES.map((metrics) => {
    try {
      const plan = planConfig({ ...config, metrics }, alarmNamePrefix !== undefined ? { alarmNamePrefix } : {});
      const usdPerMonth = estimateCost(plan).totalUsd;
      return { metrics, usdPerMonth, usdPerEndpointMonth: usdPerMonth / Math.max(1, endpointsOf(plan)) };
    } catch (err) {
      if (err instanceof PlanError) return { metrics, notDeployable: err.problems.join('; ') };
      throw err;
    }
  });
}
