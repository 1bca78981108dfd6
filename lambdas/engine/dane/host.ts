/**
 * One MX host's DANE verdict (RFC 7672): its address records and the TLSA RRset at
 * `_25._tcp.<host>` (CNAME-expanded base domain first, §2.2.3) looked up through the
 * probe's DNSSEC validator, the DNS state judged by an ordered table of rules, then
 * STARTTLS to every address and the presented chain matched against the usable records
 * (tlsa.ts).
 */
import type { X509Certificate } from 'node:crypto';
import type { Deadline } from '../deadline.js';
import { finding, type Finding } from '../findings.js';
import { ipFamily } from '../net/ip.js';
import { UNREACHABLE } from '../findings.js';
import { hostHasIpv6 } from '../net/address.js';
import { isPrivateAddress } from '../net/address.js';
import type { ProbeContext } from '../context.js';
import type { CertificateInfo } from '../result.js';
import { describeCertificate } from '../tls/certificate.js';
import { IANA_ROOT_ANCHORS } from '../dnssec/anchors.js';
import { createQuery, dnsServerAddresses, type QueryFn } from '../dnssec/transport.js';
import { Validator, worse, type SecurityStatus, type ValidatedAnswer } from '../dnssec/validator.js';
import { addressOf, tlsaOf, TYPE } from '../dnssec/wire.js';
import { starttlsEndpointProber, type EndpointProber } from './probe.js';
import { describeTlsa, matchChain, recordFor, USAGE, type TlsaRecordInfo } from './tlsa.js';

/**
 * Probe failures before TLS was tried: the MX could not be reached (or was not asked), so
 * its DANE state is unknown rather than failed. Everything else (STARTTLS missing or refused,
 * a failed handshake) fails delivery for a DANE sender.
 */
const UNREACHED: ReadonlySet<string> = new Set([...UNREACHABLE, 'ADDRESS_BLOCKED']);

export type DaneStatus =
  /** Every MX host with TLSA records authenticated on every address. */
  | 'valid'
  /** A DANE failure: senders that validate DANE defer or refuse mail. */
  | 'invalid'
  | 'not-deployed'
  /** The state could not be established (DNS failures). */
  | 'unknown';

export interface DaneEndpointReport {
  readonly address: string;
  readonly starttls: boolean;
  /** The chain as the server sent it, leaf first. */
  readonly chain: readonly CertificateInfo[];
  /** The TLSA record that authenticated the chain, and the certificate it matched (0: leaf). */
  readonly matched?: { readonly record: string; readonly depth: number; readonly subject: string };
  /** Why no record matched, record by record. */
  readonly mismatch?: readonly string[];
  /** The 3 1 1 record for the key the server presents, for the fix. */
  readonly currentKeyRecord?: string;
  readonly error?: string;
}

export interface DaneMxReport {
  readonly host: string;
  readonly priority: number;
  readonly addresses: readonly string[];
  readonly addressStatus?: SecurityStatus;
  readonly tlsa?: {
    /** The name looked up, `_25._tcp.<base domain>`. */
    readonly name: string;
    /** The owner of the records after CNAMEs. */
    readonly owner: string;
    readonly status: SecurityStatus;
    readonly records: readonly TlsaRecordInfo[];
    readonly why?: string;
  };
  readonly endpoints: readonly DaneEndpointReport[];
  /** Addresses not connected to, and why (an IPv6 address from a probe without IPv6). */
  readonly notProbed?: readonly { readonly address: string; readonly reason: string }[];
  readonly verdict: DaneStatus;
  readonly findings: readonly Finding[];
}

export interface DaneDeps {
  /** @default 25 */
  readonly mxPort?: number;
  /** @default the resolver in ctx.dnssec (or the system's) */
  readonly query?: QueryFn;
  /** @default STARTTLS via the engine's SMTP connector */
  readonly probe?: EndpointProber;
  /** @default DANE_MX_CONCURRENCY */
  readonly mxConcurrency?: number;
  /**
   * Connect to the MX addresses. False where port 25 is blocked: the DNS part (DNSSEC, TLSA
   * records, rollover) is still judged, the certificates are not. @default true
   */
  readonly connect?: boolean;
  /** Whether IPv6 addresses can be reached from here. @default hostHasIpv6() */
  readonly ipv6?: boolean;
}

export function createValidator(ctx: ProbeContext, deadline: Deadline, deps: DaneDeps = {}): Validator {
  return new Validator({
    query: deps.query ?? createQuery(dnsServerAddresses(ctx.dnssec?.server)),
    anchors: ctx.dnssec?.anchors ?? IANA_ROOT_ANCHORS,
    now: () => Math.floor(ctx.clock.now() / 1000),
    remainingMs: () => deadline.remainingMs(),
  });
}

