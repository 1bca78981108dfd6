/**
 * Round trips on the wire, from tun-delay.py's packet trace (MPBENCH_TRACE=1): a figure that
 * does not move with the machine's load, beside the timed ones.
 *
 * A round trip is a server flight the client waited for: the server's packets with payload
 * between two client sends count once if the client then sent data or closed (FIN), i.e.
 * reacted to them. The TCP handshake counts one. A server flight the client never reacted to
 * (the 221 after a QUIT the process did not wait for; the client answers it with RST) does
 * not count, and a client that waits for the 221 before closing pays it.
 */

export interface TracedPacket {
  readonly from: 'client' | 'server';
  readonly flags: string;
  readonly payload: number;
}

/** Parses "   123.4 client> .P 46" / "   125.0 <server S. 0" lines; others are skipped. */
export function parseTrace(lines: readonly string[]): TracedPacket[] {
  const out: TracedPacket[] = [];
  for (const line of lines) {
    const m = /^\s*[\d.]+\s+(client>|<server)\s+([SFPR.]+)\s+(\d+)\s*$/.exec(line);
    if (m === null) continue;
    out.push({ from: m[1] === 'client>' ? 'client' : 'server', flags: m[2] ?? '', payload: Number(m[3]) });
  }
  return out;
}

export function roundTripsOnTheWire(packets: readonly TracedPacket[]): number {
  let trips = 0;
  let pendingServerFlight = false;
  for (const p of packets) {
    if (p.from === 'client') {
      if (p.flags.includes('S') && !p.flags.includes('.')) {
        trips += 1; // SYN → SYN-ACK
        continue;
      }
      const reacts = p.payload > 0 || p.flags.includes('F');
      if (reacts && pendingServerFlight) {
        trips += 1;
        pendingServerFlight = false;
      }
    } else if (p.payload > 0) {
      pendingServerFlight = true;
    }
  }
  return trips;
}
