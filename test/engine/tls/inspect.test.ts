import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../lambdas/engine/deadline.js';
import { createContext, DEFAULT_THRESHOLDS } from '../../../lambdas/engine/context.js';
import type { ProbeContext } from '../../../lambdas/engine/context.js';
import type { IdentityMode } from '../../../lambdas/engine/tls/identity.js';
import type { InspectedSession } from '../../../lambdas/engine/tls/inspect.js';
import { inspectTlsSession, tlsClientOptions } from '../../../lambdas/engine/tls/inspect.js';
import type { ServerCredentials, TestPki } from '../../../testkit/pki.js';
import {
  createCa,
  createSelfSigned,
  createTestPki,
  crossSign,
  daysFromNow,
  issueCertificate,
  LOCALHOST_NAMES,
} from '../../../testkit/pki.js';
import type { RunningTlsServer } from '../../../testkit/tls-servers.js';
import { startTlsServer } from '../../../testkit/tls-servers.js';

let pki: TestPki;
let ctx: ProbeContext;
const servers: RunningTlsServer[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  ctx = createContext({ extraCa: [pki.caPem] });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

interface ProbeOptions {
  readonly servername?: string;
  readonly identity?: IdentityMode;
  readonly clock?: Clock;
  readonly context?: ProbeContext;
}

/** Serves `credentials` on loopback, handshakes with the probe's options and inspects the session. */
async function inspect(credentials: ServerCredentials, o: ProbeOptions = {}): Promise<InspectedSession> {
  const server = await startTlsServer(credentials);
  servers.push(server);
  const servername = o.servername ?? 'localhost';
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect(
      { host: server.host, port: server.port, ...tlsClientOptions(o.context ?? ctx, servername) },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  try {
    return inspectTlsSession(socket, {
      servername,
      identity: o.identity ?? 'pkix',
      clock: o.clock ?? { now: () => Date.now() },
      thresholds: DEFAULT_THRESHOLDS,
      extraCa: (o.context ?? ctx).extraCa,
    });
  } finally {
    socket.destroy();
  }
}

const codes = (r: InspectedSession): string[] => r.findings.map((f) => f.code);

describe('inspectTlsSession against real TLS servers', () => {
  it('a valid chain: no findings, verified, full details', async () => {
    const r = await inspect(pki.credentials());
    expect(r.findings).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.tls.verified).toBe(true);
    expect(r.tls.protocol).toBe('TLSv1.3');
    expect(r.tls.ephemeralKey?.type).toBe('ECDH');
    expect(r.tls.servername).toBe('localhost');
    expect(r.tls.certificate).toMatchObject({
      subject: 'CN=localhost',
      keyType: 'EC',
      signatureAlgorithm: 'ecdsa-with-SHA256',
    });
    // Node appends the trust anchor it found in the store after what the server sent.
    expect(r.tls.chain.map((c) => c.subject)).toEqual([
      'CN=localhost',
      'CN=mailprobe test intermediate',
      'CN=mailprobe test root',
    ]);
    expect(r.tls.earliestExpiry?.subject).toBe('CN=localhost');
    expect(r.tls.earliestExpiry?.daysToExpiry).toBe(89);
  });

  it('an IP literal is checked against the IP SANs (and sent without SNI)', async () => {
    const r = await inspect(pki.credentials(), { servername: '127.0.0.1' });
    expect(r.findings).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it('expired', async () => {
    const r = await inspect(pki.credentials(await pki.expired()));
    expect(codes(r)).toEqual(['CERT_EXPIRED']);
    expect(r.findings[0]?.message).toMatch(/"CN=localhost".*expired on .*, 10 day\(s\) ago/);
    expect(r.verified).toBe(false);
    expect(r.tls.certificate?.daysToExpiry).toBe(-11);
  });

  it('expiring in 5 days is critical, in 20 days a warning', async () => {
    const soon = await inspect(pki.credentials(await pki.expiringInDays(5)));
    expect(soon.findings).toMatchObject([{ code: 'CERT_EXPIRING', severity: 'critical' }]);
    expect(soon.findings[0]?.message).toMatch(/"CN=localhost" expires on .*, in 5 day\(s\)/);
    expect(soon.verified).toBe(true);
    const later = await inspect(pki.credentials(await pki.expiringInDays(20)));
    expect(later.findings).toMatchObject([{ code: 'CERT_EXPIRING', severity: 'warning' }]);
    expect(later.tls.earliestExpiry?.daysToExpiry).toBe(20);
  });

  it('not yet valid', async () => {
    const r = await inspect(pki.credentials(await pki.notYetValid()));
    expect(codes(r)).toEqual(['CERT_NOT_YET_VALID']);
    expect(r.verified).toBe(false);
  });

  it('self-signed', async () => {
    const r = await inspect(pki.credentials(await pki.selfSigned(), { withIntermediate: false }));
    expect(codes(r)).toEqual(['CERT_SELF_SIGNED']);
    expect(r.verified).toBe(false);
    expect(r.tls.certificate?.selfIssued).toBe(true);
  });

  it('wrong name', async () => {
    const r = await inspect(pki.credentials(await pki.wrongName()));
    expect(codes(r)).toEqual(['CERT_NAME_MISMATCH']);
    expect(r.findings[0]?.message).toContain('not valid for localhost; it names DNS:mail.example.net');
    expect(r.verified).toBe(false);
  });

  it('leaf served without its intermediate', async () => {
    const r = await inspect(pki.credentials(pki.leaf, { withIntermediate: false }));
    expect(codes(r)).toEqual(['CERT_CHAIN_INCOMPLETE']);
    expect(r.findings[0]?.message).toContain('"CN=mailprobe test intermediate"');
    expect(r.verified).toBe(false);
  });

  it('an untrusted root, whether or not the server sends it', async () => {
    const other = await createTestPki({ rootName: 'unknown' });
    for (const withRoot of [false, true]) {
      const r = await inspect(other.credentials(other.leaf, { withRoot }));
      expect(codes(r)).toEqual(['CERT_UNTRUSTED']);
      expect(r.findings[0]?.message).toContain('"CN=unknown"');
      expect(r.verified).toBe(false);
    }
  });

  it('untrusted and expired reports both', async () => {
    const other = await createTestPki({ rootName: 'unknown' });
    const r = await inspect(other.credentials(await other.expired()));
    expect(codes(r)).toEqual(['CERT_UNTRUSTED', 'CERT_EXPIRED']);
  });

  it('self-signed and expired reports both', async () => {
    const old = await createSelfSigned({
      dnsNames: ['localhost'],
      notBefore: daysFromNow(-30),
      notAfter: daysFromNow(-1),
    });
    const r = await inspect({ key: old.keyPem, cert: old.certPem });
    expect(codes(r)).toEqual(['CERT_SELF_SIGNED', 'CERT_EXPIRED']);
  });

  it('an expired intermediate under a trusted root is only CERT_EXPIRED', async () => {
    const intermediate = await issueCertificate(pki.root, {
      commonName: 'old intermediate',
      isCa: true,
      notBefore: daysFromNow(-400),
      notAfter: daysFromNow(-2),
    });
    const leaf = await issueCertificate(intermediate, LOCALHOST_NAMES);
    const r = await inspect({ key: leaf.keyPem, cert: leaf.certPem + intermediate.certPem });
    expect(codes(r)).toEqual(['CERT_EXPIRED']);
    expect(r.findings[0]?.message).toContain('"CN=old intermediate"');
    expect(r.tls.earliestExpiry?.subject).toBe('CN=old intermediate');
  });

  it('an expired cross-certificate the server still sends is not used, so not reported', async () => {
    // As with Let's Encrypt's "ISRG Root X1" cross-signed by the expired "DST Root CA X3":
    // clients build the path to the self-signed root in their store (OpenSSL trusted-first).
    const oldRoot = await createCa({ commonName: 'old root' });
    const cross = await crossSign(pki.root, oldRoot, { notBefore: daysFromNow(-900), notAfter: daysFromNow(-30) });
    const r = await inspect({
      key: pki.leaf.keyPem,
      cert: pki.leaf.certPem + pki.intermediate.certPem + cross.certPem,
    });
    expect(r.findings).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.tls.chain.map((c) => c.subject)).toEqual([
      'CN=localhost',
      'CN=mailprobe test intermediate',
      'CN=mailprobe test root',
    ]);
    expect(r.tls.chain[2]?.selfIssued).toBe(true);
  });

  it('RSA 1024 leaf: CERT_WEAK_KEY, still verified', async () => {
    const r = await inspect(pki.credentials(await pki.rsa1024()));
    expect(codes(r)).toEqual(['CERT_WEAK_KEY']);
    expect(r.findings[0]?.message).toContain('1024-bit RSA key');
    expect(r.verified).toBe(true);
  });

  it('SHA-1 signed leaf: CERT_WEAK_SIGNATURE', async () => {
    const r = await inspect(pki.credentials(await pki.sha1()));
    expect(codes(r)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(r.findings[0]?.message).toContain('ecdsa-with-SHA1');
  });

  it("dates are judged on the probe's clock, not the machine's", async () => {
    const inHundredDays: Clock = { now: () => Date.now() + 100 * 86_400_000 };
    const r = await inspect(pki.credentials(), { clock: inHundredDays });
    expect(codes(r)).toEqual(['CERT_EXPIRED']);
  });

  it('dns-id refuses the CN fallback that pkix accepts, and pkix says it leaned on the CN', async () => {
    const cnOnly = await createSelfSigned({ commonName: 'localhost' });
    const trusting = createContext({ extraCa: [cnOnly.certPem] });
    const pkix = await inspect({ key: cnOnly.keyPem, cert: cnOnly.certPem }, { context: trusting });
    // Verified (OpenSSL-based MTAs accept it), but Go, rustls and RFC 9525 do not.
    expect(pkix.verified).toBe(true);
    expect(codes(pkix)).toEqual(['CERT_NAME_CN_ONLY']);
    expect(pkix.findings[0]?.severity).toBe('warning');
    expect(pkix.findings[0]?.message).toContain('only in its subject CN');
    const dnsId = await inspect(
      { key: cnOnly.keyPem, cert: cnOnly.certPem },
      { context: trusting, identity: 'dns-id' },
    );
    expect(codes(dnsId)).toEqual(['CERT_NAME_MISMATCH']);
    expect(dnsId.findings[0]?.message).toContain('no subject alternative names');
  });
});
