/**
 * Generated fleet configs for the scale tests and `npm run bench`: `endpoints` split into
 * SMTP targets (smtp + tls), SES presets (each expands to 4 SMTP endpoints) and MTA-STS
 * domains, with the default schedules.
 */
import { validateConfig } from '../../lib/config/load.js';
import type { MailProbeConfig } from '../../lib/config/schema.js';

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
