import { describe, expect, it } from 'vitest';
import type { Status } from '../../../lambdas/engine/findings.js';
import type { AlertPolicy, AlertHistory, Decision, Observation } from '../../../lambdas/engine/alerts/transitions.js';
import { codesFingerprint, decide, transitionKind } from '../../../lambdas/engine/alerts/transitions.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-23T00:00:00.000Z');
const POLICY: AlertPolicy = { holdCount: 2, reminderIntervalMs: 24 * HOUR };
const AUTH = codesFingerprint(['AUTH_FAILED']);
const CERT = codesFingerprint(['CERT_EXPIRED']);

/** A status, with its critical codes, and whether the run also found a change of the facts. */
type Step = Status | [Status, number] | [Status, number, 'changed'];

/** Runs the decision over a sequence of runs 5 minutes apart, as the state store would. */
function run(steps: readonly Step[], policy: AlertPolicy = POLICY, every = 5 * MIN): Decision[] {
  let state: AlertHistory | undefined;
  return steps.map((step, i) => {
    const [status, codes, changed] = typeof step === 'string' ? [step, step === 'critical' ? AUTH : 0] : step;
    const observation: Observation = { at: T0 + i * every, status, codes };
    const decision = decide(observation, state, policy, { explained: changed === 'changed' });
    state = decision.state;
    return decision;
  });
}

function sent(decisions: readonly Decision[]): string[] {
  return decisions.flatMap((d, i) => (d.send ? [`${i}:${d.transition!.kind}:${d.transition!.previousStatus}`] : []));
}

