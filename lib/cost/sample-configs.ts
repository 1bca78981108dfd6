/**
 * The configs the README's cost table prices, the scale tests synthesize and
 * `npm run bench` measures. `fleetConfig(n)`: n endpoints split into SMTP targets
 * (smtp + tls), SES presets (each expands to 4 SMTP endpoints) and MTA-STS domains,
 * with the default schedules.
 */
import { validateConfig } from '../config/load.js';
import type { MailProbeConfig } from '../config/schema.js';

const SES_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];

export function fleetConfig(
  endpoints: number,
  extra: Partial<Pick<MailProbeConfig, 'metrics' | 'alarms' | 'vpc'>> = {},
): MailProbeConfig {
  const sesPresets = Math.max(1, Math.floor(endpoints / 100));
  const domains = Math.max(1, Math.floor(endpoints * 0.36));
  const smtp = Math.max(1, endpoints - domains - sesPresets * 4);
  const pad = (i: number) => String(i).padStart(5, '0');
  return validateConfig({
    ...extra,
    targets: [
      ...Array.from({ length: smtp }, (_, i) => ({
        name: `relay-${pad(i)}`,
        host: `smtp${i}.example.com`,
        port: 587,
      })),
      ...Array.from({ length: sesPresets }, (_, i) => ({
        name: `ses-${pad(i)}`,
        ses: { region: SES_REGIONS[i % SES_REGIONS.length]! },
      })),
    ],
    domains: Array.from({ length: domains }, (_, i) => `d${pad(i)}.example.org`),
    alerting: { email: ['oncall@example.com'] },
  });
}

/**
 * The fleet as the scale tests and the bench deploy it: from 100,000 endpoints with metrics:
 * aggregate, since default metrics would need 693 Metrics Insights alarms there, over the
 * account's quota of 200 per region (a quota no split into stacks lifts; the plan says so).
 */
export function scaleFleetConfig(endpoints: number): MailProbeConfig {
  return endpoints >= 100_000 ? fleetConfig(endpoints, { metrics: 'aggregate' }) : fleetConfig(endpoints);
}

/** One SMTP endpoint: smtp every 5 minutes, tls every 6 hours (the unit of cost). */
export function smtpEndpointConfig(extra: Partial<Pick<MailProbeConfig, 'metrics' | 'alarms'>> = {}): MailProbeConfig {
  return validateConfig({ ...extra, targets: [{ name: 'relay', host: 'smtp.example.com', port: 587 }] });
}

/** One MTA-STS domain, hourly, no VPC (MX hosts not probed). */
export function domainConfig(extra: Partial<Pick<MailProbeConfig, 'metrics' | 'alarms'>> = {}): MailProbeConfig {
  return validateConfig({ ...extra, domains: ['example.com'] });
}

/** One SES preset: 4 SMTP endpoints and 2 tls checks. */
export function sesPresetConfig(extra: Partial<Pick<MailProbeConfig, 'metrics' | 'alarms'>> = {}): MailProbeConfig {
  return validateConfig({ ...extra, targets: [{ ses: { region: 'eu-west-1' } }] });
}
