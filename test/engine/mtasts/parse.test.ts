import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coveringPattern,
  mxMatches,
  mxPatternError,
  parsePolicy,
  parseStsRecord,
  parseTlsRptRecord,
  selectStsRecord,
  selectTlsRptRecord,
} from '../../../lambdas/engine/mtasts/parse.js';
import { formatIssue } from '../../../lambdas/engine/mtasts/syntax.js';

function errorsOf(result: { ok: boolean; errors?: readonly { message: string; line?: number }[] }): string {
  return (result.errors ?? []).map((e) => formatIssue(e)).join(' | ');
}

describe('STS TXT record (RFC 8461 §3.1)', () => {
  it.each([
    ['v=STSv1; id=20240101', '20240101'],
    ['v=STSv1;id=abc', 'abc'],
    ['v=STSv1;id=abc ;', 'abc'],
    ['v=STSv1;\tid=Z9;  ', 'Z9'],
    ['v=STSv1; id=a; ext-1.x=val:ue', 'a'],
    ['v=STSv1; id=' + 'a'.repeat(32), 'a'.repeat(32)],
  ])('accepts %j', (text, id) => {
    const result = parseStsRecord(text);
    expect(result).toMatchObject({ ok: true, value: { id } });
  });

  it.each([
    ['V=STSv1; id=abc', /case-sensitive: write exactly v=STSv1/],
    ['v=stsv1; id=abc', /case-sensitive/],
    ['v=STSv1; id=' + 'a'.repeat(33), /1–32 letters or digits, but it has 33 characters/],
    ['v=STSv1; id=', /it is empty/],
    ['v=STSv1; id=2024-01-01', /characters other than letters and digits/],
    ['v=STSv1', /nothing follows v=STSv1/],
    ['v=STSv1;', /required id field is missing/],
    ['v=STSv1 id=abc', /a ";" must follow v=STSv1 directly, found " id=abc": write "v=STSv1; …"/],
    ['v=STSv10; id=abc', /a ";" must follow v=STSv1, found "0; id=abc"/],
    // RFC 8461 §3.1: senders discard records that do not begin with "v=STSv1;" (erratum 6285).
    ['v=STSv1 ;id=abc ;', /remove the whitespace between v=STSv1 and ";": senders discard a record/],
    ['v=STSv1\t; id=abc', /remove the whitespace between v=STSv1 and ";"/],
    ['v = STSv1; id=abc', /no spaces are allowed around "=" in the version tag: write v=STSv1;/],
    ['v=STSV1; id=abc', /the version tag is case-sensitive: write exactly v=STSv1, found "v=STSV1"/],
    ['v=STSv1;; id=abc', /empty field between two ";"/],
    ['v=STSv1; id=abc ', /whitespace after the last field/],
    ['v=STSv1; ID=abc', /"ID" is not "id"/],
    ['v=STSv1; id=abc; foo', /field "foo" has no "="/],
    ['v=STSv1; id=abc; x=a=b', /invalid value for field "x"/],
    [' v=STSv1; id=abc', /leading whitespace before v=STSv1: senders discard/],
    ['x=STSv1; id=abc', /must start with "v=STSv1;"/],
  ])('rejects %j', (text, message) => {
    const result = parseStsRecord(text);
    expect(result.ok).toBe(false);
    expect(errorsOf(result)).toMatch(message);
  });

  it('keeps the first id and warns about a second', () => {
    const result = parseStsRecord('v=STSv1; id=first; id=second');
    expect(result).toMatchObject({ ok: true, value: { id: 'first' } });
    expect(result.ok && result.warnings[0]?.message).toMatch(/more than once/);
  });

  it('selects records: concatenates strings, drops non-STS records, counts duplicates', () => {
    expect(selectStsRecord([['v=STSv1; ', 'id=abc'], ['google-site-verification=x']])).toEqual({
      kind: 'one',
      record: 'v=STSv1; id=abc',
    });
    expect(selectStsRecord([['v=spf1 -all']])).toEqual({ kind: 'none' });
    expect(selectStsRecord([])).toEqual({ kind: 'none' });
    expect(selectStsRecord([['v=STSv1; id=a'], ['v=STSv1; id=b']])).toMatchObject({ kind: 'multiple' });
    // A lone near miss (case, spacing, no ";") is reported as invalid, not as missing.
    expect(selectStsRecord([['V=STSv1; id=a']])).toEqual({ kind: 'one', record: 'V=STSv1; id=a' });
    expect(selectStsRecord([['v=STSv1 id=a'], ['v=spf1 -all']])).toEqual({ kind: 'one', record: 'v=STSv1 id=a' });
    expect(selectStsRecord([[' v = stsv1;id=a']])).toEqual({ kind: 'one', record: ' v = stsv1;id=a' });
    // Beside a record senders keep, a near miss is discarded (RFC 8461 §3.1), so it is not a duplicate.
    expect(selectStsRecord([['v=STSv1; id=a'], ['v=STSv1 ; id=b']])).toEqual({ kind: 'one', record: 'v=STSv1; id=a' });
    expect(selectStsRecord([['v=STSv1 ; id=a'], ['v=STSV1; id=b']])).toMatchObject({ kind: 'multiple' });
  });
});

