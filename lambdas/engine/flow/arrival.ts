/**
 * One arrived flow message, whichever way it was received (IMAP or SES), reduced to what the
 * flow reports: the token it carried, the hops with their TLS, the authentication verdicts,
 * and where it landed. Also the findings an arrival gives on its own (hops, verdicts, junk).
 */
import { finding, type Finding } from '../findings.js';
import { isBelowTls12 } from '../result.js';
import { headerValues, readHeaders, type HeaderSection } from './headers.js';
import { parseReceivedChain, type Hop } from './received.js';
import { TOKEN_HEADER, verifyToken, type FlowToken } from './token.js';

/** pass/fail/softfail/none/neutral/temperror/permerror (RFC 8601), or SES's PASS/FAIL/GRAY… lower-cased. */
export interface Verdicts {
  readonly spf?: string;
  readonly dkim?: string;
  readonly dmarc?: string;
  /** The verifier's reason when DKIM did not pass (e.g. "body hash did not verify"). */
  readonly dkimReason?: string;
  /** SES only: its spam and virus scans. */
  readonly spam?: string;
  readonly virus?: string;
}

export interface Arrival {
  readonly token: string;
  readonly flow: string;
  readonly sentAt: number;
  /** Epoch ms: the IMAP INTERNALDATE or SES's receipt timestamp. */
  readonly arrivedAt: number;
  readonly source: 'imap' | 'ses';
  /** `junk` when found in the junk folder. */
  readonly folder: 'inbox' | 'junk';
  /** Oldest first. */
  readonly hops: readonly Hop[];
  /** Received fields beyond the cap, not read. */
  readonly hopsDropped: number;
  /** The probe's own verdicts (IMAP, mailauth) or SES's (SES receiving). */
  readonly verdicts: Verdicts;
  /** What the receiving server itself wrote (Authentication-Results, RFC 8601), newest first. */
  readonly receiverResults: readonly string[];
  /** The message was cut at the size cap before it could be read in full. */
  readonly truncated?: boolean;
  /** Why the probe's own SPF/DKIM/DMARC verification could not run on it (the verifier's error). */
  readonly verifyError?: string;
}

/** Authentication-Results kept per arrival; a longer list is noise or an attack. */
export const MAX_AUTH_RESULTS = 5;

/** The tokens in a message that verify with `key` (a forged or foreign token is ignored). */
export function tokenOf(section: HeaderSection, key: Buffer): FlowToken | undefined {
  for (const value of headerValues(section, TOKEN_HEADER)) {
    const token = verifyToken(key, value);
    if (token !== undefined) return token;
  }
  return undefined;
}

export interface ArrivalInput {
  readonly message: Buffer;
  readonly key: Buffer;
  readonly arrivedAt: number;
  readonly source: 'imap' | 'ses';
  readonly folder: 'inbox' | 'junk';
  readonly verdicts: Verdicts;
  readonly truncated?: boolean;
}

/** The arrival in `message`, or undefined when it carries no token that verifies. */
export function readArrival(input: ArrivalInput): Arrival | undefined {
  const section = readHeaders(input.message);
  const token = tokenOf(section, input.key);
  if (token === undefined) return undefined;
  const chain = parseReceivedChain(headerValues(section, 'received'));
  return {
    token: token.value,
    flow: token.flow,
    sentAt: token.sentAt,
    arrivedAt: input.arrivedAt,
    source: input.source,
    folder: input.folder,
    hops: chain.hops,
    hopsDropped: chain.dropped,
    verdicts: input.verdicts,
    receiverResults: headerValues(section, 'authentication-results').slice(0, MAX_AUTH_RESULTS),
    ...(input.truncated === true ? { truncated: true } : {}),
  };
}

/**
 * The hop whose sending address SPF is checked against: the newest network hop with an
 * address, i.e. where the message entered the receiving side (later hops are its own
 * LMTP or internal relays).
 */
