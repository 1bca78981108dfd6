/**
 * The `flow` check: send one message with a fresh token through the `via` relay (the smtp
 * check's own session: AUTH only over verified TLS), log the send, collect arrivals (IMAP
 * now, or what the SES receiver logged), settle every earlier token, and report. Never throws.
 */
import type { FlowCheckSpec } from '../checks.js';
import { FLOW_DEFAULTS } from '../checks.js';
import { Deadline } from '../deadline.js';
import { finding, type Finding } from '../findings.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult } from '../result.js';
import { runSmtp, type SmtpRunDeps } from '../probe/smtp.js';
import { describeError } from '../errors.js';
import { resolveCredentials } from '../secrets.js';
import type { SmtpResult } from '../smtp/check.js';
import { median, type LoggedArrival, type PendingSend } from '../state/flow-facts.js';
import type { StateStore } from '../state/types.js';
import { arrivalFindings, readArrival, type Arrival } from './arrival.js';
import { verifyAuthentication } from './authenticate.js';
import { pollImap, type FoundMessage } from './imap.js';
import { updateFlowLog } from './log-store.js';
import type { Hop } from './received.js';
import { settle, type Delivery } from './settle.js';
import { createToken, TOKEN_HEADER } from './token.js';

export interface FlowDeps extends SmtpRunDeps {
  /** The per-deployment token key (Secrets Manager), or one made for this run (CLI). */
  readonly key: Buffer;
  /** Where sends and arrivals are logged: DynamoDB in AWS, the state file or a scratch file in the CLI. */
  readonly store: StateStore;
  /** Called while waiting for the message (the CLI's progress line). */
  readonly onProgress?: (elapsedMs: number) => void;
  /** Pause between IMAP looks while waiting. @default 2000 */
  readonly pollIntervalMs?: number;
  /** Cut for a read message. @default imap.ts DEFAULT_MAX_MESSAGE_BYTES */
  readonly maxMessageBytes?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface FlowArrivalView {
  readonly token: string;
  readonly sentAt: string;
  readonly arrivedAt: string;
  readonly latencyMs: number;
  readonly source: 'imap' | 'ses';
  readonly folder: 'inbox' | 'junk';
  readonly hops: readonly Hop[];
  readonly hopsDropped: number;
  readonly verdicts: Arrival['verdicts'];
  readonly receiverResults: readonly string[];
  /** Cut at the read cap: the verdicts were not checked. */
  readonly truncated?: true;
  /** Why the probe's own verification could not run. */
  readonly verifyError?: string;
}

export interface FlowResult extends BaseResult {
  readonly check: 'flow';
  readonly via: string;
  /** This run's send: accepted, and the relay's reply (queue id), or the stage that failed. */
  readonly send: {
    readonly accepted: boolean;
    readonly token?: string;
    readonly stage?: string;
    readonly reply?: string;
    readonly tls?: { readonly protocol: string; readonly cipher: string };
  };
  /** 1 when nothing was lost this run, 0 when a message went missing past maxSeconds (the Delivered metric). */
  readonly delivered: 0 | 1;
  /** Latency of the newest arrival settled this run (the DeliverySeconds metric), in ms. */
  readonly deliveryMs?: number;
  /** Every arrival settled this run, oldest send first. */
  readonly arrivals: readonly FlowArrivalView[];
  /** The newest settled arrival, with its latency: what change detection compares. */
  readonly latest?: FlowArrivalView;
  /** Sends still within maxSeconds, not arrived yet. */
  readonly waiting: number;
  /** Sends declared lost this run. */
  readonly lost: readonly PendingSend[];
  /** Median of the flow's recent latencies before this run (ms). */
  readonly medianLatencyMs?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function view(d: Delivery<Arrival>): FlowArrivalView {
  const a = d.arrival;
  return {
    token: a.token,
    sentAt: new Date(d.send.sentAt).toISOString(),
    arrivedAt: new Date(a.arrivedAt).toISOString(),
    latencyMs: d.latencyMs,
    source: a.source,
    folder: a.folder,
    hops: a.hops,
    hopsDropped: a.hopsDropped,
    verdicts: a.verdicts,
    receiverResults: a.receiverResults,
    ...(a.truncated === true ? { truncated: true as const } : {}),
    ...(a.verifyError !== undefined ? { verifyError: a.verifyError } : {}),
  };
}

/** An SES arrival as logged (JSON) back into an Arrival; anything malformed is dropped. */
function loggedToArrival(logged: LoggedArrival): Arrival | undefined {
  const a = logged as Record<string, unknown>;
  if (typeof a['flow'] !== 'string' || typeof a['sentAt'] !== 'number') return undefined;
  return {
    token: logged.token,
    flow: a['flow'],
    sentAt: a['sentAt'],
    arrivedAt: logged.arrivedAt,
    source: 'ses',
    folder: a['folder'] === 'junk' ? 'junk' : 'inbox',
    hops: Array.isArray(a['hops']) ? (a['hops'] as Hop[]) : [],
    hopsDropped: typeof a['hopsDropped'] === 'number' ? a['hopsDropped'] : 0,
    verdicts: typeof a['verdicts'] === 'object' && a['verdicts'] !== null ? (a['verdicts'] as Arrival['verdicts']) : {},
    receiverResults: Array.isArray(a['receiverResults'])
      ? (a['receiverResults'] as unknown[]).filter((r): r is string => typeof r === 'string')
      : [],
  };
}

export async function runFlowCheck(spec: FlowCheckSpec, ctx: ProbeContext, deps: FlowDeps): Promise<FlowResult> {
  const startedMs = ctx.clock.now();
  const warnMs = (spec.warnSeconds ?? FLOW_DEFAULTS.warnSeconds) * 1000;
  const maxMs = (spec.maxSeconds ?? FLOW_DEFAULTS.maxSeconds) * 1000;
  const timeoutMs = spec.timeoutMs ?? ctx.timeoutMs;
  const findings: Finding[] = [];
  const via = `${spec.via.host}:${spec.via.port}`;

  // 1. Send, with a token only this deployment can make.
  const token = createToken(deps.key, spec.name, startedMs);
  const smtp = (await runSmtp(
    {
      ...spec.via,
      check: 'smtp',
      timeoutMs,
      testMessage: {
        from: spec.from,
        to: spec.to,
        subject: `mailprobe flow ${spec.name}`,
        headers: [[TOKEN_HEADER, token.value]],
      },
    },
    ctx,
    deps,
  )) as SmtpResult;
  const accepted = smtp.message?.accepted === true;
  const sendReply = smtp.message?.reply ?? smtp.reply;
  if (!accepted) {
    const cause = smtp.findings.find((f) => f.severity === 'critical') ?? smtp.findings[0];
    findings.push(
      finding(
        'FLOW_SEND_FAILED',
        `the relay ${via} did not accept the message at ${smtp.stage ?? 'auth'}: ${cause ? `${cause.code}: ${cause.message}` : 'no reason given'}`,
        { stage: smtp.stage ?? 'auth' },
      ),
    );
  }
  const send: FlowResult['send'] = {
    accepted,
    ...(accepted ? { token: token.value } : {}),
    ...(smtp.stage !== undefined && !accepted ? { stage: smtp.stage } : {}),
    ...(sendReply !== undefined ? { reply: sendReply } : {}),
    ...(smtp.tls !== undefined ? { tls: { protocol: smtp.tls.protocol, cipher: smtp.tls.cipher } } : {}),
  };

  // 2. Log the send before looking for it, so a run that dies now still has it settled next time.
  let previousLatencies: readonly number[] = [];
  try {
    const { log } = await updateFlowLog(deps.store, spec.name, ctx.clock.now(), (log) => ({
      log: accepted
        ? {
            ...log,
            pending: [
              ...log.pending,
              { token: token.value, sentAt: token.sentAt, ...(sendReply ? { reply: sendReply } : {}) },
            ],
          }
        : log,
      value: undefined,
    }));
    previousLatencies = log.latenciesMs;
  } catch (err) {
    findings.push(finding('FLOW_RECEIVE_FAILED', `the flow's log could not be written: ${describeError(err)}`));
    return finish();
  }

  // 3. Collect arrivals: IMAP now (and while waiting), SES from the log the receiver wrote.
  const collected: Arrival[] = [];
  const waitUntil = startedMs + (spec.waitSeconds ?? 0) * 1000;
  const sleep = deps.sleep ?? defaultSleep;
  if ('imap' in spec.receive) {
    const imap = spec.receive.imap;
    let credentials;
    try {
      credentials = await resolveCredentials(imap.auth, {
        ...deps.credentials,
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      findings.push(finding('FLOW_RECEIVE_FAILED', `the IMAP credentials could not be read: ${describeError(err)}`));
    }
    while (credentials !== undefined) {
      try {
        const deadline = new Deadline(timeoutMs, ctx.clock);
        const poll = await pollImap({
          spec: imap,
          credentials,
          deadline,
          extraCa: ctx.extraCa,
          ...(deps.maxMessageBytes !== undefined ? { maxMessageBytes: deps.maxMessageBytes } : {}),
        });
        for (const message of poll.messages) {
          const arrival = await imapArrival(message, spec, ctx, deps.key, deadline);
          if (arrival !== undefined) collected.push(arrival);
        }
      } catch (err) {
        findings.push(finding('FLOW_RECEIVE_FAILED', describeError(err)));
        break;
      }
      if (!accepted || collected.some((a) => a.token === token.value) || ctx.clock.now() >= waitUntil) break;
      deps.onProgress?.(ctx.clock.now() - startedMs);
      await sleep(Math.min(deps.pollIntervalMs ?? 2_000, Math.max(0, waitUntil - ctx.clock.now())));
    }
  } else if (spec.waitSeconds !== undefined && spec.waitSeconds > 0 && accepted) {
    // SES: the receiver logs the arrival; wait for it to appear in the log.
    while (ctx.clock.now() < waitUntil) {
      const { log } = await updateFlowLog(deps.store, spec.name, ctx.clock.now(), (l) => ({
        log: l,
        value: undefined,
      })).catch(() => ({ log: undefined }));
      if (log?.arrivals.some((a) => a.token === token.value)) break;
      deps.onProgress?.(ctx.clock.now() - startedMs);
      await sleep(Math.min(deps.pollIntervalMs ?? 2_000, Math.max(0, waitUntil - ctx.clock.now())));
    }
  }

  // 4. Settle every pending send against the arrivals, and write what remains.
  let settled: ReturnType<typeof settle<Arrival>> | undefined;
  try {
    const now = ctx.clock.now();
    ({ value: settled } = await updateFlowLog(deps.store, spec.name, now, (log) => {
      const fromLog = log.arrivals.map(loggedToArrival).filter((a): a is Arrival => a !== undefined);
      const s = settle(log.pending, [...collected, ...fromLog], now, maxMs);
      return {
        log: {
          pending: [...s.waiting],
          // Unmatched SES arrivals are kept a while: the send that matches may still be logged by an overlapping run.
          arrivals: log.arrivals.filter(
            (a) => !s.delivered.some((d) => d.arrival.token === a.token) && now - a.arrivedAt < maxMs,
          ),
          latenciesMs: [...log.latenciesMs, ...s.delivered.map((d) => d.latencyMs)],
        },
        value: s,
      };
    }));
  } catch (err) {
    findings.push(finding('FLOW_RECEIVE_FAILED', `the flow's log could not be written: ${describeError(err)}`));
  }
  return finish();

  function finish(): FlowResult {
    const delivered = settled?.delivered ?? [];
    for (const lost of settled?.lost ?? []) {
      findings.push(
        finding(
          'FLOW_NOT_DELIVERED',
          `the message sent at ${new Date(lost.sentAt).toISOString()} has not arrived after ${Math.round(maxMs / 1000)} s${lost.reply ? `; the relay had answered: ${lost.reply}` : ''}`,
        ),
      );
    }
    for (const d of delivered) {
      if (d.latencyMs > warnMs) {
        findings.push(
          finding(
            'FLOW_DELAYED',
            `the message sent at ${new Date(d.send.sentAt).toISOString()} took ${(d.latencyMs / 1000).toFixed(1)} s (warnSeconds ${warnMs / 1000})`,
          ),
        );
      }
    }
    const newest =
      delivered.length > 0 ? delivered.reduce((a, b) => (b.send.sentAt > a.send.sentAt ? b : a)) : undefined;
    // Hop and verdict findings come from the newest arrival: older ones were reported when they were newest.
    if (newest !== undefined) findings.push(...arrivalFindings(newest.arrival));
    const medianMs = median(previousLatencies);
    return {
      ...baseResult(spec, findings, startedMs, ctx.clock),
      via,
      send,
      delivered: (settled?.lost.length ?? 0) > 0 ? 0 : 1,
      ...(newest !== undefined ? { deliveryMs: newest.latencyMs, latest: view(newest) } : {}),
      arrivals: delivered.map(view),
      waiting: settled?.waiting.length ?? 0,
      lost: settled?.lost ?? [],
      ...(medianMs !== undefined ? { medianLatencyMs: medianMs } : {}),
    };
  }
}

async function imapArrival(
  message: FoundMessage,
  spec: FlowCheckSpec,
  ctx: ProbeContext,
  key: Buffer,
  deadline: Deadline,
): Promise<Arrival | undefined> {
  const arrival = readArrival({
    message: message.source,
    key,
    arrivedAt: message.internalDate,
    source: 'imap',
    folder: message.folder,
    verdicts: {},
    truncated: message.truncated,
  });
  if (arrival === undefined || arrival.flow !== spec.name) return undefined;
  if (message.truncated) return arrival;
  try {
    const verdicts = await verifyAuthentication({
      message: message.source,
      hops: arrival.hops,
      sender: spec.from,
      resolver: ctx.resolver,
      signal: AbortSignal.timeout(Math.max(1, deadline.remainingMs())),
    });
    return { ...arrival, verdicts };
  } catch (err) {
    // A verifier failure leaves the verdicts unknown (and says so); the arrival itself still counts.
    return { ...arrival, verifyError: describeError(err) };
  }
}
