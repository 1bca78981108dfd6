/**
 * The `smtp` check: one full session against one endpoint, every stage timed, every
 * failure turned into a finding with a hint. Never throws.
 */
import type tls from 'node:tls';
import type { Credentials, SmtpCheckSpec } from '../checks.js';
import { effectiveTlsMode, serverNameOf, targetOf } from '../checks.js';
import { Deadline } from '../deadline.js';
import { ProbeError } from '../errors.js';
import { finding, FINDINGS, PORT_25_HINT, starttlsExtraData, type Finding } from '../findings.js';
import { credentialSecrets, maskResultText } from '../mask.js';
import type { ProbeContext } from '../context.js';
import { baseResult, isBelowTls12, type BaseResult, type TlsSessionInfo } from '../result.js';
import { inspectTlsSession, tlsClientOptions } from '../tls/inspect.js';
import { DEFAULT_TLS_POLICY, finalFindings, type TlsPolicy } from '../tls/policy.js';
import { describeCapabilities, type Capabilities } from './capabilities.js';
import type { SmtpConnection } from './connection.js';
import { formatReply } from './reply.js';
import {
  authenticate,
  connect,
  ehlo,
  readGreeting,
  resolveHost,
  sendTestMessage,
  startTls,
  STAGE_TIMEOUT_MS,
  type Stage,
} from './session.js';

export interface SmtpResult extends BaseResult {
  readonly check: 'smtp';
  readonly host: string;
  readonly port: number;
  readonly tlsMode: 'starttls' | 'implicit' | 'none';
  /** The IP address the probe connected to. */
  readonly address?: string;
  /** The last stage reached; on failure, the stage that failed. */
  readonly stage: Stage;
  readonly completed: boolean;
  /** Milliseconds spent in each stage. */
  readonly timings: Partial<Record<Stage, number>>;
  readonly greeting?: string;
  /** Capabilities from the EHLO that counts: the one after TLS when TLS is used. */
  readonly capabilities?: readonly string[];
  readonly tls?: TlsSessionInfo;
  readonly auth?: {
    readonly mechanism?: string;
    readonly outcome: 'accepted' | 'rejected' | 'withheld' | 'unavailable';
  };
  readonly message?: { readonly accepted: boolean; readonly messageId?: string; readonly reply?: string };
  /** The server reply behind the failure, e.g. `535 5.7.8 Authentication credentials invalid`. */
  readonly reply?: string;
  /** The policy the TLS findings were graded by (tls/policy.ts). */
  readonly tlsPolicy: TlsPolicy;
}

export interface SmtpProbeOptions {
  /**
   * How the certificate name is checked: `pkix` as mail clients do (SAN, IP SANs, CN
   * fallback), `dns-id` as RFC 8461 §4.2 requires for MTA-STS (DNS SANs only).
   * @default 'pkix'
   */
  readonly identity?: 'pkix' | 'dns-id';
  /**
   * @deprecated A session below TLS 1.2 is always TLS_NO_MODERN_PROTOCOL (critical): the
   * probe offers up to TLS 1.3, so landing lower means the server cannot do 1.2.
   */
  readonly minTlsVersion?: 'TLSv1.2';
  /** Connect to this address instead of resolving the host (already vetted by the caller). */
  readonly address?: string;
  /** Credentials already resolved (from Secrets Manager or an environment variable). */
  readonly credentials?: Credentials;
  /** Rewrites hints for a target (e.g. SES-specific advice). */
  readonly hintFor?: (f: Finding) => string | undefined;
  /**
   * When the check started, if before this call (the runner read credentials first): the
   * result's startedAt and durationMs count from here. @default now
   */
  readonly startedMs?: number;
}

