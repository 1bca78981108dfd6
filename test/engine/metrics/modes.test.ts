import { describe, expect, it } from 'vitest';
import { finding } from '../../../lambdas/engine/findings.js';
import { dimensionList } from '../../../lambdas/engine/metrics/definitions.js';
import { datumsForRun } from '../../../lambdas/engine/metrics/from-result.js';
import { toEmfLines, toMetricDatum } from '../../../lambdas/engine/metrics/publisher.js';
import type { BaseResult } from '../../../lambdas/engine/result.js';
import { parseShardEvent, ShardEventError } from '../../../lambdas/engine/shard/event.js';

const at = new Date('2026-11-23T12:00:00.000Z');
const run = new Date('2026-11-23T12:00:01.000Z');

/** A tls result with a certificate (20 days) and a 1024-bit DH group, and a critical one without. */
const results: BaseResult[] = [
  {
    check: 'tls',
    target: 'a.example.com:587',
    name: 'a',
    status: 'warning',
    startedAt: at.toISOString(),
    durationMs: 900,
    findings: [finding('DH_WEAK', '1024 bits')],
    ...({ dh: { bits: 1024 }, chain: [{ subject: 'CN=a', notAfter: '2026-12-13', daysToExpiry: 20 }] } as object),
  },
  {
    check: 'tls',
    target: 'b.example.com:587',
    name: 'b',
    status: 'critical',
    startedAt: at.toISOString(),
    durationMs: 15000,
    findings: [finding('CONNECT_TIMEOUT', 'no answer')],
  },
];

const names = (datums: ReturnType<typeof datumsForRun>) =>
  datums.map((d) => `${d.metric}${d.dimensions.Target ? `:${d.dimensions.Target}` : ''}=${d.value}`);

describe('metric modes', () => {
  it('default: per target only what alarms read, plus the reporting count', () => {
    const datums = datumsForRun(results, { mode: 'default', interval: '6h' }, 'tls', run);
    expect(names(datums)).toEqual([
      'Success:a=1',
      'CertDaysToExpiry:a=20',
      'DhKeyBits:a=1024',
      'Success:b=0',
      'TargetsReporting=2',
    ]);
    const reporting = datums.at(-1)!;
    expect(dimensionList(reporting.dimensions)).toEqual([
      { Name: 'Check', Value: 'tls' },
      { Name: 'Interval', Value: '6h' },
    ]);
    // Stamped with the run's start, so each run falls into its own period.
    expect(reporting.timestamp).toEqual(run);
  });

  it('default with an omitted metric and an alarm group: AlarmGroup between Check and Target', () => {
    const datums = datumsForRun(
      results,
      { mode: 'default', interval: '6h', group: 'tls-6h-g1', omit: ['CertDaysToExpiry'] },
      'tls',
      run,
    );
    expect(names(datums)).toEqual(['Success:a=1', 'DhKeyBits:a=1024', 'Success:b=0', 'TargetsReporting=2']);
    expect(toMetricDatum(datums[0]!).Dimensions).toEqual([
      { Name: 'Check', Value: 'tls' },
      { Name: 'AlarmGroup', Value: 'tls-6h-g1' },
      { Name: 'Target', Value: 'a' },
    ]);
    // The EMF fallback declares the same dimension set, so the metric is the same one.
    const emf = JSON.parse(toEmfLines('MailProbe', datums.slice(0, 2))[0]!);
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Check', 'AlarmGroup', 'Target']]);
    expect(emf).toMatchObject({ Check: 'tls', AlarmGroup: 'tls-6h-g1', Target: 'a', Success: 1, DhKeyBits: 1024 });
  });

  it('detailed: also Duration, FindingCount and the per-status counts', () => {
    const datums = datumsForRun(results, { mode: 'detailed', interval: '6h' }, 'tls', run);
    expect(names(datums)).toEqual([
      'Success:a=1',
      'Duration:a=900',
      'FindingCount:a=1',
      'CertDaysToExpiry:a=20',
      'DhKeyBits:a=1024',
      'Success:b=0',
      'Duration:b=15000',
      'FindingCount:b=1',
      'TargetsReporting=2',
      'TargetsOk=0',
      'TargetsWarning=1',
      'TargetsCritical=1',
    ]);
  });

  it('aggregate: no per-target metric at all, only the counts per kind', () => {
    const datums = datumsForRun(results, { mode: 'aggregate', interval: '6h' }, 'tls', run);
    expect(names(datums)).toEqual(['TargetsReporting=2', 'TargetsOk=0', 'TargetsWarning=1', 'TargetsCritical=1']);
    expect(datums.every((d) => d.dimensions.Target === undefined)).toBe(true);
  });

  it('a shard without settings publishes every per-target metric and no counts (older shards, tests)', () => {
    expect(names(datumsForRun(results, undefined, 'tls', run))).toHaveLength(8);
  });

  it('the shard event refuses malformed metric settings', () => {
    const shard = {
      version: 1,
      shard: 'tls-6h-1',
      check: 'tls',
      schedule: 'rate(6 hours)',
      specs: [],
      thresholds: { warnDays: 30, criticalDays: 7, minDhBits: 2048 },
      allowPrivate: false,
      concurrency: 8,
    };
    expect(parseShardEvent({ ...shard, metrics: { mode: 'aggregate', interval: '6h' } }, 'tls').metrics).toEqual({
      mode: 'aggregate',
      interval: '6h',
    });
    expect(() => parseShardEvent({ ...shard, metrics: { mode: 'everything', interval: '6h' } }, 'tls')).toThrow(
      ShardEventError,
    );
    expect(() => parseShardEvent({ ...shard, metrics: { mode: 'default' } }, 'tls')).toThrow(/metrics must hold mode/);
  });
});
