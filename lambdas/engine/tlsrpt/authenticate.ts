/**
 * Who sent a mailed report, as far as the message proves it. RFC 8460 §5.3 asks reporters
 * to DKIM-sign their reports; a report mail is authenticated when a DKIM signature
 * verifies (mailauth, a maintained implementation of RFC 6376) and its signing domain is
 * aligned with the `From:` domain (relaxed, organisational-domain alignment as DMARC does),
 * and SES's own DKIM verdict on the receipt event does not say FAIL. A forged
 * `From: noreply-smtp-tls-reporting@google.com` without google.com's key is unauthenticated
 * (issue 25 item 6); so is a message signed by the attacker's own domain under Google's From.
 *
 * Bounded: the message is already capped (4 MiB); at most MAX_SIGNATURES signatures are
 * looked at (each costs a DNS lookup and an RSA verification); every lookup has a deadline.
 */
import { Resolver } from 'node:dns/promises';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

/** A resolver as mailauth calls it: TXT answers as lists of character-strings. */
export type DkimResolver = (name: string, rrtype: string) => Promise<string[][] | string[]>;

/** Real reports carry one or two signatures (the sender's, sometimes an ESP's). */
export const MAX_SIGNATURES = 5;
export const DNS_TIMEOUT_MS = 2_000;
/** The whole verification: lookups of every signature, hashing and RSA. */
export const VERIFY_DEADLINE_MS = 8_000;

/** SES's verdicts from the receipt event (`PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED`). */
export interface SesVerdicts {
  readonly spf?: string;
  readonly dkim?: string;
}

export interface MailAuthentication {
  readonly authenticated: boolean;
  /** The aligned signing domain that verified, lowercase: the submitter's identity when authenticated. */
  readonly domain?: string;
  /** The `From:` address's domain, lowercase (what the message claims). */
  readonly fromDomain?: string;
  /** Why it is or is not authenticated, one line for the log. */
  readonly reason: string;
  readonly ses?: SesVerdicts;
}

/**
 * Node's resolver with a deadline per query: the system's servers (Lambda: the VPC
 * resolver), or `servers` (`127.0.0.1:PORT`, tests).
 */
export function systemDkimResolver(timeoutMs = DNS_TIMEOUT_MS, servers?: readonly string[]): DkimResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers) resolver.setServers([...servers]);
  return (name, rrtype) =>
    rrtype === 'TXT' ? resolver.resolveTxt(name) : (resolver.resolve(name, rrtype) as Promise<string[]>);
}

function countSignatures(message: Uint8Array): number {
  // Headers end at the first empty line; only header fields can be signatures.
  const text = Buffer.from(message.subarray(0, Math.min(message.length, 256 * 1024))).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = end >= 0 ? text.slice(0, end) : text;
  return (head.match(/^dkim-signature\s*:/gim) ?? []).length;
}

export async function authenticateMail(
  message: Uint8Array,
  options: { resolver?: DkimResolver; now?: Date; ses?: SesVerdicts; deadlineMs?: number } = {},
): Promise<MailAuthentication> {
  const ses = options.ses && (options.ses.spf || options.ses.dkim) ? { ses: options.ses } : {};
  const signatures = countSignatures(message);
  if (signatures === 0) return { authenticated: false, reason: 'no DKIM signature', ...ses };
  if (signatures > MAX_SIGNATURES) {
    return {
      authenticated: false,
      reason: `${signatures} DKIM signatures, more than the ${MAX_SIGNATURES} looked at: not verified`,
      ...ses,
    };
  }
  const deadlineMs = options.deadlineMs ?? VERIFY_DEADLINE_MS;
  let timer: NodeJS.Timeout | undefined;
  let result;
  try {
    result = await Promise.race([
      dkimVerify(Buffer.from(message), {
        resolver: options.resolver ?? systemDkimResolver(),
        ...(options.now ? { curTime: options.now } : {}),
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`DKIM verification over ${deadlineMs} ms`)), deadlineMs);
      }),
    ]);
  } catch (err) {
    return { authenticated: false, reason: `DKIM not verified: ${(err as Error).message}`.slice(0, 200), ...ses };
  } finally {
    clearTimeout(timer);
  }
  const from = result.headerFrom?.[0];
  const fromDomain = from ? from.split('@').pop()?.toLowerCase() : undefined;
  const facts = { ...(fromDomain ? { fromDomain } : {}), ...ses };
  const passing = result.results.filter((r) => r.status?.result === 'pass');
  const aligned = passing.find((r) => Boolean(r.status.aligned));
  if (!aligned) {
    const seen = result.results.map((r) => `d=${r.signingDomain} ${r.status?.result ?? 'none'}`).join(', ');
    return {
      authenticated: false,
      reason:
        passing.length > 0
          ? `DKIM passes (${seen}) but not aligned with From ${fromDomain ?? '(none)'}`
          : `DKIM ${seen}`,
      ...facts,
    };
  }
  // SES verified the same message on receipt; if it saw a failing signature, do not overrule it.
  if (options.ses?.dkim === 'FAIL') {
    return {
      authenticated: false,
      reason: 'SES DKIM verdict FAIL',
      domain: aligned.signingDomain.toLowerCase(),
      ...facts,
    };
  }
  return {
    authenticated: true,
    domain: aligned.signingDomain.toLowerCase(),
    reason: `DKIM pass, d=${aligned.signingDomain} aligned with From`,
    ...facts,
  };
}
