import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as tls from 'node:tls';
import { signatureAlgorithmOid } from '../../../lambdas/engine/tls/der.js';
import { createTestPki, dhParamsPem } from '../../../testkit/pki.js';
import { startTlsServer } from '../../../testkit/tls-servers.js';

describe('test PKI', () => {
  it('issues root → intermediate → leaf that verify against each other', async () => {
    const pki = await createTestPki();
    expect(pki.leaf.x509.checkIssued(pki.intermediate.x509)).toBe(true);
    expect(pki.leaf.x509.verify(pki.intermediate.x509.publicKey)).toBe(true);
    expect(pki.intermediate.x509.verify(pki.root.x509.publicKey)).toBe(true);
    expect(pki.intermediate.x509.ca).toBe(true);
    expect(pki.leaf.x509.ca).toBe(false);
    expect(pki.leaf.x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(pki.leaf.x509.checkPrivateKey(crypto.createPrivateKey(pki.leaf.keyPem))).toBe(true);
  });

  it('makes RSA 1024 and SHA-1 variants', async () => {
    const pki = await createTestPki();
    const rsa = await pki.rsa1024();
    expect(rsa.x509.publicKey.asymmetricKeyType).toBe('rsa');
    expect(rsa.x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
    const sha1 = await pki.sha1();
    expect(sha1.x509.verify(pki.intermediate.x509.publicKey)).toBe(true);
    expect(signatureAlgorithmOid(sha1.x509.raw)).toBe('1.2.840.10045.4.1'); // ecdsa-with-SHA1
  });

  it('builds PKCS#3 DH parameters a DHE server negotiates at the requested size', async () => {
    const pki = await createTestPki();
    const rsaLeaf = await pki.issueLeaf({ key: { type: 'rsa', bits: 2048 } });
    for (const bits of [1024, 2048] as const) {
      expect(dhParamsPem(bits)).toMatch(
        /^-----BEGIN DH PARAMETERS-----\n[A-Za-z0-9+/=\n]+-----END DH PARAMETERS-----\n$/,
      );
      const server = await startTlsServer({
        ...pki.credentials(rsaLeaf),
        dhparam: dhParamsPem(bits),
        ciphers: 'kDHE:!aNULL:@SECLEVEL=0',
        maxVersion: 'TLSv1.2',
      });
      try {
        const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect(
            {
              host: server.host,
              port: server.port,
              ca: [pki.caPem],
              servername: 'localhost',
              maxVersion: 'TLSv1.2',
              ciphers: 'kDHE:!aNULL:@SECLEVEL=0',
              minDHSize: 512,
            },
            () => resolve(s),
          );
          s.on('error', reject);
        });
        expect(socket.authorized).toBe(true);
        expect(socket.getEphemeralKeyInfo()).toEqual({ type: 'DH', size: bits });
        socket.destroy();
      } finally {
        await server.close();
      }
    }
  });
});
