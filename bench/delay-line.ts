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
import { performance } from 'node:perf_hooks';

export type Direction = 'c2s' | 's2c';

/** One chunk through the line: its direction and when it was delivered (performance.now()). */
export interface Chunk {
  readonly direction: Direction;
  deliveredAt: number;
}

export interface DelayLine {
  readonly port: number;
  readonly oneWayMs: number;
  /** Directions of the chunks of each connection so far, in order. */
  readonly connections: readonly Direction[][];
  /** The chunks of each connection, with their delivery times (Infinity until delivered). */
  readonly chunks: readonly Chunk[][];
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
  const chunkLists: Chunk[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const directions: Direction[] = [];
    connections.push(directions);
    const chunks: Chunk[] = [];
    chunkLists.push(chunks);
    const record = (direction: Direction): Chunk => {
      directions.push(direction);
      const chunk: Chunk = { direction, deliveredAt: Number.POSITIVE_INFINITY };
      chunks.push(chunk);
      return chunk;
    };
    client.setNoDelay(true);
    sockets.add(client);
    client.pause();
    const pending: Buffer[] = [];
    let upstream: net.Socket | undefined;
    const later = (fn: () => void) => setTimeout(fn, oneWayMs);
    client.on('data', (chunk) => {
      const seen = record('c2s');
      later(() => {
        seen.deliveredAt = performance.now();
        if (upstream) upstream.write(chunk);
        else pending.push(chunk);
      });
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
        const seen = record('s2c');
        later(() => {
          seen.deliveredAt = performance.now();
          client.write(chunk);
        });
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
    chunks: chunkLists,
    reset: () => {
      connections.splice(0);
      chunkLists.splice(0);
    },
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

/**
 * Round trips a client waited for, counted on the wire: the TCP handshake (emulated, 1)
 * plus every server flight delivered before the client was done (`doneAt`). Independent of
 * machine load, unlike wall time; a client that also waits on a timer would need the
 * time-based figure to show it.
 */
export function roundTripsWaited(chunks: readonly Chunk[], doneAt: number): number {
  let waited = 1;
  let last: Direction | undefined;
  for (const chunk of chunks) {
    if (chunk.direction === 's2c' && last !== 's2c' && chunk.deliveredAt <= doneAt) waited++;
    last = chunk.direction;
  }
  return waited;
}
