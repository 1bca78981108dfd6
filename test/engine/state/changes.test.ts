/**
 * Change detection, pure: facts taken from check results and the changes between two runs.
 * (End to end through real servers: test/cli/state.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { finding } from '../../../lambdas/engine/findings.js';
import type { BaseResult } from '../../../lambdas/engine/result.js';
import { MAX_ADDRESSES, MAX_HOSTS, MAX_SEEN } from '../../../lambdas/engine/state/cert-facts.js';
import {
  changesBetween,
  changesOf,
  factsOf,
  mergeFacts,
  parseFacts,
  type Facts,
} from '../../../lambdas/engine/state/facts.js';

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
  const stored = (sha256: string, seen: string[] = [sha256], issuer = 'CN=Test Intermediate') => ({
    sha256,
    subject: 'CN=mx1',
    issuer,
    notAfter: '2027-02-01T00:00:00.000Z',
    seen,
  });
  const observed = (sha256: string) => {
    const { seen: _seen, ...rest } = stored(sha256);
    return rest;
  };
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
  const host = (name: string, ...probes: ReturnType<typeof probe>[]) => ({
    host: name,
    addresses: probes.map((p) => p.address),
    probes,
  });
  /** A DANE host report: each endpoint [address, leaf fingerprint, extra]. */
  const daneHost = (name: string, verdict: string, endpoints: [string, string, Record<string, unknown>][]) => ({
    host: name,
    verdict,
    tlsa: { name: `_25._tcp.${name}`, records: [] },
    endpoints: endpoints.map(([address, sha, extra]) => ({ address, starttls: true, chain: [leaf(sha)], ...extra })),
    findings: verdict === 'invalid' ? [finding('DANE_TLSA_MISMATCH', 'no match')] : [],
  });
  /** Two runs of a result, through the store's merge: the changes the second one brings. */
  const across = (first: BaseResult, second: BaseResult) => changesOf(mergeFacts(undefined, factsOf(first)), second);

  it('takes the leaf of every address of every MX host; an address without one is null', () => {
    const facts = factsOf(
      mtaSts([
        host(
          'MX1.example.com.',
          probe('192.0.2.1', 'BB'),
          probe('192.0.2.2', 'AA'),
          probe('2001:db8::1', undefined, 'not-probed'),
        ),
        host('mx2.example.com', probe('192.0.2.3', 'DD'), probe('192.0.2.4', undefined, 'failed')),
      ]),
    );
    expect(facts.mxCerts).toEqual({
      'mx1.example.com': { '192.0.2.1': observed('BB'), '192.0.2.2': observed('AA'), '2001:db8::1': null },
      'mx2.example.com': { '192.0.2.3': observed('DD'), '192.0.2.4': null },
    });
    // A dane result: its endpoints, and its MX hosts so that hosts that left are forgotten.
    const dane = {
      ...base,
      check: 'dane',
      target: 'example.com',
      mx: [daneHost('mx1.example.com', 'valid', [['192.0.2.1', 'CC', {}]])],
    };
    expect(factsOf(dane as unknown as BaseResult)).toMatchObject({
      mx: ['mx1.example.com'],
      mxCerts: { 'mx1.example.com': { '192.0.2.1': expect.objectContaining({ sha256: 'CC' }) } },
    });
  });

  it('compares address by address: one that timed out or never answers hides nothing on the others', () => {
    const first = mtaSts([host('mx1.example.com', probe('192.0.2.1', 'AA'), probe('192.0.2.2', 'BB'))]);
    // .2 ran out of time this run; .1 rotated.
    const second = mtaSts([
      host('mx1.example.com', probe('192.0.2.1', 'CC'), probe('192.0.2.2', undefined, 'not-probed')),
    ]);
    const out = across(first, second);
    expect(out.map((c) => c.code)).toEqual(['CERT_ROTATED']);
    expect(out[0]!.message).toMatch(/^MX mx1\.example\.com: certificate rotated \(192\.0\.2\.1\)\. Was "CN=mx1"/);
    // The address not seen keeps its leaf; one gone from DNS is forgotten.
    const kept = mergeFacts(mergeFacts(undefined, factsOf(first)), factsOf(second));
    expect(Object.keys(kept.mxCerts!['mx1.example.com']!)).toEqual(['192.0.2.1', '192.0.2.2']);
    const moved = mergeFacts(kept, factsOf(mtaSts([host('mx1.example.com', probe('192.0.2.9', 'CC'))])));
    expect(Object.keys(moved.mxCerts!['mx1.example.com']!)).toEqual(['192.0.2.9']);
  });

  it('a load-balanced pool showing two certificates by turns reports each once, not a rotation per run', () => {
    let facts = mergeFacts(undefined, factsOf(mtaSts([host('mx1.example.com', probe('192.0.2.1', 'AA'))])));
    const reported: string[] = [];
    for (const sha of ['BB', 'AA', 'BB', 'AA', 'CC', 'AA']) {
      const result = mtaSts([host('mx1.example.com', probe('192.0.2.1', sha))]);
      reported.push(...changesOf(facts, result).map((c) => `${c.code}:${sha}`));
      facts = mergeFacts(facts, factsOf(result));
    }
    expect(reported).toEqual(['CERT_ROTATED:BB', 'CERT_ROTATED:CC']);
    // The same for an smtp target's leaf.
    const smtp = (sha: string) =>
      ({ ...base, check: 'smtp', target: 'h:25', tls: { certificate: leaf(sha) } }) as BaseResult;
    let single = mergeFacts(undefined, factsOf(smtp('AA')));
    const once: string[] = [];
    for (const sha of ['BB', 'AA', 'BB']) {
      once.push(...changesOf(single, smtp(sha)).map((c) => `${c.code}:${sha}`));
      single = mergeFacts(single, factsOf(smtp(sha)));
    }
    expect(once).toEqual(['CERT_ROTATED:BB']);
  });

  it('forgets the hosts that are no longer MX hosts, keeps a host not seen this run, and prefers this run at the cap', () => {
    const previous: Facts = {
      mx: ['a', 'b'],
      mxCerts: { a: { '192.0.2.1': stored('AA') }, b: { '192.0.2.2': stored('BB') } },
    };
    expect(
      mergeFacts(previous, { mx: ['a', 'b'], mxCerts: { a: { '192.0.2.1': stored('A2', ['A2']) } } }).mxCerts,
    ).toEqual({
      a: { '192.0.2.1': stored('A2', ['A2', 'AA']) },
      b: { '192.0.2.2': stored('BB') },
    });
    expect(mergeFacts(previous, { mx: ['a'], mxCerts: { a: { '192.0.2.1': stored('AA') } } }).mxCerts).toEqual({
      a: { '192.0.2.1': stored('AA') },
    });
    expect(mergeFacts(previous, {}).mxCerts).toEqual(previous.mxCerts);
    const many = Object.fromEntries(
      Array.from({ length: MAX_HOSTS }, (_, i) => [`old${i}`, { '192.0.2.1': stored('AA') }]),
    );
    const merged = mergeFacts({ mxCerts: many }, { mxCerts: { fresh: { '192.0.2.1': stored('FF') } } });
    expect(Object.keys(merged.mxCerts!)).toHaveLength(MAX_HOSTS);
    expect(merged.mxCerts!['fresh']).toBeDefined();
  });

  it('at every cap, with hostile names and certificates, the stored MX leaves stay under 32 KiB', () => {
    const long = 'x'.repeat(5_000);
    const hostile = (i: number) => ({
      ...cert(`${'F'.repeat(200)}${i}`),
      subject: `CN=${long}`,
      issuer: `CN=${long}é`,
    });
    const reports = Array.from({ length: MAX_HOSTS + 10 }, (_, h) =>
      host(
        `mx${h}.${'d'.repeat(200)}.example`,
        ...Array.from({ length: MAX_ADDRESSES + 4 }, (_, a) => ({
          address: `2001:db8:ffff:ffff:ffff:ffff:${h.toString(16)}:${a.toString(16)}`,
          outcome: 'passed',
          findings: [],
          tls: { certificate: hostile(h * 100 + a) },
        })),
      ),
    );
    // Enough runs with new leaves each time to fill every address's list of recent fingerprints.
    let facts: Facts | undefined;
    for (let run = 0; run <= MAX_SEEN; run++) {
      const result = mtaSts(
        reports.map((r) => ({
          ...r,
          probes: r.probes.map((p, i) => ({ ...p, tls: { certificate: hostile(run * 10_000 + i) } })),
        })),
      );
      facts = mergeFacts(facts, factsOf(result));
    }
    const json = JSON.stringify(facts!.mxCerts);
    expect(Object.keys(facts!.mxCerts!)).toHaveLength(MAX_HOSTS);
    expect(Buffer.byteLength(json)).toBeLessThan(32 * 1024);
  });

  it('a rotation whose key the TLSA records do not name: one critical CERT_ROTATED, "TLSA not updated", with the record to publish', () => {
    const first = mtaSts([host('mx1.example.com', probe('192.0.2.1', 'AA'))]);
    const second = mtaSts([host('mx1.example.com', probe('192.0.2.1', 'CC'))], {
      verdict: 'invalid',
      mx: [
        daneHost('mx1.example.com', 'invalid', [
          ['192.0.2.1', 'CC', { mismatch: ['no match'], currentKeyRecord: '3 1 1 cc11' }],
        ]),
      ],
    });
    const out = across(first, second);
    expect(out.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'critical']]);
    expect(out[0]!.message).toMatch(
      /^MX mx1\.example\.com: certificate rotated, TLSA not updated \(192\.0\.2\.1\)\. Was "CN=mx1"/,
    );
    expect(out[0]!.message).toContain('No usable TLSA record at _25._tcp.mx1.example.com matches the new certificate');
    expect(out[0]!.message).toContain('Publish `_25._tcp.mx1.example.com. IN TLSA 3 1 1 cc11`');
    expect(out[0]!.after).toMatchObject({
      host: 'mx1.example.com',
      certificates: [{ sha256: 'CC' }],
      tlsa: { verdict: 'invalid', updated: false, publish: '3 1 1 cc11' },
    });
  });

  it('judges the new certificate only: another address that already mismatched does not make a good rotation critical', () => {
    const first = mtaSts([host('mx1.example.com', probe('192.0.2.1', 'AA'), probe('192.0.2.2', 'OLD'))]);
    const second = mtaSts([host('mx1.example.com', probe('192.0.2.1', 'NEW'), probe('192.0.2.2', 'OLD'))], {
      verdict: 'invalid',
      mx: [
        daneHost('mx1.example.com', 'invalid', [
          ['192.0.2.1', 'NEW', { matched: { record: '3 1 1 new1', depth: 0, subject: 'CN=mx1' } }],
          ['192.0.2.2', 'OLD', { mismatch: ['no match'], currentKeyRecord: '3 1 1 old1' }],
        ]),
      ],
    });
    const out = across(first, second);
    expect(out.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'info']]);
    expect(out[0]!.message).toContain('certificate rotated, TLSA updated (192.0.2.1)');
    expect(out[0]!.message).not.toContain('old1');
  });

  it('a rotation to a pre-published key is info, "TLSA updated"; an invalid verdict for other reasons is not critical; no DANE: plain', () => {
    const first = mtaSts([host('mx1.example.com', probe('192.0.2.1', 'AA'))]);
    const updated = across(
      first,
      mtaSts([host('mx1.example.com', probe('192.0.2.1', 'CC'))], {
        verdict: 'valid',
        mx: [
          daneHost('mx1.example.com', 'valid', [['192.0.2.1', 'CC', { matched: { record: '3 1 1 cc11', depth: 0 } }]]),
        ],
      }),
    );
    expect(updated.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'info']]);
    expect(updated[0]!.message).toContain('authenticate the new certificate (3 1 1 cc11)');
    // The verdict is invalid because of something else (no STARTTLS elsewhere): said, not escalated.
    const other = across(
      first,
      mtaSts([host('mx1.example.com', probe('192.0.2.1', 'CC'))], {
        verdict: 'invalid',
        mx: [{ ...daneHost('mx1.example.com', 'invalid', []), findings: [finding('DANE_STARTTLS_MISSING', 'x')] }],
      }),
    );
    expect(other.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'info']]);
    expect(other[0]!.message).toContain('The DANE verdict for MX mx1.example.com is invalid (DANE_STARTTLS_MISSING)');
    const plain = across(first, mtaSts([host('mx1.example.com', probe('192.0.2.1', 'CC', 'failed'))]));
    expect(plain[0]!.message).toMatch(/^MX mx1\.example\.com: certificate rotated \(192\.0\.2\.1\)\. Was "CN=mx1"/);
  });

  it('an smtp target with dane: true words its own rotation with the TLSA verdict for its leaf', () => {
    const smtp = (sha256: string, dane?: unknown) =>
      ({
        ...base,
        check: 'smtp',
        target: 'mx1.example.com:25',
        tls: { certificate: leaf(sha256) },
        ...(dane ? { dane } : {}),
      }) as unknown as BaseResult;
    const out = across(
      smtp('AA'),
      smtp(
        'CC',
        daneHost('mx1.example.com', 'invalid', [
          ['192.0.2.1', 'CC', { mismatch: ['no match'], currentKeyRecord: '3 1 1 cc11' }],
        ]),
      ),
    );
    expect(out.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'critical']]);
    expect(out[0]!.message).toMatch(/^The leaf certificate changed, TLSA not updated: was "CN=mx1"/);
    expect(out[0]!.message).toContain('defer all mail to mx1.example.com');
  });

  it('stores and reads back MX leaves, reads items written before them, and refuses a wrong shape', () => {
    const facts: Facts = {
      mx: ['a'],
      mxCerts: { a: { '192.0.2.1': stored('AA'), '192.0.2.2': stored('BB', ['BB', 'AA'], 'CN=Other') } },
    };
    expect(parseFacts(JSON.parse(JSON.stringify(facts)))).toEqual(facts);
    expect(parseFacts({ mx: ['a'], cert: { sha256: 'A', subject: 's', issuer: 'i', notAfter: 'n' } })).toEqual({
      mx: ['a'],
      cert: { sha256: 'A', subject: 's', issuer: 'i', notAfter: 'n' },
    });
    expect(parseFacts({ mxCerts: { a: [stored('AA')] } })).toBeUndefined();
    expect(parseFacts({ mxCerts: { a: { '192.0.2.1': { sha256: 'AA' } } } })).toBeUndefined();
  });

  it('reports an MX issuer change next to the rotation', () => {
    const out = changesBetween(
      { mxCerts: { a: { '192.0.2.1': stored('AA', ['AA'], 'CN=CA 1') } } },
      { mxCerts: { a: { '192.0.2.1': stored('BB', ['BB'], 'CN=CA 2') } } },
    );
    expect(out.map((c) => c.code)).toEqual(['CERT_ROTATED', 'CERT_ISSUER_CHANGED']);
    expect(out[1]!.message).toBe('MX a: the certificate issuer changed from "CN=CA 1" to "CN=CA 2".');
  });
});
