/**
 * SPF, DKIM and DMARC of a message read over IMAP, verified by the probe itself with
 * mailauth (postalsys), through the engine's resolver and the check's deadline: the
 * receiver's own Authentication-Results are reported too, but a mailbox provider may
 * not write them, or write them for a hop the probe does not care about.
 */
import { isIPv6 } from 'node:net';
import { authenticate, type DNSResolver } from 'mailauth';
import { DnsError, type Resolver } from '../net/resolver.js';
import type { Verdicts } from './arrival.js';
import { receivingHop } from './arrival.js';
import type { Hop } from './received.js';

/** mailauth reads Node's error codes: NXDOMAIN and NODATA are "no record", anything else temporary. */
function nodeError(err: unknown): Error {
  const code =
    err instanceof DnsError
      ? err.kind === 'NXDOMAIN'
        ? 'ENOTFOUND'
        : err.kind === 'NODATA'
          ? 'ENODATA'
          : 'ETIMEOUT'
      : 'ESERVFAIL';
  return Object.assign(new Error(err instanceof Error ? err.message : String(err)), { code });
}

/** The engine's resolver in mailauth's shape, cancelled with `signal` (the check's deadline). */
export function mailauthResolver(resolver: Resolver, signal: AbortSignal): DNSResolver {
  return async (name, rrtype) => {
    try {
      switch (rrtype.toUpperCase()) {
        case 'TXT':
          return await resolver.txt(name, { signal });
        case 'MX':
          return (await resolver.mx(name, { signal })).map((mx) => ({
            exchange: mx.exchange,
            priority: mx.priority,
          })) as unknown as string[];
        case 'A':
        case 'AAAA': {
          const v6 = rrtype.toUpperCase() === 'AAAA';
          const list = (await resolver.addresses(name, { signal })).filter((a) => isIPv6(a) === v6);
          if (list.length === 0) throw new DnsError('NODATA', name, rrtype);
          return list;
        }
        default:
          // PTR (SPF's `ptr` mechanism, deprecated by RFC 7208 §5.5) is not resolved.
          throw new DnsError('NODATA', name, rrtype);
      }
    } catch (err) {
      throw nodeError(err);
    }
  };
}

export interface AuthInput {
  readonly message: Buffer;
  readonly hops: readonly Hop[];
  /** The envelope sender (the flow's `from`), when the message has no Return-Path. */
  readonly sender: string;
  readonly resolver: Resolver;
  readonly signal: AbortSignal;
}

/** The probe's own verdicts; a step that could not run is left out rather than guessed. */
export async function verifyAuthentication(input: AuthInput): Promise<Verdicts> {
  const hop = receivingHop(input.hops);
  const result = await authenticate(input.message, {
    resolver: mailauthResolver(input.resolver, input.signal),
    sender: input.sender,
    ...(hop?.fromAddress !== undefined ? { ip: hop.fromAddress } : {}),
    ...(hop?.from !== undefined ? { helo: hop.from } : {}),
    mta: 'mailprobe.invalid',
    disableArc: true,
    disableBimi: true,
  });
  const dkimResults = result.dkim.results.map((r) => r.status.result);
  const dkim = dkimResults.includes('pass') ? 'pass' : (dkimResults[0] ?? 'none');
  // Why the first signature failed, in mailauth's words: the on-call engineer's first clue.
  const dkimReason = dkim === 'pass' ? undefined : result.dkim.results[0]?.status.comment;
  return {
    ...(result.spf !== false && hop !== undefined ? { spf: result.spf.status.result } : {}),
    dkim,
    ...(typeof dkimReason === 'string' && dkimReason !== '' ? { dkimReason } : {}),
    ...(result.dmarc !== false ? { dmarc: result.dmarc.status.result } : {}),
  };
}
