/**
 * Change detection, pure: facts taken from check results and the changes between two runs.
 * (End to end through real servers: test/cli-state.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { finding } from '../lambdas/engine/findings.js';
import type { BaseResult } from '../lambdas/engine/result.js';
import {
  changesBetween,
  changesOf,
  factsOf,
  mergeFacts,
  parseFacts,
  type Facts,
} from '../lambdas/engine/state/facts.js';

const base = { startedAt: '2026-11-23T00:00:00.000Z', durationMs: 10, status: 'ok' as const, findings: [] };
const cert = (sha256: string, issuer = 'CN=Test Intermediate') => ({
  subject: 'CN=mx.example.com',
  issuer,
  notAfter: '2027-02-01T00:00:00.000Z',
  fingerprintSha256: sha256,
});

describe('factsOf', () => {
  it('takes the policy, MX hosts and TLS-RPT record of an mta-sts result', () => {
    const result = {
      ...base,
      check: 'mta-sts',
      target: 'example.com',
      txt: { records: ['v=STSv1; id=7'], id: '7', valid: true },
      policy: {
        mode: 'enforce',
        maxAge: 604800,
        mx: ['MX2.example.com', 'mx1.example.com'],
        id: '7',
        authenticated: true,
      },
      acceptsMail: true,
      mx: [{ host: 'mx1.example.com.' }, { host: 'MX2.example.com' }],
      tlsRpt: { records: ['v=TLSRPTv1; rua=mailto:TLS@example.com'], valid: true },
    } as unknown as BaseResult;
    expect(factsOf(result)).toEqual({
      policy: { id: '7', mode: 'enforce', maxAge: 604800, mx: ['mx1.example.com', 'mx2.example.com'] },
      mx: ['mx1.example.com', 'mx2.example.com'],
      tlsRpt: ['v=TLSRPTv1; rua=mailto:TLS@example.com'],
    });
  });

  it('leaves out what the run could not observe (MX lookup failed, no policy), but records a missing TLS-RPT record', () => {
    const result = {
      ...base,
      check: 'mta-sts',
      target: 'example.com',
      mx: [],
      findings: [finding('TLSRPT_MISSING', 'no record')],
    } as unknown as BaseResult;
    expect(factsOf(result)).toEqual({ tlsRpt: [] });
  });

  it('takes the leaf certificate of smtp and tls results and the quota of ses-account', () => {
    expect(factsOf({ ...base, check: 'smtp', target: 'h:25', tls: { certificate: cert('AA') } } as BaseResult)).toEqual(
      {
        cert: {
          sha256: 'AA',
          subject: 'CN=mx.example.com',
          issuer: 'CN=Test Intermediate',
          notAfter: '2027-02-01T00:00:00.000Z',
        },
      },
    );
    expect(factsOf({ ...base, check: 'tls', target: 'h:25', certificate: cert('BB') } as BaseResult).cert?.sha256).toBe(
      'BB',
    );
    expect(factsOf({ ...base, check: 'smtp', target: 'h:25' })).toEqual({});
    const ses = {
      ...base,
      check: 'ses-account',
      target: 'eu-west-1',
      quota: { max24HourSend: 50000, maxSendRate: 14, sentLast24Hours: 3, usedPercent: 0.01 },
    };
    expect(factsOf(ses as BaseResult)).toEqual({ sesQuota: { max24HourSend: 50000, maxSendRate: 14 } });
  });
});

describe('changesBetween', () => {
  const policy = { id: '7', mode: 'enforce', maxAge: 604800, mx: ['mx1.example.com'] };

  it('reports nothing on a first run or when nothing changed', () => {
    expect(changesBetween(undefined, { policy })).toEqual([]);
    expect(changesBetween({ policy, mx: ['a'] }, { policy, mx: ['a'] })).toEqual([]);
  });

  it('tells a policy changed under the same id from one changed with its id', () => {
    const same = changesBetween({ policy }, { policy: { ...policy, maxAge: 86400 } });
    expect(same.map((c) => [c.code, c.severity])).toEqual([['MTASTS_POLICY_CHANGED_SAME_ID', 'warning']]);
    expect(same[0]!.message).toContain('max_age 604800 -> 86400');
    const bumped = changesBetween(
      { policy },
      { policy: { ...policy, id: '8', mx: ['mx1.example.com', 'mx2.example.com'] } },
    );
    expect(bumped.map((c) => [c.code, c.severity])).toEqual([['MTASTS_POLICY_CHANGED', 'info']]);
    expect(bumped[0]!.message).toContain('mx +mx2.example.com');
    // A new id alone is no change of the policy.
    expect(changesBetween({ policy }, { policy: { ...policy, id: '9' } })).toEqual([]);
  });

  it('reports enforce -> none as a downgrade as well', () => {
    const out = changesBetween({ policy }, { policy: { ...policy, id: '8', mode: 'none' } });
    expect(out.map((c) => c.code)).toEqual(['MTASTS_POLICY_CHANGED', 'MTASTS_MODE_DOWNGRADED']);
    expect(out[1]).toMatchObject({ severity: 'warning', before: { mode: 'enforce' }, after: { mode: 'none' } });
    expect(
      changesBetween({ policy: { ...policy, mode: 'testing' } }, { policy: { ...policy, id: '8', mode: 'none' } }).map(
        (c) => c.code,
      ),
    ).toEqual(['MTASTS_POLICY_CHANGED']);
  });

  it('reports MX, TLS-RPT, certificate, issuer and quota changes', () => {
    const before: Facts = {
      mx: ['mx1.example.com'],
      tlsRpt: ['v=TLSRPTv1; rua=mailto:a@example.com'],
      cert: { sha256: 'AA', subject: 'CN=a', issuer: 'CN=CA 1', notAfter: '2027-01-01' },
      sesQuota: { max24HourSend: 50000, maxSendRate: 14 },
    };
    const after: Facts = {
      mx: ['mx1.example.com', 'mx3.example.com'],
      tlsRpt: [],
      cert: { sha256: 'BB', subject: 'CN=a', issuer: 'CN=CA 2', notAfter: '2027-04-01' },
      sesQuota: { max24HourSend: 200, maxSendRate: 1 },
    };
    const out = changesBetween(before, after);
    expect(out.map((c) => [c.code, c.severity])).toEqual([
      ['MX_SET_CHANGED', 'info'],
      ['TLSRPT_CHANGED', 'info'],
      ['CERT_ROTATED', 'info'],
      ['CERT_ISSUER_CHANGED', 'info'],
      ['SES_QUOTA_LOWERED', 'warning'],
    ]);
    expect(out[0]!.message).toBe('The MX hosts changed: +mx3.example.com (now mx1.example.com, mx3.example.com).');
    expect(out[2]).toMatchObject({
      before: { subject: 'CN=a', issuer: 'CN=CA 1', notAfter: '2027-01-01', sha256: 'AA' },
      after: { subject: 'CN=a', issuer: 'CN=CA 2', notAfter: '2027-04-01', sha256: 'BB' },
    });
    // A raised quota, or unlimited (-1), is not a lowering.
    expect(
      changesBetween(
        { sesQuota: { max24HourSend: 200, maxSendRate: 1 } },
        { sesQuota: { max24HourSend: -1, maxSendRate: 1 } },
      ),
    ).toEqual([]);
    expect(
      changesBetween(
        { sesQuota: { max24HourSend: -1, maxSendRate: 1 } },
        { sesQuota: { max24HourSend: 1000, maxSendRate: 1 } },
      ).map((c) => c.code),
    ).toEqual(['SES_QUOTA_LOWERED']);
  });

  it('keeps the last observed facts through a run that could not observe them: no change reported twice', () => {
    const first: Facts = { policy, mx: ['mx1.example.com'] };
    const failedFetch: Facts = { mx: ['mx1.example.com'] };
    const kept = mergeFacts(first, failedFetch);
    expect(kept.policy).toEqual(policy);
    expect(changesBetween(kept, { policy, mx: ['mx1.example.com'] })).toEqual([]);
  });
});

describe('parseFacts', () => {
  it('accepts stored facts and refuses wrong shapes', () => {
    const facts: Facts = {
      policy: { id: '7', mode: 'enforce', maxAge: 1, mx: ['a'] },
      mx: ['a'],
      cert: { sha256: 'A', subject: 's', issuer: 'i', notAfter: 'n' },
    };
    expect(parseFacts(JSON.parse(JSON.stringify(facts)))).toEqual(facts);
    expect(parseFacts({ mx: 'a' })).toBeUndefined();
    expect(parseFacts({ policy: { id: 7 } })).toBeUndefined();
    expect(parseFacts({ sesQuota: { max24HourSend: '1' } })).toBeUndefined();
    expect(parseFacts([])).toBeUndefined();
  });
});

describe('MX certificates and the TLSA verdict', () => {
  const leaf = (sha256: string, issuer = 'CN=Test Intermediate') => ({ ...cert(sha256, issuer), subject: 'CN=mx1' });
  const stored = (sha256: string, issuer = 'CN=Test Intermediate') => ({
    sha256,
    subject: 'CN=mx1',
    issuer,
    notAfter: '2027-02-01T00:00:00.000Z',
  });
  const probe = (address: string, sha256?: string, outcome = 'passed') => ({
    address,
    outcome,
    findings: [],
    ...(sha256 === undefined ? {} : { tls: { certificate: leaf(sha256) } }),
  });
  const mtaSts = (mx: unknown[], dane?: unknown) =>
    ({
      ...base,
      check: 'mta-sts',
      target: 'example.com',
      acceptsMail: true,
      mx,
      ...(dane === undefined ? {} : { dane }),
    }) as unknown as BaseResult;
  const daneHost = (host: string, verdict: string, endpoint: Record<string, unknown>) => ({
    host,
    verdict,
    tlsa: { name: `_25._tcp.${host}`, records: [] },
    endpoints: [{ address: '192.0.2.1', starttls: true, chain: [leaf('CC')], ...endpoint }],
    findings: verdict === 'invalid' ? [finding('DANE_TLSA_MISMATCH', 'no match')] : [],
  });

  it('takes the leaves of every MX host whose probed addresses all showed one, and none of a partial host', () => {
    const facts = factsOf(
      mtaSts([
        {
          host: 'MX1.example.com.',
          probes: [probe('192.0.2.1', 'BB'), probe('192.0.2.2', 'AA'), probe('2001:db8::1', undefined, 'not-probed')],
        },
        // One address timed out: its leaves are unknown this run, not "changed".
        { host: 'mx2.example.com', probes: [probe('192.0.2.3', 'DD'), probe('192.0.2.4', undefined, 'failed')] },
        { host: 'mx3.example.com', probes: [probe('192.0.2.5', 'EE'), probe('192.0.2.6', 'EE')] },
      ]),
    );
    expect(facts.mxCerts).toEqual({
      'mx1.example.com': [stored('AA'), stored('BB')],
      'mx3.example.com': [stored('EE')],
    });
    // Without the mta-sts probes (MX probing off), the DANE endpoints give them; so does a dane result.
    const fromDane = factsOf(
      mtaSts([{ host: 'mx1.example.com', probes: [] }], {
        verdict: 'valid',
        mx: [daneHost('mx1.example.com', 'valid', {})],
      }),
    );
    expect(fromDane.mxCerts).toEqual({ 'mx1.example.com': [stored('CC')] });
    const dane = { ...base, check: 'dane', target: 'example.com', mx: [daneHost('mx1.example.com', 'valid', {})] };
    expect(factsOf(dane as unknown as BaseResult).mxCerts).toEqual({ 'mx1.example.com': [stored('CC')] });
  });

  it('keeps the leaves of a host not seen this run, and forgets the hosts that are no longer MX hosts', () => {
    const previous: Facts = { mx: ['a', 'b'], mxCerts: { a: [stored('AA')], b: [stored('BB')] } };
    expect(mergeFacts(previous, { mx: ['a', 'b'], mxCerts: { a: [stored('A2')] } }).mxCerts).toEqual({
      a: [stored('A2')],
      b: [stored('BB')],
    });
    expect(mergeFacts(previous, { mx: ['a'], mxCerts: { a: [stored('AA')] } }).mxCerts).toEqual({ a: [stored('AA')] });
    // An MX lookup that failed this run (no mx fact) keeps the previous set, and with it b.
    expect(mergeFacts(previous, {}).mxCerts).toEqual(previous.mxCerts);
  });

  it('a rotation whose key the TLSA records do not name: one critical CERT_ROTATED, "TLSA not updated", with the record to publish', () => {
    const before = factsOf(mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.1', 'AA')] }]));
    const result = mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.1', 'CC')] }], {
      verdict: 'invalid',
      mx: [
        daneHost('mx1.example.com', 'invalid', { mismatch: ['3 1 1 aa…: no match'], currentKeyRecord: '3 1 1 cc11' }),
      ],
    });
    const out = changesOf(before, result);
    expect(out.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'critical']]);
    expect(out[0]!.message).toMatch(/^MX mx1\.example\.com: certificate rotated, TLSA not updated\. Was "CN=mx1"/);
    expect(out[0]!.message).toContain('No usable TLSA record at _25._tcp.mx1.example.com matches the new certificate');
    expect(out[0]!.message).toContain('Publish `_25._tcp.mx1.example.com. IN TLSA 3 1 1 cc11`');
    expect(out[0]!.after).toMatchObject({
      host: 'mx1.example.com',
      certificates: [{ sha256: 'CC' }],
      tlsa: { verdict: 'invalid', updated: false, publish: '3 1 1 cc11' },
    });
  });

  it('a rotation to a pre-published key: CERT_ROTATED at its own severity, "TLSA updated"; no DANE: the plain wording', () => {
    const before = factsOf(mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.1', 'AA')] }]));
    const updated = changesOf(
      before,
      mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.1', 'CC')] }], {
        verdict: 'valid',
        mx: [daneHost('mx1.example.com', 'valid', { matched: { record: '3 1 1 cc11', depth: 0, subject: 'CN=mx1' } })],
      }),
    );
    expect(updated.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'info']]);
    expect(updated[0]!.message).toMatch(/^MX mx1\.example\.com: certificate rotated, TLSA updated\./);
    expect(updated[0]!.message).toContain('authenticate the new certificate (3 1 1 cc11)');
    const plain = changesOf(
      before,
      mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.1', 'CC', 'failed')] }]),
    );
    expect(plain.map((c) => c.code)).toEqual(['CERT_ROTATED']);
    expect(plain[0]!.message).toMatch(/^MX mx1\.example\.com: certificate rotated\. Was "CN=mx1"/);
    // The same leaves again, in another order of addresses: nothing.
    const two = factsOf(
      mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.1', 'AA'), probe('192.0.2.2', 'BB')] }]),
    );
    const swapped = mtaSts([{ host: 'mx1.example.com', probes: [probe('192.0.2.2', 'BB'), probe('192.0.2.1', 'AA')] }]);
    expect(changesOf(two, swapped)).toEqual([]);
  });

  it('an smtp target with dane: true words its own rotation with its TLSA verdict', () => {
    const smtp = (sha256: string, dane?: unknown) =>
      ({
        ...base,
        check: 'smtp',
        target: 'mx1.example.com:25',
        tls: { certificate: leaf(sha256) },
        ...(dane ? { dane } : {}),
      }) as unknown as BaseResult;
    const out = changesOf(
      factsOf(smtp('AA')),
      smtp('CC', daneHost('mx1.example.com', 'invalid', { mismatch: ['no match'], currentKeyRecord: '3 1 1 cc11' })),
    );
    expect(out.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'critical']]);
    expect(out[0]!.message).toMatch(/^The leaf certificate changed, TLSA not updated: was "CN=mx1"/);
    expect(out[0]!.message).toContain('defer all mail to mx1.example.com');
  });

  it('stores and reads back MX leaves, and refuses a wrong shape', () => {
    const facts: Facts = { mx: ['a'], mxCerts: { a: [stored('AA'), stored('BB', 'CN=Other')] } };
    expect(parseFacts(JSON.parse(JSON.stringify(facts)))).toEqual(facts);
    expect(parseFacts({ mxCerts: { a: 'AA' } })).toBeUndefined();
    expect(parseFacts({ mxCerts: { a: [{ sha256: 'AA' }] } })).toBeUndefined();
  });

  it('reports an MX issuer change next to the rotation', () => {
    const out = changesBetween(
      { mxCerts: { a: [stored('AA', 'CN=CA 1')] } },
      { mxCerts: { a: [stored('BB', 'CN=CA 2')] } },
    );
    expect(out.map((c) => c.code)).toEqual(['CERT_ROTATED', 'CERT_ISSUER_CHANGED']);
    expect(out[1]!.message).toBe('MX a: the certificate issuer changed from "CN=CA 1" to "CN=CA 2".');
  });
});