export function internalError(what: string, err: unknown): Finding {
  return finding(
    'PROBE_INTERNAL_ERROR',
    `${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
  );
}

/** The TLSA RRset for a host: the CNAME-expanded base domain first, then the host name (RFC 7672 §2.2.3). */
async function tlsaFor(
  host: string,
  expanded: string | undefined,
  validator: Validator,
): Promise<{ base: string; answer: ValidatedAnswer }> {
  if (expanded !== undefined && expanded !== host) {
    const answer = await validator.lookup(`_25._tcp.${expanded}`, TYPE.TLSA);
    // Secure records there are the ones; a failed lookup there is a failure, not a reason to
    // look elsewhere (RFC 7672 §2.2.3): only a denial, or an unsigned zone, falls back.
    const failed = answer.status === 'bogus' || !answer.answered;
    if ((answer.status === 'secure' && answer.records.length > 0) || failed) return { base: expanded, answer };
  }
  return { base: host, answer: await validator.lookup(`_25._tcp.${host}`, TYPE.TLSA) };
}

/** What the DNS rules of a host judge: its address and TLSA lookups. */
interface HostDns {
  readonly host: string;
  readonly a: ValidatedAnswer;
  readonly aaaa: ValidatedAnswer;
  readonly addresses: readonly string[];
  readonly addressStatus: SecurityStatus;
  /** The TLSA lookup, and its records read. */
  readonly answer: ValidatedAnswer;
  readonly records: readonly TlsaRecordInfo[];
  /** `_25._tcp.<base domain>`. */
  readonly at: string;
  /** Why the MX RRset could not be verified, when it could not. */
  readonly mxUnverified: string | undefined;
}

interface DnsRule {
  readonly when: (d: HostDns) => boolean;
  readonly verdict: DaneStatus;
  readonly finding: (d: HostDns) => Finding;
}

/**
 * The DNS verdict of a host, rule by rule: the first whose `when` holds decides, and the
 * host is not probed. When none holds, the TLSA RRset and the address records are secure.
 */
const DNS_RULES: readonly DnsRule[] = [
  // RFC 7672 §2.2.2: with insecure address records senders do not use TLSA at all, so the
  // state of the TLSA RRset does not matter to them.
  {
    when: ({ addressStatus, a, aaaa, addresses }) =>
      addressStatus === 'insecure' && a.answered && aaaa.answered && addresses.length > 0,
    verdict: 'not-deployed',
    finding: ({ host, a, aaaa }) =>
      finding(
        'DANE_NOT_DEPLOYED',
        `the address records of ${host} are insecure (${a.status !== 'secure' ? a.why : aaaa.why}); senders do not use its TLSA records`,
      ),
  },
  {
    when: ({ answer }) => answer.status === 'bogus',
    verdict: 'invalid',
    finding: ({ answer, at }) => finding('DANE_DNSSEC_BOGUS', `TLSA ${at} fails DNSSEC validation: ${answer.why}`),
  },
  {
    when: ({ answer }) => !answer.answered,
    verdict: 'unknown',
    finding: ({ answer, at }) => finding('DANE_DNS_ERROR', `TLSA lookup of ${at} failed: ${answer.why}`),
  },
  {
    when: ({ records }) => records.length === 0,
    verdict: 'not-deployed',
    finding: ({ host, answer, at }) => {
      const how =
        answer.status === 'secure'
          ? 'securely denied'
          : answer.status === 'insecure'
            ? `its zone is not signed: ${answer.why}`
            : `the resolver says none exist, though the DNSSEC chain could not be checked: ${answer.why}`;
      return finding('DANE_NOT_DEPLOYED', `MX ${host} has no TLSA records at ${at} (${how})`);
    },
  },
  {
    when: ({ answer }) => answer.status === 'insecure',
    verdict: 'not-deployed',
    finding: ({ answer, at }) =>
      finding(
        'DANE_NOT_DEPLOYED',
        `TLSA records at ${at} are in an unsigned zone (${answer.why}); senders ignore them`,
      ),
  },
  {
    when: ({ answer, mxUnverified }) => answer.status === 'indeterminate' || mxUnverified !== undefined,
    verdict: 'unknown',
    finding: ({ answer, at, mxUnverified }) => {
      const why = answer.status === 'indeterminate' ? answer.why : (mxUnverified as string);
      return finding('DANE_DNS_ERROR', `TLSA records at ${at} are published, but DNSSEC could not be verified: ${why}`);
    },
  },
  // The TLSA RRset is secure from here on.
  {
    when: ({ a, aaaa }) => a.status === 'bogus' || aaaa.status === 'bogus',
    verdict: 'invalid',
    finding: ({ host, a, aaaa }) =>
      finding(
        'DANE_DNSSEC_BOGUS',
        `the address records of ${host} fail DNSSEC validation: ${a.status === 'bogus' ? a.why : aaaa.why}`,
      ),
  },
  {
    when: ({ a, aaaa }) => !a.answered || !aaaa.answered,
    verdict: 'unknown',
    finding: ({ host, a, aaaa }) =>
      finding('DANE_DNS_ERROR', `address lookup of ${host} failed: ${!a.answered ? a.why : aaaa.why}`),
  },
  {
    when: ({ addresses }) => addresses.length === 0,
    verdict: 'unknown',
    finding: ({ host }) => finding('DNS_NXDOMAIN', `MX ${host} has no A or AAAA records`),
  },
  // RFC 7672 §2.2.2: TLSA records apply only when the address records were secure too.
  {
    when: ({ addressStatus }) => addressStatus !== 'secure',
    verdict: 'not-deployed',
    finding: ({ host, addressStatus, a, aaaa }) =>
      finding(
        'DANE_NOT_DEPLOYED',
        `the address records of ${host} are ${addressStatus} (${a.status !== 'secure' ? a.why : aaaa.why}); senders do not use its TLSA records`,
      ),
  },
];

/** One MX host's DANE verdict: lookups, the DNS rules, then STARTTLS to every address. */
export async function hostVerdict(
  host: string,
  priority: number,
  validator: Validator,
  ctx: ProbeContext,
  deadline: Deadline,
  deps: DaneDeps,
  mxUnverified: string | undefined,
): Promise<DaneMxReport> {
  const [a, aaaa] = await Promise.all([validator.lookup(host, TYPE.A), validator.lookup(host, TYPE.AAAA)]);
  // Records from unsigned or unverified zones reach here unchecked: a malformed one is skipped.
  const addresses = [...a.records, ...aaaa.records].flatMap((r) => parsed(() => addressOf(r.type, r.rdata)));
  const addressStatus = worse(a.status, aaaa.status);
  // The CNAME-expanded name is a TLSA base domain only when the chain to it is secure (§2.2.3).
  const expanded = addressStatus === 'secure' ? (a.cnames.at(-1) ?? aaaa.cnames.at(-1)) : undefined;
  const { base, answer } = await tlsaFor(host, expanded, validator);
  const records = answer.records.map((r) => parsed(() => describeTlsa(tlsaOf(r.rdata)))[0] ?? malformedTlsa(r.rdata));
  const tlsa = {
    name: answer.name,
    owner: answer.owner,
    status: answer.status,
    records,
    ...(answer.status !== 'secure' ? { why: answer.why } : {}),
  };
  const report = (
    verdict: DaneStatus,
    findings: Finding[],
    endpoints: DaneEndpointReport[] = [],
    notProbed: { address: string; reason: string }[] = [],
  ): DaneMxReport => ({
    host,
    priority,
    addresses,
    addressStatus,
    tlsa,
    endpoints,
    ...(notProbed.length > 0 ? { notProbed } : {}),
    verdict,
    findings,
  });
  const at = `_25._tcp.${base}`;

  const dns: HostDns = { host, a, aaaa, addresses, addressStatus, answer, records, at, mxUnverified };
  const rule = DNS_RULES.find((r) => r.when(dns));
  if (rule !== undefined) return report(rule.verdict, [rule.finding(dns)]);

  const findings: Finding[] = [];
  const usable = records.filter((r) => r.usable);
  if (usable.length === 0) {
    findings.push(
      finding(
        'DANE_TLSA_UNUSABLE',
        `TLSA ${at} has no record usable for SMTP: ${records.map((r) => `${r.text.slice(0, 24)}… (${r.unusable ?? ''})`).join('; ')}`,
      ),
    );
  } else if (new Set(usable.map((r) => r.text)).size === 1) {
    findings.push(
      finding(
        'DANE_NO_ROLLOVER',
        `TLSA ${at} has a single usable record (${usable[0]?.text.slice(0, 24)}…): the next key rotation breaks delivery`,
      ),
    );
  }
  if (deps.connect === false) return report(usable.length === 0 ? 'not-deployed' : 'unknown', findings);
  const probed = await probeEndpoints(host, base, addresses, records, ctx, deadline, deps, findings);
  const verdict: DaneStatus = probed.failed
    ? 'invalid'
    : usable.length === 0
      ? 'not-deployed'
      : probed.unreached || probed.endpoints.length === 0
        ? 'unknown'
        : 'valid';
  return report(verdict, findings, probed.endpoints, probed.notProbed);
}

/**
 * STARTTLS to every address of a host whose TLSA RRset and address records are secure, each
 * presented chain matched against the records. Findings are added to `findings`.
 */
async function probeEndpoints(
  host: string,
  base: string,
  addresses: readonly string[],
  records: readonly TlsaRecordInfo[],
  ctx: ProbeContext,
  deadline: Deadline,
  deps: DaneDeps,
  findings: Finding[],
): Promise<{
  endpoints: DaneEndpointReport[];
  notProbed: { address: string; reason: string }[];
  failed: boolean;
  unreached: boolean;
}> {
  const at = `_25._tcp.${base}`;
  const usable = records.filter((r) => r.usable);
  const names = [...new Set([base, host])];
  const endpoints: DaneEndpointReport[] = [];
  let failed = false;
  let unreached = false;
  const notProbed: { address: string; reason: string }[] = [];
  const ipv6 = deps.ipv6 ?? hostHasIpv6();
  for (const address of addresses) {
    // An IPv6 address this host cannot reach says nothing about the MX (the mta-sts check does the same).
    if (!ipv6 && ipFamily(address) === 6) {
      notProbed.push({ address, reason: 'the probe has no IPv6 connectivity' });
      continue;
    }
    if (isPrivateAddress(address) && !ctx.allowPrivate) {
      findings.push(finding('ADDRESS_BLOCKED', `MX ${host} resolves to ${address}, a private address (not probed)`));
      unreached = true;
      continue;
    }
    // SNI is the TLSA base domain (RFC 7672 §8.1): the CNAME-expanded name when its records are the ones used.
    const probe = await (deps.probe ?? starttlsEndpointProber)(base, address, deps.mxPort ?? 25, ctx, deadline);
    if (!probe.ok) {
      endpoints.push({ address, starttls: false, chain: [], error: `${probe.code}: ${probe.message}` });
      // No TLS where TLSA is published is a DANE failure; no connection at all says nothing of DANE.
      if (UNREACHED.has(probe.code)) unreached = true;
      else failed = true;
      findings.push(
        probe.code === 'STARTTLS_NOT_OFFERED'
          ? finding(
              'DANE_STARTTLS_MISSING',
              `MX ${host} (${address}) publishes TLSA records at ${at} but offers no STARTTLS`,
            )
          : finding(probe.code, `DANE probe of MX ${host} (${address}): ${probe.message}`),
      );
      continue;
    }
    const nowMs = ctx.clock.now();
    const chain = probe.chain.map((c) => describeCertificate(c, nowMs));
    const leaf = probe.chain[0];
    const currentKeyRecord = leaf !== undefined ? recordFor(leaf, USAGE.DANE_EE, 1, 1) : undefined;
    if (usable.length === 0) {
      endpoints.push({ address, starttls: true, chain, ...(currentKeyRecord ? { currentKeyRecord } : {}) });
      continue;
    }
    const verdict = matchChain(records, probe.chain, { names, nowMs });
    if (verdict.ok) {
      const record = records[verdict.match.record] as TlsaRecordInfo;
      endpoints.push({
        address,
        starttls: true,
        chain,
        matched: {
          record: record.text,
          depth: verdict.match.depth,
          subject:
            verdict.match.depth < probe.chain.length
              ? subjectOf(probe.chain[verdict.match.depth])
              : 'the trust anchor of the record (not sent by the server)',
        },
      });
      continue;
    }
    failed = true;
    endpoints.push({
      address,
      starttls: true,
      chain,
      mismatch: verdict.reasons,
      ...(currentKeyRecord ? { currentKeyRecord } : {}),
    });
    findings.push(
      finding(
        'DANE_TLSA_MISMATCH',
        `no usable TLSA record at ${at} authenticates MX ${host} (${address}): ${verdict.reasons.join('; ')}. The key it presents is \`${at}. IN TLSA ${currentKeyRecord ?? '?'}\``,
      ),
    );
  }
  return { endpoints, notProbed, failed, unreached };
}

/** A TLSA record too short to read: published, so reported, and unusable (RFC 7671 §4). */
function malformedTlsa(rdata: Buffer): TlsaRecordInfo {
  const hex = rdata.toString('hex').slice(0, 64);
  return {
    usage: -1,
    selector: -1,
    matchingType: -1,
    data: hex,
    text: `malformed ${hex}`,
    usable: false,
    unusable: `malformed RDATA (${rdata.length} bytes)`,
  };
}

/** The value of a record parser, or nothing when the RDATA is malformed (WireError). */
export function parsed<T>(read: () => T): T[] {
  try {
    return [read()];
  } catch {
    return [];
  }
}

function subjectOf(cert: X509Certificate | undefined): string {
  return cert === undefined ? '' : cert.subject.replace(/\n/g, ', ');
}
