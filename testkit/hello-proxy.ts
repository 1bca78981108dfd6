/**
 * A TCP proxy in front of a TLS server that reads each connection's ClientHello and
 * decides, like a firewall or IPS would, what to do with it: pass it on, reset the
 * connection, or swallow it and never answer. Lets a test give the tls check's parallel
 * handshakes (default, DHE-only, one per version) different fates on one endpoint.
 */
import net from 'node:net';

export interface ClientHelloFacts {
  /** legacy_version of the ClientHello, e.g. 0x0303. */
  readonly legacyVersion: number;
  readonly cipherSuites: readonly number[];
  /** The supported_versions extension (RFC 8446 §4.2.1), absent for clients up to TLS 1.2. */
  readonly supportedVersions?: readonly number[];
}

export type HelloVerdict = 'pass' | 'reset' | 'stall';

/** Parses the first TLS record's ClientHello; undefined until it is complete. */
export function parseClientHello(data: Buffer): ClientHelloFacts | undefined {
  if (data.length < 5 || data[0] !== 0x16) return undefined;
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return undefined;
  const hello = data.subarray(9, 5 + recordLength);
  let at = 0;
  const legacyVersion = hello.readUInt16BE(at);
  at += 2 + 32;
  at += 1 + (hello[at] ?? 0);
  const suitesLength = hello.readUInt16BE(at);
  at += 2;
  const cipherSuites: number[] = [];
  for (let i = 0; i < suitesLength; i += 2) cipherSuites.push(hello.readUInt16BE(at + i));
  at += suitesLength;
  at += 1 + (hello[at] ?? 0);
  let supportedVersions: number[] | undefined;
  if (at + 2 <= hello.length) {
    const end = at + 2 + hello.readUInt16BE(at);
    at += 2;
    while (at + 4 <= end) {
      const type = hello.readUInt16BE(at);
      const length = hello.readUInt16BE(at + 2);
      if (type === 0x002b) {
        supportedVersions = [];
        const count = hello[at + 4] ?? 0;
        for (let i = 0; i < count; i += 2) supportedVersions.push(hello.readUInt16BE(at + 5 + i));
      }
      at += 4 + length;
    }
  }
  return { legacyVersion, cipherSuites, ...(supportedVersions !== undefined ? { supportedVersions } : {}) };
}

export interface RunningProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly verdicts: HelloVerdict[];
  close(): Promise<void>;
}

export async function startHelloProxy(
  upstreamPort: number,
  decide: (hello: ClientHelloFacts) => HelloVerdict,
): Promise<RunningProxy> {
  const sockets = new Set<net.Socket>();
  const verdicts: HelloVerdict[] = [];
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const hello = parseClientHello(buffered);
      if (hello === undefined) return;
      client.off('data', onData);
      const verdict = decide(hello);
      verdicts.push(verdict);
      if (verdict === 'reset') {
        client.resetAndDestroy();
      } else if (verdict === 'pass') {
        const upstream = net.connect(upstreamPort, '127.0.0.1');
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
        upstream.write(buffered);
        client.pipe(upstream);
        upstream.pipe(client);
      }
      // 'stall': keep the connection open and say nothing.
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    verdicts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The ECDHE suites OpenSSL offers by default (RFC 8422, RFC 5289, RFC 7905). */
const ECDHE_SUITES = new Set([
  0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028, 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca8, 0xcca9,
]);

/** No TLS 1.3 suite (RFC 8446 B.4) and no ECDHE suite: the tls check's DHE-only offer. */
export function offersOnlyDhe(hello: ClientHelloFacts): boolean {
  return !hello.cipherSuites.some((s) => (s >= 0x1301 && s <= 0x1305) || ECDHE_SUITES.has(s));
}

/** True when the client would accept TLS 1.0 (its legacy_version or supported_versions says so). */
export function acceptsTls10(hello: ClientHelloFacts): boolean {
  if (hello.supportedVersions !== undefined) return hello.supportedVersions.includes(0x0301);
  return hello.legacyVersion === 0x0301;
}