const GOOD = 'version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.backup.example.com\nmax_age: 604800\n';

describe('policy (RFC 8461 §3.2)', () => {
  it('parses a policy with LF, CRLF, no final line end and trailing whitespace', () => {
    for (const text of [GOOD, GOOD.replace(/\n/g, '\r\n'), GOOD.trimEnd(), GOOD.replace('enforce', 'enforce  \t')]) {
      const result = parsePolicy(text);
      expect(result).toEqual({
        ok: true,
        warnings: [],
        value: {
          version: 'STSv1',
          mode: 'enforce',
          maxAge: 604800,
          mx: ['mail.example.com', '*.backup.example.com'],
          extensions: [],
        },
      });
    }
  });

  it('ignores unknown keys and allows mode none without mx', () => {
    const result = parsePolicy('version: STSv1\nmode: none\nmax_age: 86400\nfuture_key: some value\n');
    expect(result).toMatchObject({
      ok: true,
      value: { mode: 'none', mx: [], extensions: [{ name: 'future_key', value: 'some value' }] },
    });
  });

  it('keeps the first of duplicated keys and warns with the line', () => {
    const result = parsePolicy(
      'version: STSv1\nmode: testing\nmode: enforce\nmax_age: 100\nmax_age: 200\nmx: a.example\n',
    );
    expect(result).toMatchObject({ ok: true, value: { mode: 'testing', maxAge: 100 } });
    expect(result.ok && result.warnings.map((w) => formatIssue(w))).toEqual([
      'line 3: mode already given on line 2; this one is ignored',
      'line 5: max_age already given on line 4; this one is ignored',
    ]);
  });

  it.each([
    ['max_age: 1e3', 'line 3: max_age must be a whole number of seconds written with digits only, found "1e3"'],
    ['max_age: 0x10', 'line 3: max_age must be a whole number of seconds written with digits only, found "0x10"'],
    ['max_age: +5', 'line 3: max_age must be a whole number of seconds written with digits only, found "+5"'],
    ['max_age: -5', 'line 3: max_age must be a whole number of seconds written with digits only, found "-5"'],
    ['max_age: 12345678901', 'line 3: max_age has 11 digits, at most 10 are allowed: "12345678901"'],
    ['max_age: 31557601', 'line 3: max_age 31557601 exceeds the maximum of 31557600 seconds'],
    ['max_age:', 'line 3: max_age must be a whole number of seconds written with digits only, found ""'],
  ])('rejects %j', (line, message) => {
    const result = parsePolicy(`version: STSv1\nmode: enforce\n${line}\nmx: mail.example.com\n`);
    expect(result.ok).toBe(false);
    expect(errorsOf(result)).toBe(message);
  });

  it('accepts max_age at the limit and with leading zeros', () => {
    expect(parsePolicy(GOOD.replace('604800', '31557600'))).toMatchObject({ ok: true, value: { maxAge: 31557600 } });
    expect(parsePolicy(GOOD.replace('604800', '0000086400'))).toMatchObject({ ok: true, value: { maxAge: 86400 } });
  });

  it.each([
    ['mx: mail.example.com.', /line 3: mx pattern "mail.example.com." must not end with a dot/],
    ['mx: foo*.example.com', /line 3: .*wildcard is only allowed as the whole left-most label/],
    ['mx: *.*.example.com', /wildcard is only allowed/],
    ['mx: mail..example.com', /empty label/],
    ['mx: -mail.example.com', /letters, digits and inner hyphens/],
    ['mx: mäil.example.com', /non-ASCII/],
    ['mode: Enforce', /line 3: mode must be one of enforce, testing, none \(case-sensitive\), found "Enforce"/],
    ['version: STSv2', /line 3: version must be STSv1/],
    ['mx : mail.example.com', /line 3: no whitespace is allowed between "mx" and ":"/],
    [' mx: mail.example.com', /line 3: leading whitespace/],
    ['mx mail.example.com', /line 3: expected "name: value"/],
    ['', /line 3: blank line/],
    ['x: a\rb', /line 3: carriage return not followed by a line feed/],
  ])('rejects the line %j with a message naming it', (line, message) => {
    const result = parsePolicy(`version: STSv1\nmax_age: 86400\n${line}\nmode: enforce\nmx: mail.example.com\n`);
    expect(result.ok).toBe(false);
    expect(errorsOf(result)).toMatch(message);
  });

  it('names each missing required field', () => {
    expect(errorsOf(parsePolicy('mx: a.example\n'))).toBe(
      'the version field is missing (version: STSv1) | the mode field is missing (mode: enforce, testing or none) | the max_age field is missing (e.g. max_age: 604800)',
    );
    expect(errorsOf(parsePolicy('version: STSv1\nmode: testing\nmax_age: 86400\n'))).toBe(
      'no mx field: at least one mx pattern is required when mode is testing',
    );
    expect(errorsOf(parsePolicy(''))).toBe('the policy is empty');
    expect(errorsOf(parsePolicy('\uFEFF' + GOOD))).toBe(
      'line 1: the file starts with a byte-order mark (U+FEFF); save it without one',
    );
  });

  it('warns about a known field name in the wrong case', () => {
    const result = parsePolicy('version: STSv1\nMode: enforce\nmax_age: 86400\nmx: a.example\n');
    expect(errorsOf(result)).toBe('the mode field is missing (mode: enforce, testing or none)');
  });

  it('reports several errors at once, each with its line', () => {
    const result = parsePolicy('version: STSv1\nmode: strict\nmax_age: 1e3\nmx: a.example.\n');
    expect(result.ok || result.errors.map((e) => e.line)).toEqual([2, 3, 4]);
  });
});

