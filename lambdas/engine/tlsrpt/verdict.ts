/**
 * The domain's current verdict from mailprobe's own mta-sts check, for the alert: read from the
 * probes' state table, where every run of that check records its status, as corroboration
 * (ingest.ts) reads it. One source for both, and it holds in every metrics mode (the `Success`
 * metric has no per-target series with `metrics: aggregate`). When the domain is not an mta-sts
 * target, or no run is recorded recently, the alert says so instead of guessing.
 */
import { errorFacts } from '../aws-retry.js';
import type { Verdict } from './alert.js';
import type { DayCounters } from './limits.js';
import type { DomainTarget } from './metrics.js';

export async function lookUpVerdicts(
  targets: readonly DomainTarget[],
  deps: { readonly counters: Pick<DayCounters, 'probeState'>; readonly notBefore: number },
): Promise<Map<string, Verdict>> {
  const verdicts = new Map<string, Verdict>();
  for (const t of targets) {
    if (!t.mtaSts) {
      verdicts.set(t.domain, { kind: 'none', reason: 'the domain is not an mta-sts target of the config' });
      continue;
    }
    try {
      const probe = await deps.counters.probeState('mta-sts', t.name, deps.notBefore);
      verdicts.set(
        t.domain,
        probe === undefined
          ? { kind: 'none', reason: 'no recent mta-sts run recorded' }
          : {
              kind: 'known',
              status: probe.status === 'critical' ? 'critical' : 'not critical',
              at: new Date(probe.at).toISOString(),
            },
      );
    } catch (err) {
      verdicts.set(t.domain, { kind: 'none', reason: `could not be read (${errorFacts(err).name})` });
    }
  }
  return verdicts;
}
