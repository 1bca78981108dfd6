/**
 * DKIM of a mailed report (RFC 8460 §5.3), verified by mailauth against keys published in
 * a loopback DNS zone: the report mail is signed at test time with mailauth's dkimSign.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { authenticateMail, MAX_SIGNATURES, systemDkimResolver } from '../../../lambdas/engine/tlsrpt/authenticate.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicB64 = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const dkimTxt = (b64: string): string[] => {
  const record = `v=DKIM1; k=rsa; p=${b64}`;
  const chunks: string[] = [];
  for (let i = 0; i < record.length; i += 255) chunks.push(record.slice(i, i + 255));
  return chunks;
};
const report = readFileSync(new URL('../../../testkit/fixtures/tlsrpt/google-ok.json.gz', import.meta.url));

function reportMail(from: string): string {
  return [
    `From: ${from}`,
    'To: tlsrpt@reports.example.com',
    'Subject: Report Domain: example.com Submitter: google.com Report-ID: <2026.11.29T00.00.00Z+example.com@google.com>',
    'Date: Sun, 30 Nov 2026 01:00:00 +0000',
    'Message-ID: <report-1@google.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=tlsrpt; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'This is an aggregate TLS report from google.com',
    '--b',
    'Content-Type: application/tlsrpt+gzip',
    'Content-Disposition: attachment; filename="google.com!example.com!1796428800!1796515199!001.json.gz"',
    'Content-Transfer-Encoding: base64',
    '',
    report.toString('base64'),
    '--b--',
    '',
  ].join('\r\n');
}

async function signed(message: string, signingDomain: string, selector = 'sel'): Promise<Buffer> {
  const out = await dkimSign(message, {
    signatureData: [{ signingDomain, selector, privateKey, signTime: new Date('2026-11-30T01:00:00Z') }],
  } as never);
  expect(out.errors).toEqual([]);
  return Buffer.from(out.signatures + message);
}

let dns: DnsTestServer;
const now = new Date('2026-11-30T06:00:00Z');
let resolver: ReturnType<typeof systemDkimResolver>;

beforeAll(async () => {
  dns = await startDnsServer({
    'sel._domainkey.google.com': { TXT: [dkimTxt(publicB64)] },
    'sel._domainkey.attacker.example': { TXT: [dkimTxt(publicB64)] },
    'slow._domainkey.google.com': 'TIMEOUT',
  });
  resolver = systemDkimResolver(500, [dns.server]);
});
afterAll(async () => {
  await dns.close();
});

describe('authenticateMail', () => {
  it('signed by google.com, From google.com: authenticated as google.com', async () => {
    const mail = await signed(reportMail('noreply-smtp-tls-reporting@google.com'), 'google.com');
    const auth = await authenticateMail(mail, { resolver, now });
    expect(auth).toMatchObject({ authenticated: true, domain: 'google.com', fromDomain: 'google.com' });
    expect(dns.queries.some((q) => q.name === 'sel._domainkey.google.com' && q.type === 'TXT')).toBe(true);
  });

  it('a forged From without a signature is not authenticated', async () => {
    const auth = await authenticateMail(Buffer.from(reportMail('noreply-smtp-tls-reporting@google.com')), {
      resolver,
      now,
    });
    expect(auth).toEqual({ authenticated: false, reason: 'no DKIM signature' });
  });

  it("the attacker's own valid signature under Google's From is not aligned: not authenticated", async () => {
    const mail = await signed(reportMail('noreply-smtp-tls-reporting@google.com'), 'attacker.example');
    const auth = await authenticateMail(mail, { resolver, now });
    expect(auth.authenticated).toBe(false);
    expect(auth.reason).toMatch(/not aligned with From google\.com/);
  });

  it('a report changed after signing fails', async () => {
    const mail = (await signed(reportMail('noreply-smtp-tls-reporting@google.com'), 'google.com'))
      .toString()
      .replace('aggregate TLS report', 'aggregate TLS rep0rt');
    const auth = await authenticateMail(Buffer.from(mail), { resolver, now });
    expect(auth.authenticated).toBe(false);
    expect(auth.reason).toMatch(/d=google\.com (fail|neutral)/);
  });

  it("SES's DKIM verdict FAIL on the receipt is not overruled", async () => {
    const mail = await signed(reportMail('noreply-smtp-tls-reporting@google.com'), 'google.com');
    const auth = await authenticateMail(mail, { resolver, now, ses: { spf: 'PASS', dkim: 'FAIL' } });
    expect(auth).toMatchObject({ authenticated: false, reason: 'SES DKIM verdict FAIL', ses: { dkim: 'FAIL' } });
  });

  it('hostile: more signatures than looked at are not verified, and no DNS query is made', async () => {
    const one = await signed(reportMail('noreply-smtp-tls-reporting@google.com'), 'google.com');
    const header = one.toString().split('\r\n').slice(0, 1)[0]!;
    const sig = one.toString().slice(0, one.toString().indexOf('From:'));
    expect(header.startsWith('DKIM-Signature:')).toBe(true);
    const many = Buffer.from(sig.repeat(MAX_SIGNATURES * 20) + reportMail('noreply-smtp-tls-reporting@google.com'));
    const before = dns.queries.length;
    const auth = await authenticateMail(many, { resolver, now });
    expect(auth.authenticated).toBe(false);
    expect(auth.reason).toMatch(/^100 DKIM signatures, more than the 5 looked at/);
    expect(dns.queries.length).toBe(before);
  });

  it('hostile: a key lookup that never answers ends within the deadline, unauthenticated', async () => {
    const mail = await signed(reportMail('noreply-smtp-tls-reporting@google.com'), 'google.com', 'slow');
    const auth = await authenticateMail(mail, { resolver, now, deadlineMs: 3_000 });
    expect(auth.authenticated).toBe(false);
    expect(auth.reason).toMatch(/d=google\.com (temperror|neutral|fail)|DKIM not verified/);
  });
});
