/**
 * The `tls` check: the TLS posture of one endpoint. Six handshakes run at once, so the
 * check costs about one session of wall time (those that got no answer are retried one
 * at a time, for servers that allow one session per client):
 * - the default one (what a client gets: certificate, protocol, cipher, ECDH group);
 * - a DHE-only TLS 1.2 one, for the DH group size (TLS 1.3 or any ECDHE suite would
 *   hide it), at explicit security level 0 and minDHSize 512 so the measurement does not
 *   depend on the runtime's OpenSSL defaults;
 * - one per protocol version, min = max, to learn which versions are accepted.
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { TlsCheckSpec } from '../checks.js';
import { effectiveTlsMode, serverNameOf } from '../checks.js';
import { Deadline } from '../deadline.js';
import { isProbeError } from '../errors.js';
import type { Finding, FindingCode } from '../findings.js';
import { finding, PORT_25_HINT, starttlsExtraData } from '../findings.js';
import type { ProbeContext } from '../context.js';
import { isServerTlsRefusal } from '../net/socket-errors.js';
import { baseResult, isBelowTls12, type BaseResult, type CertificateInfo, type TlsSessionInfo } from '../result.js';
import { starttlsExtraDataOf, type TlsConnector, type WireOptions } from './connect.js';
import { chainHygiene } from './hygiene.js';
import { anchorIndex } from './trust.js';
import { sentCertificates, wireOf } from './wire.js';
import { DEFAULT_TLS_POLICY, finalFindings, type TlsPolicy } from './policy.js';
import type { InspectedSession, TlsProfile } from './inspect.js';
import { DHE_ONLY_CIPHERS, inspectTlsSession, tlsClientOptions } from './inspect.js';

export const PROTOCOL_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

export interface TlsResult extends BaseResult {
  readonly check: 'tls';
  readonly host: string;
  readonly port: number;
  readonly tlsMode: 'starttls' | 'implicit';
  /** What the default handshake negotiated; absent when it failed. */
  readonly negotiated?: { readonly protocol: string; readonly cipher: string; readonly group?: string };
  /** Chain verified, dates valid and name matched (pkix rules, as an SMTP client checks). */
  readonly verified: boolean;
  readonly certificate?: CertificateInfo;
  /** Leaf first, as Node reports it (what the server sent plus the trust anchor it found). */
  readonly chain: readonly CertificateInfo[];
  readonly earliestExpiry?: TlsSessionInfo['earliestExpiry'];
  /**
   * The DH size a DHE-only TLS 1.2 handshake got (0: the server refused DHE, which is fine).
   * Absent when that handshake was cut short: an unknown size must not read as "no DHE".
   */
  readonly dh?: { readonly bits: number };
  /** Which versions a handshake limited to exactly that version completed with. */
  readonly protocols: Readonly<Record<ProtocolVersion, boolean>>;
  /** The policy the TLS findings were graded by (tls/policy.ts). */
  readonly tlsPolicy: TlsPolicy;
}

/** A handshake's fate: done, refused by the server (a TLS alert: an answer), or unknown. */
type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly extraBytes: number }
  | { readonly kind: 'refused'; readonly code: FindingCode; readonly message: string }
  | { readonly kind: 'unknown'; readonly code: FindingCode; readonly message: string };

