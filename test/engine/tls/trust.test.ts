/**
 * Trust anchors built once and only when needed (lambdas/engine/tls/trust.ts): a secure
 * context with Node's native roots plus the run's extra anchors, and an anchor index that
 * finds an issuer by its DER subject without parsing every root. Real handshakes on loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerAndSubjectDer } from '../../../lambdas/engine/tls/der.js';
import { anchorIndex, extraCaFromEnvironment, secureContextWithAnchors } from '../../../lambdas/engine/tls/trust.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';

let pki: TestPki;
let server: tls.Server;
let port: number;
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-trust-'));

beforeAll(async () => {
  pki = await createTestPki();
  const creds = pki.credentials();
  server = tls.createServer({ key: creds.key, cert: creds.cert }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function handshake(secureContext: tls.SecureContext): Promise<{ authorized: boolean; error: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, secureContext, rejectUnauthorized: false }, () => {
      resolve({
        authorized: socket.authorized,
        error: socket.authorizationError ? String(socket.authorizationError) : null,
      });
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('secureContextWithAnchors', () => {
  it('trusts the run’s extra anchors on top of the bundled roots', async () => {
    expect(await handshake(secureContextWithAnchors({}, [pki.caPem], {}))).toEqual({ authorized: true, error: null });
  });

  it('without them, the test CA is unknown', async () => {
    expect(await handshake(secureContextWithAnchors({}, [], {}))).toEqual({
      authorized: false,
      error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    });
  });

  it('adds NODE_EXTRA_CA_CERTS back when extra anchors replace the shared store', async () => {
    const file = join(dir, 'extra.pem');
    writeFileSync(file, pki.caPem);
    const other = await createTestPki({ rootName: 'unrelated root' });
    const context = secureContextWithAnchors({ minVersion: 'TLSv1.2' }, [other.caPem], { NODE_EXTRA_CA_CERTS: file });
    expect(await handshake(context)).toEqual({ authorized: true, error: null });
  });

  it('skips the NODE_EXTRA_CA_CERTS roots Node already bundles, however the PEM is wrapped, and keeps the rest', async () => {
    // A system bundle: every bundled root again (re-wrapped at 76 columns, CRLF), plus one CA Node lacks.
    const rewrap = (pem: string) => {
      const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
      const lines = body.match(/.{1,76}/g) ?? [];
      return ['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----'].join('\r\n');
    };
    const file = join(dir, 'system-bundle.pem');
    writeFileSync(file, [...tls.rootCertificates.map(rewrap), pki.caPem].join('\r\n'));
    const extra = extraCaFromEnvironment({ NODE_EXTRA_CA_CERTS: file });
    expect(extra).toHaveLength(1);
    expect(new X509Certificate(extra[0] as string).fingerprint256).toBe(new X509Certificate(pki.caPem).fingerprint256);
    // The context still trusts the test CA through that one certificate.
    expect(await handshake(secureContextWithAnchors({}, [], { NODE_EXTRA_CA_CERTS: file }))).toEqual({
      authorized: true,
      error: null,
    });
  });
});

describe('anchorIndex', () => {
  it('finds the anchor that issued a certificate, by DER subject, and knows anchors by fingerprint', () => {
    const index = anchorIndex([pki.caPem], {});
    const intermediate = new X509Certificate(pki.intermediate.certPem);
    const root = new X509Certificate(pki.caPem);
    expect(index.issuerOf(intermediate)?.fingerprint256).toBe(root.fingerprint256);
    expect(index.has(root)).toBe(true);
    expect(index.has(intermediate)).toBe(false);
    // The leaf's issuer is the intermediate, which is no anchor.
    expect(index.issuerOf(new X509Certificate(pki.leaf.certPem))).toBeUndefined();
  });

  it('reads issuer and subject Names from the DER', () => {
    const cert = new X509Certificate(pki.intermediate.certPem);
    const { issuer, subject } = issuerAndSubjectDer(cert.raw);
    const root = issuerAndSubjectDer(new X509Certificate(pki.caPem).raw);
    expect(Buffer.from(issuer).equals(Buffer.from(root.subject))).toBe(true);
    expect(Buffer.from(subject).equals(Buffer.from(issuer))).toBe(false);
  });
});
