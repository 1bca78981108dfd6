/**
 * Bytes → report under caps: gzip and JSON bodies, a decompression bomb stopped at the
 * cap, corrupt gzip, and a MIME message (the mailto: rua path) through postal-mime.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeReport, DEFAULT_LIMITS, inflateCapped } from '../../../lambdas/engine/tlsrpt/decode.js';
import { isReportFileName, parseReportMail } from '../../../lambdas/engine/tlsrpt/mime.js';

const bytes = (name: string): Buffer =>
  readFileSync(new URL(`../../../testkit/fixtures/tlsrpt/${name}`, import.meta.url));

describe('decodeReport', () => {
  it('reads gzip and JSON, whatever was declared', () => {
    expect(decodeReport(bytes('google-ok.json.gz'), 'gzip').policies[0]!.successfulSessions).toBe(1873);
    expect(decodeReport(bytes('google-ok.json.gz'), 'auto').reportId).toBe('2026-11-29T00:00:00Z_example.com');
    // A .json.gz that is plain JSON (seen in the wild): the bytes decide.
    expect(decodeReport(bytes('google-ok.json'), 'gzip').reportId).toBe('2026-11-29T00:00:00Z_example.com');
  });

  it('a gzip bomb (200 MiB of zeros in ~200 KB) stops at the 5 MiB cap: TLSRPT_REPORT_TOO_LARGE', () => {
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(DEFAULT_LIMITS.maxCompressedBytes);
    expect(() => decodeReport(bomb, 'gzip')).toThrow(
      expect.objectContaining({ code: 'TLSRPT_REPORT_TOO_LARGE', message: 'inflates to more than 5242880 bytes' }),
    );
  });

  it('inflates exactly up to the cap and refuses one byte more', () => {
    const body = gzipSync(Buffer.alloc(1000, 0x20));
    expect(inflateCapped(body, 1000)).toHaveLength(1000);
    expect(() => inflateCapped(body, 999)).toThrow(expect.objectContaining({ code: 'TLSRPT_REPORT_TOO_LARGE' }));
  });

  it.each([
    ['compressed over 1 MiB', 'TLSRPT_REPORT_TOO_LARGE', () => gzipSync(Buffer.from(incompressible(1_100_000)))],
    ['JSON over 5 MiB', 'TLSRPT_REPORT_TOO_LARGE', () => Buffer.alloc(5 * 1024 * 1024 + 1, 0x20)],
    ['truncated gzip', 'TLSRPT_REPORT_GZIP_INVALID', () => bytes('google-ok.json.gz').subarray(0, 40)],
    ['declared gzip, neither gzip nor JSON', 'TLSRPT_REPORT_GZIP_INVALID', () => Buffer.from('PK\u0003\u0004zip')],
    ['not UTF-8', 'TLSRPT_REPORT_NOT_JSON', () => Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['gzip of XML', 'TLSRPT_REPORT_NOT_JSON', () => gzipSync('<feedback/>')],
  ])('%s → %s', (_, code, body) => {
    expect(() => decodeReport(body(), 'gzip')).toThrow(expect.objectContaining({ code }));
  });
});

/** Incompressible bytes, deterministic (xorshift), so the compressed size is over the cap. */
function incompressible(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 2463534242;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('parseReportMail (mailto: rua)', () => {
  it('a multipart/report; report-type=tlsrpt message with an application/tlsrpt+gzip part', async () => {
    const mail = await parseReportMail(bytes('microsoft-report.eml'));
    expect(mail.report.organizationName).toBe('Microsoft Corporation');
    expect(mail.report.policies[0]!.failedSessions).toBe(1234);
    expect(mail.format).toBe('gzip');
    expect(mail.raw.equals(gzipSync(bytes('microsoft-failures.json')))).toBe(true);
    expect(mail.from).toBe('tlsrpt-noreply@microsoft.com');
    expect(mail.quirks).toEqual([]);
  });

  function message(contentType: string, part: string): Buffer {
    return Buffer.from(
      [
        'From: reports@sender.example',
        'To: tlsrpt@reports.example.com',
        'Subject: Report Domain: example.com',
        'MIME-Version: 1.0',
        `Content-Type: ${contentType}; boundary="b"`,
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'This is an aggregate TLS report.',
        '--b',
        part,
        '--b--',
        '',
      ].join('\r\n'),
    );
  }

  it('tolerates multipart/mixed with application/gzip named .json.gz, and notes both', async () => {
    const b64 = bytes('google-ok.json.gz').toString('base64');
    const mail = await parseReportMail(
      message(
        'multipart/mixed',
        `Content-Type: application/gzip\r\nContent-Disposition: attachment; filename="google.com!example.com!1764374400!1764460799!001.json.gz"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`,
      ),
    );
    expect(mail.report.policies[0]!.successfulSessions).toBe(1873);
    expect(mail.quirks).toHaveLength(2);
    expect(mail.quirks[0]).toMatch(/not multipart\/report/);
    expect(mail.quirks[1]).toMatch(/report part sent as application\/gzip/);
  });

  it('an application/tlsrpt+json part', async () => {
    const mail = await parseReportMail(
      message(
        'multipart/report; report-type=tlsrpt',
        `Content-Type: application/tlsrpt+json\r\nContent-Disposition: attachment; filename="r.json"\r\n\r\n${bytes('rfc8460-example.json').toString()}`,
      ),
    );
    expect(mail.format).toBe('json');
    expect(mail.report.policies[0]!.failedSessions).toBe(303);
  });

  it('a message without a report part → TLSRPT_MAIL_NO_REPORT naming what it saw', async () => {
    await expect(
      parseReportMail(
        message(
          'multipart/mixed',
          'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="x.pdf"\r\n\r\nJVBERi0=',
        ),
      ),
    ).rejects.toMatchObject({ code: 'TLSRPT_MAIL_NO_REPORT', message: expect.stringContaining('application/pdf') });
  });

  it('a gzip attachment not named by RFC 8460 §5.3 (invoice.pdf.gz) is never opened: no report (issue 25)', async () => {
    const b64 = bytes('google-ok.json.gz').toString('base64');
    for (const type of ['application/gzip', 'application/octet-stream']) {
      await expect(
        parseReportMail(
          message(
            'multipart/report; report-type=tlsrpt',
            `Content-Type: ${type}\r\nContent-Disposition: attachment; filename="invoice.pdf.gz"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`,
          ),
        ),
      ).rejects.toMatchObject({ code: 'TLSRPT_MAIL_NO_REPORT' });
    }
    // Beside a real report part it is counted, not read.
    const mail = await parseReportMail(
      message(
        'multipart/report; report-type=tlsrpt',
        `Content-Type: application/gzip\r\nContent-Disposition: attachment; filename="invoice.pdf.gz"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`,
      ),
    );
    expect(mail.ignoredParts).toBe(1);
    expect(mail.quirks).toEqual([expect.stringMatching(/^1 attachment neither a TLS-RPT type nor named by RFC 8460/)]);
  });

  it.each([
    ['google.com!example.com!1726358400!1726444799!001.json.gz', true],
    ['mail.sender.example!example.com!1013662812!1013749130.json', true],
    ['Google.COM!Example.com!1726358400!1726444799.JSON.GZ', true],
    ['invoice.pdf.gz', false],
    ['google.com!example.com!1.json.gz', false],
    ['google.com!example.com!a!b.json', false],
    ['google.com!example.com!1!2.json.gz.exe', false],
    [`${'a'.repeat(300)}!${'b!'.repeat(5000)}1.json`, false],
  ])('§5.3 file name %j → %s', (name, ok) => {
    expect(isReportFileName(name)).toBe(ok);
  });

  it('real reports from the corpus (Google, Mail.ru, mail-auth, including application/tlsrpt under a §5.3 name) parse', async () => {
    for (const name of [
      'tlsrpt-rs__google1.eml',
      'tlsrpt-rs__mail.ru.eml',
      'mail-auth__rpt01.eml',
      'mail-auth__rpt02.eml',
    ]) {
      const mail = await parseReportMail(
        readFileSync(new URL(`../../../../shared/corpora/tlsrpt/${name}`, import.meta.url)),
      );
      expect(mail.report.policies.length, name).toBeGreaterThan(0);
      expect(mail.ignoredParts, name).toBe(0);
    }
  });

  it('a message over the cap → TLSRPT_MAIL_INVALID before parsing', async () => {
    await expect(parseReportMail(Buffer.alloc(DEFAULT_LIMITS.maxMessageBytes + 1))).rejects.toMatchObject({
      code: 'TLSRPT_MAIL_INVALID',
    });
  });

  it('a report part that is a gzip bomb → TLSRPT_REPORT_TOO_LARGE', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)).toString('base64');
    await expect(
      parseReportMail(
        message(
          'multipart/report; report-type=tlsrpt',
          `Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n${bomb}`,
        ),
      ),
    ).rejects.toMatchObject({ code: 'TLSRPT_REPORT_TOO_LARGE' });
  });
});