export function receivingHop(hops: readonly Hop[]): Hop | undefined {
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i]!;
    if ((hop.transport === 'tls' || hop.transport === 'none') && hop.fromAddress !== undefined) return hop;
  }
  return undefined;
}

function describeHop(hop: Hop): string {
  return `${hop.from ?? '?'}${hop.fromAddress !== undefined ? ` [${hop.fromAddress}]` : ''} → ${hop.by ?? '?'}`;
}

const FAILING = new Set(['fail', 'softfail', 'none', 'neutral', 'permerror', 'policy']);

/**
 * What kept the probe from reading an arrival in full. The flow's own message is ~1 KB with
 * one text part and a handful of hops, so each of these means something on the path
 * enlarged, looped or mangled it, and the verdicts (or the hop list) are incomplete.
 */
function unverifiableReasons(arrival: Arrival): string[] {
  const reasons: string[] = [];
  if (arrival.truncated === true) {
    reasons.push('it is larger than the read cap, so only its beginning was read and SPF/DKIM/DMARC were not verified');
  }
  if (arrival.hopsDropped > 0) {
    reasons.push(
      `its Received chain has ${arrival.hopsDropped + arrival.hops.length} fields; only the newest ${arrival.hops.length} were read (RFC 5321 §6.3 treats 100 or more as a mail loop)`,
    );
  }
  if (arrival.verifyError !== undefined) {
    reasons.push(`SPF/DKIM/DMARC verification could not run: ${arrival.verifyError.slice(0, 300)}`);
  }
  return reasons;
}

/** The findings an arrival gives by itself: clear-text and legacy-TLS hops, failed verdicts, junk, an unreadable message. */
export function arrivalFindings(arrival: Arrival): Finding[] {
  const findings: Finding[] = [];
  const unverifiable = unverifiableReasons(arrival);
  if (unverifiable.length > 0) {
    findings.push(
      finding('FLOW_MESSAGE_UNVERIFIABLE', `the arrived message could not be read in full: ${unverifiable.join('; ')}`),
    );
  }
  for (const hop of arrival.hops) {
    if (hop.transport === 'none') {
      findings.push(
        finding(
          'FLOW_HOP_CLEAR_TEXT',
          `hop ${describeHop(hop)} carried the message without TLS (with ${hop.protocol ?? '?'})`,
        ),
      );
    } else if (hop.transport === 'tls' && hop.tlsVersion !== undefined && isBelowTls12(hop.tlsVersion)) {
      findings.push(finding('FLOW_HOP_TLS_LEGACY', `hop ${describeHop(hop)} used ${hop.tlsVersion}`));
    }
  }
  const { spf, dkim, dmarc, spam, virus } = arrival.verdicts;
  const by = arrival.source === 'ses' ? 'SES' : 'the probe';
  const receiver =
    arrival.receiverResults.length > 0 ? `; the receiver wrote: ${arrival.receiverResults[0]!.slice(0, 300)}` : '';
  if (spf !== undefined && FAILING.has(spf)) {
    findings.push(finding('FLOW_SPF_FAIL', `SPF ${spf} (checked by ${by})${receiver}`));
  }
  if (dkim !== undefined && (FAILING.has(dkim) || dkim === 'gray')) {
    const reason = arrival.verdicts.dkimReason !== undefined ? `: ${arrival.verdicts.dkimReason.slice(0, 120)}` : '';
    findings.push(finding('FLOW_DKIM_FAIL', `DKIM ${dkim}${reason} (checked by ${by})${receiver}`));
  }
  if (dmarc === 'fail') findings.push(finding('FLOW_DMARC_FAIL', `DMARC fail (checked by ${by})${receiver}`));
  if (arrival.folder === 'junk') findings.push(finding('FLOW_SPAM', 'the message was delivered to the junk folder'));
  else if (spam === 'fail') findings.push(finding('FLOW_SPAM', 'SES gave the message a spam verdict (FAIL)'));
  if (virus === 'fail') findings.push(finding('FLOW_SPAM', 'SES gave the message a virus verdict (FAIL)'));
  return findings;
}
