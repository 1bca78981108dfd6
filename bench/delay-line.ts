/**
 * A user-space delay line on loopback (this kernel has no netem): a TCP proxy that holds
 * every chunk `oneWayMs` in each direction, so a request/answer pair costs one round trip
 * of 2 × oneWayMs, and records the direction of each chunk to count flights.
 *
 * The client's own connect() completes at once (the kernel accepts on the proxy's socket),
 * so the proxy holds the upstream connect for 1.5 round trips instead (SYN, SYN-ACK, ACK):
 * the server's greeting then reaches the client 2 round trips after it started, as over a
 * real link. Chunks in one direction keep their order (equal delays fire in order).
 */
import net from 'node:net';

export type Direction = 'c2s' | 's2c';

export interface DelayLine {
  readonly port: number;
  readonly oneWayMs: number;
  /** Directions of the chunks of each connection so far, in order. */
  readonly connections: readonly Direction[][];
  /** Forget the recorded connections. */
  reset(): void;
  close(): Promise<void>;
}

export async function startDelayLine(
  targetPort: number,
  oneWayMs: number,
  targetHost = '127.0.0.1',
): Promise<DelayLine> {
  const connections: Direction[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const directions: Direction[] = [];
    connections.push(directions);
    client.setNoDelay(true);
    sockets.add(client);
    client.pause();
    const pending: Buffer[] = [];
    let upstream: net.Socket | undefined;
    const later = (fn: () => void) => setTimeout(fn, oneWayMs);
    client.on('data', (chunk) => {
      directions.push('c2s');
      later(() => (upstream ? upstream.write(chunk) : pending.push(chunk)));
    });
    client.on('end', () => later(() => upstream?.end()));
    client.on('error', () => upstream?.destroy());
    client.on('close', () => {
      sockets.delete(client);
      later(() => upstream?.destroy());
    });
    // 1.5 round trips of TCP handshake before the server accepts.
    setTimeout(() => {
      if (client.destroyed) return;
      upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true });
      sockets.add(upstream);
      upstream.on('connect', () => {
        for (const chunk of pending.splice(0)) upstream?.write(chunk);
        client.resume();
      });
      upstream.on('data', (chunk) => {
        directions.push('s2c');
        later(() => client.write(chunk));
      });
      upstream.on('end', () => later(() => client.end()));
      upstream.on('error', () => later(() => client.destroy()));
      upstream.on('close', () => sockets.delete(upstream as net.Socket));
    }, 3 * oneWayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    oneWayMs,
    connections,
    reset: () => void connections.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs of chunks in one direction: each is one flight. */
export function countFlights(directions: readonly Direction[]): number {
  let flights = 0;
  let last: Direction | undefined;
  for (const d of directions) {
    if (d !== last) flights++;
    last = d;
  }
  return flights;
}