describe('MX patterns (RFC 8461 §4.1)', () => {
  it.each([
    ['mail.example.com', 'mail.example.com', true],
    ['MAIL.Example.COM.', 'mail.example.com', true],
    ['mail.example.com', 'MAIL.EXAMPLE.COM', true],
    ['mail.example.com', '*.example.com', true],
    ['Mail.Example.com.', '*.EXAMPLE.com', true],
    ['example.com', '*.example.com', false],
    ['foo.bar.example.com', '*.example.com', false],
    ['xexample.com', '*.example.com', false],
    ['mail.example.com.evil', 'mail.example.com', false],
    ['mail.example.com', 'mail.example.com.', false],
    ['foomail.example.com', 'foo*.example.com', false],
    ['', '*.example.com', false],
    ['.example.com', '*.example.com', false],
  ])('%j against %j → %s', (host, pattern, expected) => {
    expect(mxMatches(host, pattern)).toBe(expected);
  });

  it('finds the covering pattern', () => {
    expect(coveringPattern('mx2.example.net.', ['mail.example.com', '*.example.net'])).toBe('*.example.net');
    expect(coveringPattern('a.b.example.net', ['*.example.net'])).toBeUndefined();
  });

  it('validates patterns', () => {
    expect(mxPatternError('*.example.com')).toBeUndefined();
    expect(mxPatternError('localhost')).toBeUndefined();
    expect(mxPatternError('a'.repeat(64) + '.example')).toMatch(/longer than 63/);
    expect(mxPatternError('')).toMatch(/empty/);
  });
});

