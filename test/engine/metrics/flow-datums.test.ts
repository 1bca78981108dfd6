/** Delivered and DeliverySeconds from a flow result, per metric mode (definitions.ts). */
import { describe, expect, it } from 'vitest';
import { datumsForRun } from '../../../lambdas/engine/metrics/from-result.js';
import type { BaseResult } from '../../../lambdas/engine/result.js';

const at = new Date('2026-12-05T20:00:00Z');
function flowResult(delivered: 0 | 1, deliveryMs?: number): BaseResult {
  return {
    check: 'flow',
    name: 'relay-to-inbox',
    target: 'probe@a.example -> probe@b.example',
    status: delivered === 0 ? 'critical' : 'ok',
    startedAt: at.toISOString(),
    durationMs: 1200,
    findings: [],
    delivered,
    ...(deliveryMs !== undefined ? { deliveryMs } : {}),
  } as unknown as BaseResult;
}
const names = (mode: 'default' | 'detailed' | 'aggregate', r: BaseResult) =>
  datumsForRun([r], { mode, interval: '15m' }, 'flow', at)
    .filter((d) => d.dimensions.Target !== undefined)
    .map((d) => `${d.metric}=${d.value}`);

describe('flow metrics', () => {
  it('publishes Delivered and DeliverySeconds (seconds, from ms) in the default mode', () => {
    expect(names('default', flowResult(1, 42_500))).toEqual(['Success=1', 'Delivered=1', 'DeliverySeconds=42.5']);
  });
  it('publishes Delivered 0 for a lost message, and no DeliverySeconds when nothing was settled', () => {
    expect(names('default', flowResult(0))).toEqual(['Success=0', 'Delivered=0']);
  });
  it('keeps Delivered in aggregate mode (its alarm pages on a lost message), nothing else per target', () => {
    expect(names('aggregate', flowResult(0, 1000))).toEqual(['Delivered=0']);
  });
  it('never publishes Delivered for other kinds, whatever a result carries', () => {
    const smtp = { ...flowResult(1, 1000), check: 'smtp' } as BaseResult;
    const got = datumsForRun([smtp], { mode: 'aggregate', interval: '5m' }, 'smtp', at);
    expect(got.filter((d) => d.dimensions.Target !== undefined)).toEqual([]);
  });
});
