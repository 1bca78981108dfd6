/**
 * The `tls` check: the TLS posture of one endpoint. Six handshakes run at once, so the
 * check costs about one session of wall time:
 * - the default one (what a client gets: certificate, protocol, cipher, ECDH group);
 * - a DHE-only TLS 1.2 one, for the DH group size (TLS 1.3 or any ECDHE suite would
 *   hide it), at explicit security level 0 and minDHSize 512 so the measurement does not
 *   depend on the runtime's OpenSSL defaults;
 * - one per protocol version, min = max, to learn which versions are accepted.
 */
import type { TLSSocket } from 'node:tls';
import type { TlsCheckSpec } from '../checks.js';
import { effectiveTlsMode } from '../checks.js';
import { Deadline } from '../deadline.js';
import { isProbeError } from '../errors.js';
import type { Finding, FindingCode } from '../findings.js';
import { finding, PORT_25_HINT } from '../findings.js';
import type { ProbeContext } from '../options.js';
import { baseResult, type BaseResult, type CertificateInfo, type TlsSessionInfo } from '../result.js';
import type { TlsConnector } from './connect.js';
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
  /** The DH group size of a DHE-only TLS 1.2 handshake; 0 when the server has no DHE suite. */
  /**
   * The DH size a DHE-only TLS 1.2 handshake got (0: the server refused DHE, which is fine).
   * Absent when that handshake was cut short: an unknown size must not read as "no DHE".
   */
  readonly dh?: { readonly bits: number };
  /** Which versions a handshake limited to exactly that version completed with. */
  readonly protocols: Readonly<Record<ProtocolVersion, boolean>>;
}

/** A handshake's fate: done, refused by the server (an answer), or unknown (time ran out). */
type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'refused'; readonly code: FindingCode; readonly message: string }
  | { readonly kind: 'unknown'; readonly code: FindingCode; readonly message: string };

// A server that does not accept the offered versions or suites answers with an alert
// (handshake failure, protocol version) or simply hangs up.
const REFUSAL_CODES: ReadonlySet<FindingCode> = new Set(['TLS_HANDSHAKE_FAILED', 'CONNECT_RESET']);

async function handshake<T>(
  connect: TlsConnector,
  ctx: ProbeContext,
  spec: TlsCheckSpec,
  profile: TlsProfile,
  deadline: Deadline,
  read: (socket: TLSSocket) => T,
): Promise<Outcome<T>> {
  try {
    const socket = await connect(tlsClientOptions(ctx, spec.host, profile), deadline);
    try {
      return { kind: 'ok', value: read(socket) };
    } finally {
      socket.destroy();
    }
  } catch (err) {
    if (!isProbeError(err)) throw err;
    if (REFUSAL_CODES.has(err.code)) return { kind: 'refused', code: err.code, message: err.message };
    return { kind: 'unknown', code: err.code, message: err.message };
  }
}

export function dhFinding(bits: number, minDhBits: number): Finding | undefined {
  if (bits === 0 || bits >= minDhBits) return undefined;
  return finding('DH_WEAK', `DHE key is ${bits} bits (minimum ${minDhBits})`, {
    severity: bits < 1024 ? 'critical' : 'warning',
  });
}

function protocolFindings(protocols: Record<ProtocolVersion, boolean>, modernKnown: boolean): Finding[] {
  const out: Finding[] = [];
  const legacy = (['TLSv1', 'TLSv1.1'] as const).filter((v) => protocols[v]);
  if (legacy.length > 0) out.push(finding('TLS_LEGACY_PROTOCOL', `the server accepts ${legacy.join(' and ')}`));
  if (modernKnown && !protocols['TLSv1.2'] && !protocols['TLSv1.3']) {
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

export async function runTlsCheck(spec: TlsCheckSpec, ctx: ProbeContext, connect: TlsConnector): Promise<TlsResult> {
  const startedMs = ctx.clock.now();
  const deadline = new Deadline(spec.timeoutMs ?? ctx.timeoutMs, ctx.clock);
  const tlsMode = effectiveTlsMode(spec.tls, spec.port) === 'implicit' ? 'implicit' : 'starttls';

  const inspect = (socket: TLSSocket): InspectedSession =>
    inspectTlsSession(socket, {
      servername: spec.host.replace(/\.$/, ''),
      identity: 'pkix',
      clock: ctx.clock,
      thresholds: ctx.thresholds,
      extraCa: ctx.extraCa,
    });
  const [main, dhe, ...versions] = await Promise.all([
    handshake(connect, ctx, spec, {}, deadline, inspect),
    handshake(
      connect,
      ctx,
      spec,
      { maxVersion: 'TLSv1.2', ciphers: DHE_ONLY_CIPHERS, anchors: false },
      deadline,
      (socket) => {
        const key = socket.getEphemeralKeyInfo();
        return key !== null && 'type' in key && key.type === 'DH' ? (key.size ?? 0) : 0;
      },
    ),
    ...PROTOCOL_VERSIONS.map((version) =>
      handshake(connect, ctx, spec, { minVersion: version, maxVersion: version, anchors: false }, deadline, () => true),
    ),
  ]);

  const findings: Finding[] = [];
  let session: InspectedSession | undefined;
  if (main?.kind === 'ok') {
    session = main.value;
    findings.push(...session.findings);
  } else if (main !== undefined) {
    // The endpoint could not be reached at all: that is the result.
    const code = main.code;
    const hint = code === 'CONNECT_TIMEOUT' && spec.port === 25 ? { hint: PORT_25_HINT } : {};
    findings.push(finding(code, main.message, hint));
  }

  const protocols = Object.fromEntries(
    PROTOCOL_VERSIONS.map((v, i) => [v, versions[i]?.kind === 'ok' || session?.tls.protocol === v]),
  ) as Record<ProtocolVersion, boolean>;
  const dhMeasured = dhe?.kind === 'ok' || dhe?.kind === 'refused';
  const bits = dhe?.kind === 'ok' ? dhe.value : 0;

  if (session !== undefined) {
    const dh = dhMeasured ? dhFinding(bits, ctx.thresholds.minDhBits) : undefined;
    if (dh !== undefined) findings.push(dh);
    // "No modern protocol" only from answers: a 1.2 or 1.3 handshake cut short proves nothing.
    const modernKnown = [2, 3].every((i) => versions[i]?.kind !== 'unknown');
    findings.push(...protocolFindings(protocols, modernKnown));
    // A handshake cut short for another reason than a refusal (deadline, a 421 to one of
    // the parallel sessions) leaves the posture incomplete: say so with its code, never guess.
    const labels = ['DHE-only', ...PROTOCOL_VERSIONS.map((v) => `${v}-only`)];
    [dhe, ...versions].forEach((outcome, i) => {
      if (outcome?.kind !== 'unknown') return;
      const message = `the TLS posture is incomplete: the ${labels[i] ?? ''} handshake failed: ${outcome.message}`;
      findings.push(finding(outcome.code, message, { stage: 'tls' }));
    });
  }

  return {
    ...baseResult(spec, findings, startedMs, ctx.clock),
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
  };
}

/** `X25519`, `prime256v1`; a finite-field group as `DH-2048`. */
function groupOf(key: TlsSessionInfo['ephemeralKey']): { group?: string } {
  if (key === undefined) return {};
  if (key.name !== undefined) return { group: key.name };
  return key.size !== undefined ? { group: `${key.type}-${key.size}` } : {};
}