export async function runSmtpCheck(
  spec: SmtpCheckSpec,
  ctx: ProbeContext,
  options: SmtpProbeOptions = {},
): Promise<SmtpResult> {
  const startedMs = options.startedMs ?? ctx.clock.now();
  const deadline = new Deadline(spec.timeoutMs ?? ctx.timeoutMs, ctx.clock);
  const mode = effectiveTlsMode(spec.tls, spec.port);
  const policy = spec.tlsPolicy ?? DEFAULT_TLS_POLICY;
  const ehloName = spec.ehloName ?? 'mailprobe.invalid';
  const findings: Finding[] = [];
  const timings: Partial<Record<Stage, number>> = {};
  let stage: Stage = 'resolve';
  let stageStart = ctx.clock.now();
  const enter = (next: Stage) => {
    timings[stage] = (timings[stage] ?? 0) + (ctx.clock.now() - stageStart);
    stage = next;
    stageStart = ctx.clock.now();
  };

  let conn: SmtpConnection | undefined;
  let address: string | undefined;
  let greeting: string | undefined;
  let capabilities: Capabilities | undefined;
  let tlsInfo: TlsSessionInfo | undefined;
  let verified = false;
  let auth: SmtpResult['auth'];
  let message: SmtpResult['message'];
  let reply: string | undefined;
  let completed = false;

  // Every await below is bounded by the overall deadline (resolve, connect, handshake and
  // every read take their budget from it), so a dripping or silent server cannot extend it.
  try {
    const addresses = options.address ? [options.address] : await resolveHost(spec.host, ctx.resolver, deadline);
    enter('connect');
    const servername = serverNameOf(spec);
    let baseTls: tls.ConnectionOptions;
    let opened: Awaited<ReturnType<typeof connect>>;
    if (mode === 'implicit') {
      baseTls = tlsClientOptions(ctx, servername);
      opened = await connect(addresses, spec.port, deadline, baseTls, ctx.transcript);
    } else {
      // The secure context (the root store, 50–130 ms of CPU in a fresh process) is built
      // while the SYN and the greeting are on the wire, not before the connection starts:
      // on a real link the wait hides it (bench/packet-link.ts, bench/cli-speed.ts).
      const connecting = connect(addresses, spec.port, deadline, undefined, ctx.transcript);
      try {
        baseTls = tlsClientOptions(ctx, servername);
      } catch (err) {
        // Nobody will use this connection: close it once it is up, and never leave its failure unhandled.
        connecting.then(
          (o) => o.conn.close(),
          () => undefined,
        );
        throw err;
      }
      opened = await connecting;
    }
    conn = opened.conn;
    address = opened.address;
    if (mode === 'implicit') {
      ({ tlsInfo, verified } = inspect(conn, servername, ctx, options, findings));
    }

    enter('greeting');
    // On a plain connection a silent port may be an implicit-TLS one: ask it (RFC 8314 §3.3).
    const peer = mode === 'implicit' ? undefined : { address, port: spec.port, servername };
    greeting = formatReply(await readGreeting(conn, deadline, peer));

    enter('ehlo');
    capabilities = (await ehlo(conn, ehloName, 'ehlo', deadline)).capabilities;

    if (mode === 'starttls') {
      enter('starttls');
      // The 'tls' stage is the handshake itself plus the certificate inspection.
      const { extraBytes } = await startTls(conn, capabilities, baseTls, deadline, () => enter('tls'));
      // RFC 3207 §4.2: forget everything learnt before TLS.
      capabilities = undefined;
      if (extraBytes > 0) findings.push(starttlsExtraData(extraBytes));
      // The EHLO goes out before the certificate is inspected (20–40 ms of CPU in a fresh
      // process), so the inspection runs while the EHLO is on the wire instead of adding
      // to the round trip (bench/packet-link.ts). Nothing sent in EHLO depends on the
      // verdict; AUTH, which does (unsafeForCredentials), still waits for it below.
      const ehloAfterTls = ehlo(conn, ehloName, 'ehlo-tls', deadline);
      // Awaited below; if the inspection throws first, the connection is closed and this rejection is moot.
      ehloAfterTls.catch(() => undefined);
      ({ tlsInfo, verified } = inspect(conn, servername, ctx, options, findings));
      enter('ehlo-tls');
      capabilities = (await ehloAfterTls).capabilities;
    }

    if (spec.auth) {
      enter('auth');
      const unsafe =
        mode === 'none'
          ? 'the connection is not encrypted (tls: none)'
          : unsafeForCredentials(tlsInfo, verified, findings);
      if (unsafe !== undefined) {
        auth = { outcome: 'withheld' };
        findings.push(finding('AUTH_WITHHELD', `credentials were not sent: ${unsafe}`, { stage: 'auth' }));
      } else if (!options.credentials) {
        throw new ProbeError('AUTH_UNAVAILABLE', 'no credentials were available to the probe', { stage: 'auth' });
      } else {
        try {
          auth = {
            outcome: 'accepted',
            ...(await authenticate(conn, capabilities ?? emptyCaps(), options.credentials, deadline)),
          };
        } catch (err) {
          auth = { outcome: err instanceof ProbeError && err.code === 'AUTH_UNAVAILABLE' ? 'unavailable' : 'rejected' };
          throw err;
        }
      }
    }

    if (spec.testMessage && auth?.outcome !== 'withheld') {
      enter('mail');
      try {
        const sent = await sendTestMessage(
          conn,
          spec.testMessage.from,
          spec.testMessage.to,
          targetOf(spec),
          new Date(ctx.clock.now()),
          deadline,
          {
            ...(spec.testMessage.headers !== undefined ? { headers: spec.testMessage.headers } : {}),
            ...(spec.testMessage.subject !== undefined ? { subject: spec.testMessage.subject } : {}),
          },
        );
        message = { accepted: true, messageId: sent.messageId, reply: sent.reply };
      } catch (err) {
        message = { accepted: false };
        throw err;
      }
    }

    enter('quit');
    // QUIT without waiting for the 221: one round trip less per probe (bench/round-trips.ts).
    conn.quitInBackground(deadline.budget(STAGE_TIMEOUT_MS.quit));
    conn = undefined;
    completed = true;
  } catch (err) {
    // Anything but a ProbeError is the probe's own bug (a TypeError, a parser throwing), never
    // the server's fault: PROBE_INTERNAL_ERROR, not "not valid SMTP".
    const probeError =
      err instanceof ProbeError
        ? err
        : new ProbeError('PROBE_INTERNAL_ERROR', `the probe failed unexpectedly: ${String(err)}`, { cause: err });
    if (probeError.response !== undefined) reply = probeError.response;
    findings.push(toFinding(probeError, stage, spec.port, deadline));
    if (message && !message.accepted && reply !== undefined) message = { accepted: false, reply };
    // Close politely when the session is still usable; never wait past the deadline.
    if (conn && probeError.responseCode !== undefined && !deadline.expired()) {
      await conn.quit(deadline.budget(STAGE_TIMEOUT_MS.quit));
    }
  } finally {
    conn?.close();
    timings[stage] = (timings[stage] ?? 0) + (ctx.clock.now() - stageStart);
  }

  if (tlsInfo && isBelowTls12(tlsInfo.protocol)) {
    // The probe offered up to TLS 1.3: a server that lands below 1.2 cannot do 1.2 or later,
    // and SES, MTA-STS senders and every modern MTA refuse it (RFC 8996).
    findings.push(
      finding(
        'TLS_NO_MODERN_PROTOCOL',
        `the session negotiated ${tlsInfo.protocol} although the probe offered up to TLSv1.3: the server cannot do TLSv1.2 or later`,
        { stage: 'tls' },
      ),
    );
  }

  const hinted = finalFindings(findings, policy, options.hintFor);

  const result: SmtpResult = {
    ...baseResult(spec, hinted, startedMs, ctx.clock),
    host: spec.host,
    port: spec.port,
    tlsMode: mode,
    ...(address !== undefined ? { address } : {}),
    stage,
    completed,
    timings,
    ...(greeting !== undefined ? { greeting } : {}),
    ...(capabilities !== undefined ? { capabilities: describeCapabilities(capabilities) } : {}),
    ...(tlsInfo !== undefined ? { tls: tlsInfo } : {}),
    ...(auth !== undefined ? { auth } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(reply !== undefined ? { reply } : {}),
    tlsPolicy: policy,
  };
  // Servers echo commands back in errors (`500 unrecognized: "AUTH PLAIN AGFs…"`): mask every
  // form of this target's own secret, in this target's result only, before it leaves the check.
  return options.credentials ? maskResultText(result, credentialSecrets(options.credentials)) : result;
}

/** Minimum DHE group for a session that carries credentials (the size strict clients require). */
const MIN_AUTH_DH_BITS = 2048;

/**
 * Why this TLS session must not carry credentials, or undefined when it may. The probe
 * completes weak handshakes to measure them; it never authenticates over one: a modern
 * client would refuse the session, and the secret could be recovered (RFC 8996, Logjam).
 */
function unsafeForCredentials(
  tlsInfo: TlsSessionInfo | undefined,
  verified: boolean,
  findings: readonly Finding[],
): string | undefined {
  if (tlsInfo === undefined) return 'no TLS session';
  if (!verified) return 'the TLS certificate did not verify';
  if (isBelowTls12(tlsInfo.protocol)) return `the session negotiated ${tlsInfo.protocol}, below TLS 1.2`;
  const key = tlsInfo.ephemeralKey;
  if (key?.type === 'DH' && key.size !== undefined && key.size < MIN_AUTH_DH_BITS) {
    return `the session used a ${key.size}-bit DHE key exchange`;
  }
  if (findings.some((f) => f.code === 'CERT_WEAK_KEY')) return 'the certificate key is too weak';
  return undefined;
}

function emptyCaps(): Capabilities {
  return { serverName: '', keywords: new Map() };
}

function inspect(
  conn: SmtpConnection,
  servername: string,
  ctx: ProbeContext,
  options: SmtpProbeOptions,
  findings: Finding[],
): { tlsInfo: TlsSessionInfo; verified: boolean } {
  const socket = conn.tlsSocket as tls.TLSSocket;
  const inspected = inspectTlsSession(socket, {
    servername,
    identity: options.identity ?? 'pkix',
    clock: ctx.clock,
    thresholds: ctx.thresholds,
    extraCa: ctx.extraCa,
  });
  for (const f of inspected.findings) findings.push(f.stage === undefined ? { ...f, stage: 'tls' } : f);
  return { tlsInfo: inspected.tls, verified: inspected.verified };
}

function toFinding(err: ProbeError, stage: Stage, port: number, deadline: Deadline): Finding {
  const at = err.stage ?? stage;
  // A stage that ran out of the overall budget says so, whatever the stage's own code.
  const code = deadline.expired() && err.code === 'CONNECT_RESET' ? 'DEADLINE_EXCEEDED' : err.code;
  const portHint =
    port === 25 && code === 'CONNECT_TIMEOUT' ? { hint: `${FINDINGS.CONNECT_TIMEOUT.hint} ${PORT_25_HINT}` } : {};
  return finding(code, `${stageLabel(at)}: ${err.message}`, { stage: at, ...portHint });
}

const STAGE_LABELS: Record<string, string> = {
  resolve: 'DNS',
  connect: 'connect',
  greeting: 'greeting',
  ehlo: 'EHLO',
  starttls: 'STARTTLS',
  tls: 'TLS handshake',
  'ehlo-tls': 'EHLO after TLS',
  auth: 'AUTH',
  mail: 'MAIL FROM',
  rcpt: 'RCPT TO',
  data: 'DATA',
  quit: 'QUIT',
};

function stageLabel(stage: string): string {
  return STAGE_LABELS[stage] ?? stage;
}
