/**
 * The metrics, defined once (DESIGN.md §5). The publisher, the EMF fallback, the
 * alarms and the dashboard all import these names, units and dimensions, so a metric
 * that is published is exactly the metric that is alarmed on.
 *
 * Every custom metric (name × dimension values) is billed monthly, so the set is small.
 */
import type { CheckKind } from '../result.js';

export const DEFAULT_NAMESPACE = 'MailProbe';

/** CloudWatch's unit names (StandardUnit), as the API spells them. */
export const Unit = {
  None: 'None',
  Count: 'Count',
  Milliseconds: 'Milliseconds',
  Bits: 'Bits',
  Percent: 'Percent',
} as const;
export type MetricUnit = (typeof Unit)[keyof typeof Unit];

/** Dimension names, in the order they are sent (alarms must repeat them exactly). */
export const DIMENSION_CHECK = 'Check';
export const DIMENSION_TARGET = 'Target';
export const DIMENSION_NAMES = [DIMENSION_CHECK, DIMENSION_TARGET] as const;

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
  /** Which checks emit it. */
  readonly checks: readonly CheckKind[];
  readonly description: string;
}

export const METRICS = {
  Success: {
    name: 'Success',
    unit: Unit.Count,
    checks: ['smtp', 'tls', 'mta-sts', 'ses-account'],
    description: '1 when the result is not critical, else 0.',
  },
  Duration: {
    name: 'Duration',
    unit: Unit.Milliseconds,
    checks: ['smtp', 'tls', 'mta-sts', 'ses-account'],
    description: 'How long the check took.',
  },
  CertDaysToExpiry: {
    name: 'CertDaysToExpiry',
    // CloudWatch has no "Days" unit.
    unit: Unit.None,
    checks: ['smtp', 'tls', 'mta-sts'],
    description: 'Whole days until the earliest-expiring certificate seen (chain; policy host and MX for mta-sts).',
  },
  DhKeyBits: {
    name: 'DhKeyBits',
    unit: Unit.Bits,
    checks: ['tls'],
    description: 'Size of the DHE group the server uses; 0 when it offers no DHE suites.',
  },
  FindingCount: {
    name: 'FindingCount',
    unit: Unit.Count,
    checks: ['smtp', 'tls', 'mta-sts', 'ses-account'],
    description: 'Number of warning and critical findings.',
  },
  QuotaUsedPercent: {
    name: 'QuotaUsedPercent',
    unit: Unit.Percent,
    checks: ['ses-account'],
    description: 'Share of the SES 24-hour sending quota used.',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

export interface Dimensions {
  readonly Check: CheckKind;
  readonly Target: string;
}

/** One value of one metric for one (Check, Target). */
export interface Datum {
  readonly metric: MetricName;
  readonly value: number;
  readonly dimensions: Dimensions;
  /** When the check started: the datapoint belongs to that moment. */
  readonly timestamp: Date;
}

/** As the API wants them: `[{ Name: 'Check', Value }, { Name: 'Target', Value }]`. */
export function dimensionList(d: Dimensions): { Name: string; Value: string }[] {
  return [
    { Name: DIMENSION_CHECK, Value: d.Check },
    { Name: DIMENSION_TARGET, Value: d.Target },
  ];
}