/** Codes after which no time is left to try again. */
const TIMEOUT_CODES: ReadonlySet<FindingCode> = new Set(['DEADLINE_EXCEEDED', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT']);
/** A connection-limited server needs a moment to count a closed session out (Postfix anvil). */
const RETRY_PAUSE_MS = 250;

async function handshake<T>(
  connect: TlsConnector,
  ctx: ProbeContext,
  spec: TlsCheckSpec,
  profile: TlsProfile,
  deadline: Deadline,
  read: (socket: TLSSocket) => T,
  wire: WireOptions = {},
): Promise<Outcome<T>> {
  try {
    const socket = await connect(tlsClientOptions(ctx, serverNameOf(spec), profile), deadline, wire);
    try {
      return { kind: 'ok', value: read(socket), extraBytes: starttlsExtraDataOf(socket) };
    } finally {
      socket.destroy();
    }
  } catch (err) {
    if (!isProbeError(err)) throw err;
    // Only the server's TLS stack refusing what was offered is an answer; a reset, a
    // timeout, a 421 to one of the parallel sessions or a local error tells nothing.
    if (isServerTlsRefusal(err.cause)) return { kind: 'refused', code: err.code, message: err.message };
    return { kind: 'unknown', code: err.code, message: err.message };
  }
}

export function dhFinding(bits: number, minDhBits: number): Finding | undefined {
  if (bits === 0 || bits >= minDhBits) return undefined;
  return finding('DH_WEAK', `DHE key is ${bits} bits (minimum ${minDhBits})`, {
    severity: bits < 1024 ? 'critical' : 'warning',
  });
}

function protocolFindings(
  protocols: Record<ProtocolVersion, boolean>,
  modernKnown: boolean,
  negotiated: string | undefined,
): Finding[] {
  const out: Finding[] = [];
  const legacy = (['TLSv1', 'TLSv1.1'] as const).filter((v) => protocols[v]);
  if (legacy.length > 0) out.push(finding('TLS_LEGACY_PROTOCOL', `the server accepts ${legacy.join(' and ')}`));
  if (negotiated !== undefined && isBelowTls12(negotiated)) {
    out.push(
      finding(
        'TLS_NO_MODERN_PROTOCOL',
        `the default handshake, offering up to TLSv1.3, negotiated ${negotiated}: the server cannot do TLSv1.2 or later`,
      ),
    );
  } else if (modernKnown && !protocols['TLSv1.2'] && !protocols['TLSv1.3']) {
    const accepted = PROTOCOL_VERSIONS.filter((v) => protocols[v]);
    out.push(
      finding(
        'TLS_NO_MODERN_PROTOCOL',
        `the server accepts neither TLSv1.2 nor TLSv1.3 (only ${accepted.join(', ') || 'none'})`,
      ),
    );
  }
  return out;
}

export interface TlsCheckOptions {
  /** Rewrites hints for a target (e.g. SES-specific advice). */
  readonly hintFor?: (f: Finding) => string | undefined;
}

export async function runTlsCheck(
  spec: TlsCheckSpec,
  ctx: ProbeContext,
  connect: TlsConnector,
  options: TlsCheckOptions = {},
): Promise<TlsResult> {
  const startedMs = ctx.clock.now();
  const deadline = new Deadline(spec.timeoutMs ?? ctx.timeoutMs, ctx.clock);
  const tlsMode = effectiveTlsMode(spec.tls, spec.port) === 'implicit' ? 'implicit' : 'starttls';
  const policy = spec.tlsPolicy ?? DEFAULT_TLS_POLICY;

  const inspect = (socket: TLSSocket): InspectedSession =>
    inspectTlsSession(socket, {
      servername: serverNameOf(spec),
      identity: 'pkix',
      clock: ctx.clock,
      thresholds: ctx.thresholds,
      extraCa: ctx.extraCa,
    });
  const dhBits = (socket: TLSSocket): number => {
    const key = socket.getEphemeralKeyInfo();
    return key !== null && 'type' in key && key.type === 'DH' ? (key.size ?? 0) : 0;
  };
  const runMain = () => handshake(connect, ctx, spec, {}, deadline, inspect);
  const runDhe = () =>
    handshake(
      connect,
      ctx,
      spec,
      { maxVersion: 'TLSv1.2', ciphers: DHE_ONLY_CIPHERS, anchors: false },
      deadline,
      dhBits,
    );
  // The TLS 1.2 handshake also reads the certificate list as sent (in clear below TLS 1.3).
  const runVersion = (version: ProtocolVersion) => () =>
    handshake(
      connect,
      ctx,
      spec,
      { minVersion: version, maxVersion: version, anchors: false },
      deadline,
      (socket): X509Certificate[] | undefined => {
        if (version !== 'TLSv1.2') return undefined;
        const wire = wireOf(socket);
        return wire === undefined ? undefined : sentCertificates(wire);
      },
      version === 'TLSv1.2' ? { captureHandshake: true } : {},
    );

  // All at once, so the check costs about one session of wall time...
  const [firstMain, firstDhe, ...versions] = await Promise.all([
    runMain(),
    runDhe(),
    ...PROTOCOL_VERSIONS.map((v) => runVersion(v)()),
  ]);
  let main = firstMain as Outcome<InspectedSession>;
  let dhe = firstDhe as Outcome<number>;
  // ...then, one at a time, those that got no answer but not for lack of time: a server
  // that allows one session per client (Postfix anvil, Exchange "421 4.3.2") greets the
  // parallel extras with 421, although every sender, one session at a time, gets through.
  const retry = async <T>(outcome: Outcome<T>, run: () => Promise<Outcome<T>>): Promise<Outcome<T>> => {
    let current = outcome;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (current.kind !== 'unknown' || TIMEOUT_CODES.has(current.code)) break;
      if (deadline.remainingMs() <= RETRY_PAUSE_MS) break;
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      current = await run();
    }
    return current;
  };
  main = await retry(main, runMain);
  // An endpoint that cannot be reached at all is the result; measuring it further is moot.
  if (main.kind === 'ok') {
    dhe = await retry(dhe, runDhe);
    for (const [i, version] of PROTOCOL_VERSIONS.entries()) {
      const outcome = versions[i];
      if (outcome !== undefined) versions[i] = await retry(outcome, runVersion(version));
    }
  }

  const findings: Finding[] = [];
  let session: InspectedSession | undefined;
  const tls12 = versions[2];
  const sent = tls12?.kind === 'ok' ? tls12.value : undefined;
  if (main?.kind === 'ok') {
    session = main.value;
    const hygiene = sent !== undefined ? chainHygiene(sent, anchorIndex(ctx.extraCa)) : undefined;
    // A stale intermediate: the trust finding says which issuer the leaf expected.
    const stale = hygiene?.staleIntermediate;
    findings.push(
      ...session.findings.map((f) =>
        stale !== undefined && (f.code === 'CERT_CHAIN_INCOMPLETE' || f.code === 'CERT_UNTRUSTED')
          ? { ...f, message: `${f.message}; ${stale}` }
          : f,
      ),
    );
    findings.push(...(hygiene?.findings ?? []));
  } else if (main !== undefined) {
    // The endpoint could not be reached at all: that is the result.
    const code = main.code;
    const hint = code === 'CONNECT_TIMEOUT' && spec.port === 25 ? { hint: PORT_25_HINT } : {};
    findings.push(finding(code, main.message, hint));
  }

  // RFC 3207 §6, as the smtp check reports it on the same port.
  const extraBytes = Math.max(0, ...[main, dhe, ...versions].map((o) => (o?.kind === 'ok' ? o.extraBytes : 0)));
  if (extraBytes > 0) findings.push(starttlsExtraData(extraBytes));

  const negotiated = session?.tls.protocol;
  // A default handshake (offering up to 1.3) that landed below 1.2 proves 1.2 and 1.3 are not
  // accepted, whatever became of the handshakes limited to them.
  const modernImpossible = negotiated !== undefined && isBelowTls12(negotiated);
  const protocols = Object.fromEntries(
    PROTOCOL_VERSIONS.map((v, i) => [
      v,
      (versions[i]?.kind === 'ok' || negotiated === v) && !(modernImpossible && (v === 'TLSv1.2' || v === 'TLSv1.3')),
    ]),
  ) as Record<ProtocolVersion, boolean>;
  const dhMeasured = dhe?.kind === 'ok' || dhe?.kind === 'refused';
  const bits = dhe?.kind === 'ok' ? dhe.value : 0;

  if (session !== undefined) {
    const dh = dhMeasured ? dhFinding(bits, ctx.thresholds.minDhBits) : undefined;
    if (dh !== undefined) findings.push(dh);
    // "No modern protocol" only from answers: a 1.2 or 1.3 handshake cut short proves nothing.
    const modernKnown = [2, 3].every((i) => versions[i]?.kind !== 'unknown');
    findings.push(...protocolFindings(protocols, modernKnown, negotiated));
    // A measuring handshake that got no answer, even retried alone, leaves a gap: say which
    // and why, as a warning (the endpoint itself works), never as a guess.
    const labels = ['DHE-only', ...PROTOCOL_VERSIONS.map((v) => `${v}-only`)];
    const gaps = [dhe, ...versions].flatMap((outcome, i) => {
      if (outcome?.kind !== 'unknown') return [];
      if (modernImpossible && (i === 3 || i === 4)) return [];
      return [`the ${labels[i] ?? ''} handshake got no answer (${outcome.code}: ${outcome.message})`];
    });
    if (gaps.length > 0) {
      findings.push(
        finding('TLS_POSTURE_INCOMPLETE', `the TLS posture is incomplete: ${gaps.join('; ')}`, { stage: 'tls' }),
      );
    }
  }

  const hinted = finalFindings(findings, policy, options.hintFor);

  return {
    ...baseResult(spec, hinted, startedMs, ctx.clock),
    host: spec.host,
    port: spec.port,
    tlsMode,
    ...(session !== undefined
      ? {
          negotiated: {
            protocol: session.tls.protocol,
            cipher: session.tls.cipher,
            ...groupOf(session.tls.ephemeralKey),
          },
        }
      : {}),
    verified: session?.verified ?? false,
    ...(session?.tls.certificate !== undefined ? { certificate: session.tls.certificate } : {}),
    chain: session?.tls.chain ?? [],
    ...(session?.tls.earliestExpiry !== undefined ? { earliestExpiry: session.tls.earliestExpiry } : {}),
    ...(dhMeasured ? { dh: { bits } } : {}),
    protocols,
    tlsPolicy: policy,
  };
}

/** `X25519`, `prime256v1`; a finite-field group as `DH-2048`. */
function groupOf(key: TlsSessionInfo['ephemeralKey']): { group?: string } {
  if (key === undefined) return {};
  if (key.name !== undefined) return { group: key.name };
  return key.size !== undefined ? { group: `${key.type}-${key.size}` } : {};
}