describe('TLS-RPT record (RFC 8460 §3)', () => {
  it.each([
    ['v=TLSRPTv1; rua=mailto:tlsrpt@example.com', ['mailto:tlsrpt@example.com']],
    [
      'v=TLSRPTv1;rua=mailto:a@example.com, https://reports.example.com/tlsrpt;',
      ['mailto:a@example.com', 'https://reports.example.com/tlsrpt'],
    ],
    [
      'v=TLSRPTv1; rua=mailto:a@example.com,mailto:b@example.org; ext=1',
      ['mailto:a@example.com', 'mailto:b@example.org'],
    ],
  ])('accepts %j', (text, rua) => {
    expect(parseTlsRptRecord(text)).toMatchObject({ ok: true, value: { rua } });
  });

  it.each([
    [
      'v=TLSRPTv1; rua=tlsrpt@example.com',
      'rua URI "tlsrpt@example.com" has no scheme: write mailto:tlsrpt@example.com',
    ],
    [
      'v=TLSRPTv1; rua=http://example.com/r',
      'rua URI "http://example.com/r" uses http:, which RFC 8460 does not allow: use https:',
    ],
    [
      'v=TLSRPTv1; rua=mailto:a@example.com; mailto:b@example.com',
      '"mailto:b@example.com" stands on its own after a ";": separate several rua URIs with "," (rua=URI1,URI2)',
    ],
    [
      'v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com',
      'rua appears more than once: put all URIs in one rua= field, separated by ","',
    ],
    [
      'v=TLSRPTv1; rua=ftp://example.com/',
      'rua URI "ftp://example.com/" uses the scheme ftp:, but only mailto: and https: are defined',
    ],
    ['v=TLSRPTv1; rua=mailto:', 'rua URI "mailto:" is not mailto: followed by one e-mail address'],
    ['v=TLSRPTv1; rua=mailto:a@example.com,', 'rua contains an empty URI (check for a stray ",")'],
    ['v=TLSRPTv1;', 'the required rua= field is missing (e.g. rua=mailto:tlsrpt@DOMAIN)'],
    [
      'v=TLSRPTv1; RUA=mailto:a@example.com',
      'field names are case-sensitive: "RUA" is not "rua" | the required rua= field is missing (e.g. rua=mailto:tlsrpt@DOMAIN)',
    ],
    [
      'v=tlsrptv1; rua=mailto:a@example.com',
      'the version tag is case-sensitive: write exactly v=TLSRPTv1, found "v=tlsrptv1" (senders discard a record that does not begin with "v=TLSRPTv1;")',
    ],
    [
      'v=TLSRPTv1 ; rua=mailto:a@example.com',
      'remove the whitespace between v=TLSRPTv1 and ";": senders discard a record that does not begin with "v=TLSRPTv1;"',
    ],
  ])('rejects %j precisely', (text, message) => {
    expect(errorsOf(parseTlsRptRecord(text))).toBe(message);
  });

  it('selects exactly one v=TLSRPTv1 record', () => {
    expect(
      selectTlsRptRecord([['v=TLSRPTv1; rua=mailto:a@example.com'], ['v=TLSRPTv1; rua=mailto:b@example.com']]),
    ).toMatchObject({ kind: 'multiple' });
    expect(selectTlsRptRecord([['v=STSv1; id=1']])).toEqual({ kind: 'none' });
    expect(selectTlsRptRecord([['v=TLSRPTV1; rua=mailto:a@example.com']])).toEqual({
      kind: 'one',
      record: 'v=TLSRPTV1; rua=mailto:a@example.com',
    });
  });
});

describe('properties: parsers never throw and stay consistent', () => {
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .array(
        fc.constantFrom(
          'v=STSv1',
          'v=TLSRPTv1',
          ';',
          ' ',
          '\t',
          'id=',
          'rua=',
          'mailto:',
          ',',
          '=',
          'a',
          '1',
          '__proto__',
        ),
        { maxLength: 30 },
      )
      .map((parts) => parts.join('')),
  );
  const policyText = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'version: STSv1',
          'mode: enforce',
          'mode: none',
          'max_age: 86400',
          'mx: *.example.com',
          'mx: a.example',
          '',
          ' ',
          'constructor: x',
          '__proto__: y',
        ),
        fc.string({ maxLength: 40 }),
      ),
      { maxLength: 12 },
    )
    .chain((lines) => fc.constantFrom('\n', '\r\n').map((eol) => lines.join(eol)));

  it('TXT parsers return a result for any input', () => {
    fc.assert(
      fc.property(text, (s) => {
        const sts = parseStsRecord(s);
        const rpt = parseTlsRptRecord(s);
        expect(sts.ok ? sts.value.id.length : sts.errors.length).toBeGreaterThan(0);
        expect(rpt.ok ? rpt.value.rua.length : rpt.errors.length).toBeGreaterThan(0);
        if (sts.ok) expect(s.startsWith('v=STSv1')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('policy parser returns a result for any input; accepted policies satisfy the grammar limits', () => {
    fc.assert(
      fc.property(fc.oneof(policyText, fc.string({ maxLength: 300 })), (s) => {
        const result = parsePolicy(s);
        if (result.ok) {
          expect(result.value.maxAge).toBeLessThanOrEqual(31557600);
          if (result.value.mode !== 'none') expect(result.value.mx.length).toBeGreaterThan(0);
          for (const p of result.value.mx) expect(mxPatternError(p)).toBeUndefined();
        } else {
          expect(result.errors.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a wildcard matches exactly the names with one more label', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 4 }),
        fc.array(label, { maxLength: 3 }),
        (base, prefix) => {
          const domain = base.join('.');
          const host = [...prefix, domain].join('.');
          expect(mxMatches(host, `*.${domain}`)).toBe(prefix.length === 1);
          expect(mxMatches(host.toUpperCase() + '.', domain)).toBe(prefix.length === 0);
        },
      ),
    );
  });
});