describe('decide', () => {
  it('announces ok -> critical after the hold count, once, and the recovery once', () => {
    const decisions = run(['ok', 'ok', 'critical', 'critical', 'critical', 'critical', 'ok', 'ok', 'ok']);
    expect(sent(decisions)).toEqual(['3:raised:ok', '7:resolved:critical']);
    expect(decisions[3]!.transition!.failingSince).toBe(T0 + 2 * 5 * MIN);
    // The recovery says since when it had been failing.
    expect(decisions[7]!.transition!.failingSince).toBe(T0 + 2 * 5 * MIN);
  });

  it('sends nothing for a flapping target or a single failed run', () => {
    expect(sent(run(['ok', 'critical', 'ok', 'critical', 'ok', 'critical', 'ok', 'critical']))).toEqual([]);
    expect(sent(run(['ok', 'ok', 'critical', 'ok', 'ok', 'warning', 'ok']))).toEqual([]);
  });

  it('honours a larger hold count and a hold count of 1', () => {
    const steps: Step[] = ['ok', 'critical', 'critical', 'critical', 'ok'];
    expect(sent(run(steps, { ...POLICY, holdCount: 3 }))).toEqual(['3:raised:ok']);
    expect(sent(run(steps, { ...POLICY, holdCount: 1 }))).toEqual(['1:raised:ok', '4:resolved:critical']);
  });

  it('announces ok -> warning -> critical -> warning as raised, escalated, lowered', () => {
    const decisions = run(['ok', 'warning', 'warning', 'critical', 'critical', 'warning', 'warning']);
    expect(sent(decisions)).toEqual(['2:raised:ok', '4:escalated:warning', '6:lowered:critical']);
    // Escalation does not restart the failure.
    expect(decisions[4]!.transition!.failingSince).toBe(T0 + 5 * MIN);
  });

  it('announces a change of the critical codes once it holds, but not a one-run change', () => {
    const steps: Step[] = [
      ['critical', AUTH],
      ['critical', AUTH],
      ['critical', CERT],
      ['critical', AUTH],
      ['critical', CERT],
      ['critical', CERT],
      ['critical', CERT],
    ];
    expect(sent(run(steps))).toEqual(['1:raised:ok', '5:changed:critical']);
  });

  it('reminds every interval while critical, and not while ok', () => {
    const hourly = (n: number, status: Status) => Array.from({ length: n }, () => status);
    const decisions = run(
      [...hourly(50, 'critical'), ...hourly(30, 'ok')],
      { holdCount: 2, reminderIntervalMs: 24 * HOUR },
      HOUR,
    );
    expect(sent(decisions)).toEqual([
      '1:raised:ok',
      '25:reminder:critical',
      '49:reminder:critical',
      '51:resolved:critical',
    ]);
    expect(decisions[25]!.transition!.failingSince).toBe(T0);
    expect(sent(run(hourly(50, 'critical'), { holdCount: 2, reminderIntervalMs: 0 }, HOUR))).toEqual(['1:raised:ok']);
  });

  it('keeps a change pending when its message was not published, so the next run sends it', () => {
    let state: AlertHistory | undefined;
    const outcomes: boolean[] = [];
    ['ok', 'ok', 'critical', 'critical', 'critical', 'critical'].forEach((status, i) => {
      const d = decide(
        { at: T0 + i * MIN, status: status as Status, codes: status === 'critical' ? AUTH : 0 },
        state,
        POLICY,
      );
      outcomes.push(d.send);
      // The first attempt to publish fails.
      state = d.send && i === 3 ? d.unsentState : d.state;
    });
    expect(outcomes).toEqual([false, false, false, true, true, false]);
  });

  it('announces a new status at once when the same run found a change of the facts (its cause), once', () => {
    const TLSA = codesFingerprint(['DANE_TLSA_MISMATCH']);
    // Hourly runs, hold 2: the certificate is rotated at run 2 and the TLSA record was not updated.
    const decisions = run(
      ['ok', 'ok', ['critical', TLSA, 'changed'], ['critical', TLSA], ['critical', TLSA], ['ok', 0], ['ok', 0]],
      POLICY,
      HOUR,
    );
    expect(sent(decisions)).toEqual(['2:raised:ok', '6:resolved:critical']);
    expect(decisions[2]!.transition!.failingSince).toBe(T0 + 2 * HOUR);
    // A renewal that ends a failure (an expired certificate replaced) is announced with it too.
    const renewed = run([['critical', CERT], ['critical', CERT], ['ok', 0, 'changed'], 'ok', 'ok']);
    expect(sent(renewed)).toEqual(['1:raised:ok', '2:resolved:critical']);
    // A change that leaves the status as announced is no status alert (the change notice covers it).
    expect(sent(run(['ok', 'ok', ['ok', 0, 'changed'], 'ok']))).toEqual([]);
  });

  it('dates a failure from its first failing run, explained or held', () => {
    const TLSA = codesFingerprint(['DANE_TLSA_MISMATCH']);
    // Hold 4: a pending warning (a single TLSA record), then the rotation that breaks DANE.
    const explained = run(['ok', ['warning', 0], ['critical', TLSA, 'changed'], ['critical', TLSA]], {
      ...POLICY,
      holdCount: 4,
    });
    expect(sent(explained)).toEqual(['2:raised:ok']);
    expect(explained[2]!.transition!.failingSince).toBe(T0 + 5 * MIN);
    // ok, warning, critical, critical: raised at the hold, failing since the warning run.
    const held = run(['ok', 'warning', ['critical', TLSA], ['critical', TLSA]]);
    expect(sent(held)).toEqual(['3:raised:ok']);
    expect(held[3]!.transition!.failingSince).toBe(T0 + 5 * MIN);
  });

  it('pages for a new target that is critical from its first runs', () => {
    expect(sent(run(['critical', 'critical', 'critical']))).toEqual(['1:raised:ok']);
    expect(sent(run(['ok', 'ok', 'ok']))).toEqual([]);
  });

  it('names transitions', () => {
    expect(transitionKind('ok', 'critical')).toBe('raised');
    expect(transitionKind('warning', 'critical')).toBe('escalated');
    expect(transitionKind('critical', 'warning')).toBe('lowered');
    expect(transitionKind('critical', 'critical')).toBe('changed');
    expect(transitionKind('warning', 'ok')).toBe('resolved');
  });
});

describe('codesFingerprint', () => {
  it('ignores order and duplicates, reserves 0 for none and fits 20 bits', () => {
    expect(codesFingerprint([])).toBe(0);
    expect(codesFingerprint(['CERT_EXPIRED', 'AUTH_WITHHELD'])).toBe(
      codesFingerprint(['AUTH_WITHHELD', 'CERT_EXPIRED', 'CERT_EXPIRED']),
    );
    expect(codesFingerprint(['CERT_EXPIRED'])).not.toBe(codesFingerprint(['CERT_UNTRUSTED']));
    for (const codes of [['AUTH_FAILED'], ['CERT_EXPIRED', 'AUTH_WITHHELD'], ['DNS_ERROR']]) {
      const fp = codesFingerprint(codes);
      expect(fp).toBeGreaterThan(0);
      expect(fp).toBeLessThan(2 ** 20);
    }
  });
});
