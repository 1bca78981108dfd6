/**
 * What the server sent on the wire during a handshake, for what Node does not expose:
 * the certificate list exactly as sent (Node's getPeerCertificate() reorders it, drops
 * duplicates and certificates on no path, and adds issuers from the trust store), and the
 * first plaintext bytes after a 220 to STARTTLS.
 *
 * A WireTap sits between the TLS client and the TCP socket (tls.connect({ socket: tap }))
 * and keeps the first `maxBytes` the server sent. Only TLS ≤ 1.2 sends its Certificate
 * message in clear (RFC 5246 §7.4.2); TLS 1.3 encrypts it, so the list is read from a
 * TLS 1.2 handshake.
 */
import type { X509Certificate } from 'node:crypto';
import { X509Certificate as X509 } from 'node:crypto';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import type tls from 'node:tls';

/** Enough for a handshake's first flight with a long chain (certificates are 1–2 KB each). */
export const HANDSHAKE_CAPTURE_BYTES = 64 * 1024;

export class WireTap extends Duplex {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(
    private readonly inner: net.Socket,
    private readonly maxBytes: number,
  ) {
    super();
    inner.on('data', (chunk: Buffer) => {
      if (this.kept < this.maxBytes) {
        const part = chunk.subarray(0, this.maxBytes - this.kept);
        this.chunks.push(part);
        this.kept += part.length;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  /** The first bytes received, up to maxBytes. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.inner.write(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.inner.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }
}

const taps = new WeakMap<tls.TLSSocket, WireTap>();

export function attachWire(socket: tls.TLSSocket, tap: WireTap): void {
  taps.set(socket, tap);
}

/** What the server sent on this socket's handshake, if it was captured. */
export function wireOf(socket: tls.TLSSocket): Buffer | undefined {
  return taps.get(socket)?.received();
}

/**
 * The certificate_list of the server's Certificate message (RFC 5246 §7.4.2), in the
 * order sent, from the captured bytes of a TLS ≤ 1.2 handshake. Undefined when the bytes
 * hold no clear-text Certificate message (TLS 1.3, or a capture cut short).
 */
export function sentCertificates(wire: Buffer): X509Certificate[] | undefined {
  // Reassemble the handshake stream from the records of content type 22 (handshake),
  // up to the first record of another type (ChangeCipherSpec, alert).
  const parts: Buffer[] = [];
  for (let at = 0; at + 5 <= wire.length;) {
    const type = wire[at];
    const length = wire.readUInt16BE(at + 3);
    if (type !== 22 || at + 5 + length > wire.length) break;
    parts.push(wire.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  const stream = Buffer.concat(parts);
  for (let at = 0; at + 4 <= stream.length;) {
    const type = stream[at];
    const length = stream.readUIntBE(at + 1, 3);
    if (at + 4 + length > stream.length) return undefined;
    if (type === 11) return parseCertificateList(stream.subarray(at + 4, at + 4 + length));
    if (type === 14) return undefined; // ServerHelloDone: no certificate (anonymous suites)
    at += 4 + length;
  }
  return undefined;
}

function parseCertificateList(body: Buffer): X509Certificate[] | undefined {
  if (body.length < 3) return undefined;
  const total = body.readUIntBE(0, 3);
  const certs: X509Certificate[] = [];
  for (let at = 3; at + 3 <= Math.min(body.length, 3 + total);) {
    const length = body.readUIntBE(at, 3);
    const der = body.subarray(at + 3, at + 3 + length);
    if (der.length !== length) return undefined;
    try {
      certs.push(new X509(der));
    } catch {
      return undefined;
    }
    at += 3 + length;
  }
  return certs;
}
