import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeCertificate, parseSubjectAltName } from '../../../lambdas/engine/tls/certificate.js';
import {
  DerError,
  decodeOid,
  isWeakSignatureAlgorithm,
  signatureAlgorithmOid,
} from '../../../lambdas/engine/tls/der.js';
import { trustAnchors } from '../../../lambdas/engine/tls/trust.js';
import { createCa, createTestPki, issueCertificate } from '../../../testkit/pki.js';

describe('DER signature algorithm', () => {
  it.each([
    [[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b], '1.2.840.113549.1.1.11'],
    [[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02], '1.2.840.10045.4.3.2'],
    [[0x2b, 0x65, 0x70], '1.3.101.112'],
    [[0x88, 0x37, 0x03], '2.999.3'],
  ])('decodes OID %j as %s', (bytes, dotted) => {
    expect(decodeOid(Uint8Array.from(bytes))).toBe(dotted);
  });

  it('rejects truncated or malformed input instead of reading past it', () => {
    expect(() => decodeOid(Uint8Array.from([0x2a, 0x86]))).toThrow(DerError);
    expect(() => signatureAlgorithmOid(Uint8Array.from([0x30, 0x82, 0xff]))).toThrow(DerError);
    expect(() => signatureAlgorithmOid(Uint8Array.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow(DerError);
    expect(() => signatureAlgorithmOid(Uint8Array.from([0x31, 0x00]))).toThrow(DerError);
    expect(() => signatureAlgorithmOid(new Uint8Array(0))).toThrow(DerError);
  });

  it('arbitrary bytes give an OID or a DerError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          expect(signatureAlgorithmOid(bytes)).toMatch(/^\d+(\.\d+)+$/);
        } catch (err) {
          expect(err).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('names SHA-1 and MD5 signatures as weak, SHA-256 as not', () => {
    expect(isWeakSignatureAlgorithm('sha1WithRSAEncryption')).toBe(true);
    expect(isWeakSignatureAlgorithm('ecdsa-with-SHA1')).toBe(true);
    expect(isWeakSignatureAlgorithm('md5WithRSAEncryption')).toBe(true);
    expect(isWeakSignatureAlgorithm('sha256WithRSAEncryption')).toBe(false);
    expect(isWeakSignatureAlgorithm('ecdsa-with-SHA256')).toBe(false);
  });

  it('reads the signature algorithm of every bundled root', () => {
    for (const pem of rootCertificates) {
      expect(signatureAlgorithmOid(new X509Certificate(pem).raw)).toMatch(/^\d+(\.\d+)+$/);
    }
  });
});

describe('parseSubjectAltName', () => {
  it('splits plain and JSON-quoted values', () => {
    expect(parseSubjectAltName('DNS:a.example, IP Address:192.0.2.1, DNS:"b,c.example", email:x@y')).toEqual([
      { type: 'DNS', value: 'a.example' },
      { type: 'IP Address', value: '192.0.2.1' },
      { type: 'DNS', value: 'b,c.example' },
      { type: 'email', value: 'x@y' },
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
  });

  it('never throws and never loops on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        for (const entry of parseSubjectAltName(text)) expect(typeof entry.value).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('describeCertificate', () => {
  it('reports names, dates, key and signature of an EC leaf', async () => {
    const pki = await createTestPki();
    const notAfterMs = Date.parse(pki.leaf.x509.validTo);
    const info = describeCertificate(pki.leaf.x509, notAfterMs - 10.5 * 86_400_000);
    expect(info).toMatchObject({
      subject: 'CN=localhost',
      issuer: 'CN=mailprobe test intermediate',
      subjectAltNames: ['DNS:localhost', 'IP:127.0.0.1'],
      daysToExpiry: 10,
      keyType: 'EC',
      keyBits: 256,
      signatureAlgorithm: 'ecdsa-with-SHA256',
      selfIssued: false,
      serialNumber: pki.leaf.x509.serialNumber,
      fingerprintSha256: pki.leaf.x509.fingerprint256,
    });
    expect(info.notAfter).toBe(new Date(notAfterMs).toISOString());
    expect(describeCertificate(pki.root.x509, Date.now()).selfIssued).toBe(true);
    expect(describeCertificate(pki.leaf.x509, notAfterMs + 1000).daysToExpiry).toBe(-1);
  });

  it('reports RSA key size and SHA-1 signatures', async () => {
    const ca = await createCa({ commonName: 'rsa ca', key: { type: 'rsa', bits: 2048 } });
    const leaf = await issueCertificate(ca, {
      dnsNames: ['mx.example.com'],
      key: { type: 'rsa', bits: 1024 },
      signatureHash: 'SHA-1',
    });
    const info = describeCertificate(leaf.x509, Date.now());
    expect(info).toMatchObject({ keyType: 'RSA', keyBits: 1024, signatureAlgorithm: 'sha1WithRSAEncryption' });
    expect(describeCertificate(ca.x509, Date.now())).toMatchObject({
      keyType: 'RSA',
      keyBits: 2048,
      signatureAlgorithm: 'sha256WithRSAEncryption',
    });
  });
});

describe('trustAnchors', () => {
  it('adds the NODE_EXTRA_CA_CERTS file and the extra CAs to the bundled roots', async () => {
    const pki = await createTestPki();
    const other = await createCa({ commonName: 'from env' });
    const dir = mkdtempSync(join(tmpdir(), 'mailprobe-ca-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'extra.pem');
    writeFileSync(file, `# comment\n${other.certPem}`);
    const anchors = trustAnchors([pki.caPem], { NODE_EXTRA_CA_CERTS: file });
    expect(anchors.length).toBe(rootCertificates.length + 2);
    expect(anchors).toContain(pki.caPem);
    expect(anchors.map((a) => a.trim())).toContain(other.certPem.trim());
    expect(trustAnchors([], { NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') }).length).toBe(rootCertificates.length);
  });
});
