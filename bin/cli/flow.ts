/**
 * `mailprobe flow --via HOST:PORT --from A --to B --imap HOST[:PORT] …`: sends one tokened
 * message through the relay, waits for it in the mailbox (a progress line on a terminal),
 * and prints the latency, each hop with its TLS, and the SPF/DKIM/DMARC verdicts, then the
 * same table and exit status as every check (`--json`: the same result document).
 *
 * Without `--state` the flow's log lives in a scratch file for this run only, with a key
 * made for it. With `--state FILE` sends are kept across runs (a message that arrives after
 * this run's wait settles in the next run), which needs a key that outlives the run.
 *
 * With `--wait-ses REGION --table NAME --key-secret ARN` the message goes to an address the
 * deployment's SES receiving handles: the deployed receiver verifies the token with the
 * deployment's key and logs the arrival in its state table, where this command waits for it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FLOW_DEFAULTS,
  type CredentialSource,
  type FlowCheckSpec,
  type ImapReceiveSpec,
} from '../../lambdas/engine/checks.js';
import type { FlowArrivalView, FlowResult } from '../../lambdas/engine/flow/check.js';
import { FlowKeyError, generateFlowKey, MAX_FLOW_NAME, parseFlowKey } from '../../lambdas/engine/flow/token.js';
import { isSafeAddress } from '../../lambdas/engine/smtp/message.js';
import { runChecks, type CheckResult } from '../../lambdas/engine/run/all.js';
import { FileStateStore } from '../../lambdas/engine/state/file.js';
import { DynamoStateStore } from '../../lambdas/engine/state/dynamodb.js';
import type { StateStore } from '../../lambdas/engine/state/types.js';
import { systemClock } from '../../lambdas/engine/deadline.js';
import { assertSesReceivingRegion, SesRegionError } from '../../lambdas/engine/flow/ses-event.js';
import { CredentialError, readSecretString } from '../../lambdas/engine/secrets.js';
import { intOption, parseHostPort, parseTlsMode, stringOption, UsageError, type Parsed } from './args.js';
import type { Io } from './io.js';
import { contextFrom, credentialSource, tlsPolicyOf } from './options.js';
import { openState, printResults } from './output.js';

/** Submission (RFC 6409) is what a flow normally sends through. */
const DEFAULT_VIA_PORT = 587;
const DEFAULT_IMAPS_PORT = 993;

function required(values: Parsed['values'], name: string, what: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value === '') throw new UsageError(`flow: --${name} ${what} is required`);
  return value;
}

function address(values: Parsed['values'], name: string): string {
  const value = required(values, name, 'ADDRESS');
  if (!isSafeAddress(value) || !/^[^@]+@[^@]+\.[^@]+$/.test(value)) {
    throw new UsageError(`--${name}: expected a mail address like probe@example.com, got "${value}"`);
  }
  return value;
}

/** `--imap-user U --imap-password-env VAR` or `--imap-secret ARN`, as --user/--auth-secret are for the relay. */
function imapCredentials(values: Parsed['values']): CredentialSource {
  const translated = {
    user: values['imap-user'],
    'password-env': values['imap-password-env'],
    'auth-secret': values['imap-secret'],
  };
  let source: CredentialSource | undefined;
  try {
    source = credentialSource(translated);
  } catch (err) {
    if (err instanceof UsageError) {
      throw new UsageError(
        err.message.replace(/--(user|password-env|auth-secret)\b/g, (_, option: string) =>
          option === 'auth-secret' ? '--imap-secret' : `--imap-${option}`,
        ),
      );
    }
    throw err;
  }
  if (source === undefined) {
    throw new UsageError('flow: --imap needs --imap-user U --imap-password-env VAR (or --imap-secret ARN) to log in');
  }
  return source;
}

/** `--wait-ses REGION`: the region whose SES receives the message (the deployed receiver logs it in --table). */
function sesRegionOf(values: Parsed['values']): string | undefined {
  const region = stringOption(values, 'wait-ses');
  if (region === undefined) return undefined;
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new UsageError(`--wait-ses: expected the AWS region SES receives in, like eu-west-1, got "${region}"`);
  }
  try {
    assertSesReceivingRegion(region);
  } catch (err) {
    if (err instanceof SesRegionError) throw new UsageError(`--wait-ses: ${err.message}`);
    throw err;
  }
  for (const [option, what] of [
    ['table', "NAME (the deployment's state table, where its SES receiver logs arrivals)"],
    ['key-secret', "ARN (the deployment's token key: the receiver ignores tokens made with any other)"],
  ] as const) {
    if (stringOption(values, option) === undefined) throw new UsageError(`flow: --wait-ses needs --${option} ${what}`);
  }
  if (stringOption(values, 'imap') !== undefined) throw new UsageError('flow: give --imap or --wait-ses, not both');
  if (stringOption(values, 'state') !== undefined) {
    throw new UsageError("flow: --wait-ses keeps its sends in the deployment's table; --state does not apply");
  }
  return region;
}

function receiveOf(values: Parsed['values']): FlowCheckSpec['receive'] {
  const sesRegion = sesRegionOf(values);
  if (sesRegion !== undefined) return { ses: { region: sesRegion } };
  const imap = stringOption(values, 'imap');
  if (imap === undefined) {
    throw new UsageError(
      'flow: say where the message arrives: --imap HOST[:PORT] with --imap-user/--imap-password-env, or --wait-ses REGION with --table and --key-secret',
    );
  }
  const { host, port } = parseHostPort(imap, DEFAULT_IMAPS_PORT);
  const tls = stringOption(values, 'imap-tls') ?? 'implicit';
  if (tls !== 'implicit' && tls !== 'starttls') {
    // Never clear text: LOGIN carries the password.
    throw new UsageError(`--imap-tls: expected implicit|starttls, got "${tls}"`);
  }
  const folder = stringOption(values, 'imap-folder');
  const junk = stringOption(values, 'imap-junk');
  const spec: ImapReceiveSpec = {
    host,
    port,
    tls,
    auth: imapCredentials(values),
    ...(folder !== undefined ? { folder } : {}),
    ...(junk !== undefined ? { junkFolder: junk } : {}),
  };
  return { imap: spec };
}

function keyOf(values: Parsed['values'], io: Io, keepsState: boolean): Buffer {
  const keyEnv = stringOption(values, 'key-env');
  if (keyEnv === undefined) {
    if (keepsState) {
      throw new UsageError(
        'flow: --state keeps sends for the next run, whose tokens only verify with the same key: add --key-env VAR (32+ random bytes, hex or base64, e.g. `openssl rand -hex 32`)',
      );
    }
    return generateFlowKey();
  }
  const secret = io.env[keyEnv];
  if (secret === undefined || secret === '')
    throw new UsageError(`--key-env: the environment variable ${keyEnv} is not set`);
  try {
    return parseFlowKey(secret);
  } catch (err) {
    if (err instanceof FlowKeyError) throw new UsageError(`--key-env ${keyEnv}: ${err.message}`);
    throw err;
  }
}

export function flowSpecOf(parsed: Parsed, keepsState: boolean): FlowCheckSpec {
  const { values } = parsed;
  if (parsed.positionals.length > 0) {
    throw new UsageError(`flow: takes no HOST argument (got "${parsed.positionals[0]}"); the relay is --via HOST:PORT`);
  }
  const { host, port } = parseHostPort(required(values, 'via', 'HOST[:PORT]'), DEFAULT_VIA_PORT);
  // With --wait-ses the sends go into the deployment's table: a name of their own, so no
  // scheduled run settles (and removes) the CLI's arrival before the CLI has seen it.
  const name =
    stringOption(values, 'name') ??
    (values['wait-ses'] !== undefined ? `cli-${randomBytes(4).toString('hex')}` : 'cli');
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.length > MAX_FLOW_NAME) {
    throw new UsageError(`--name: 1 to ${MAX_FLOW_NAME} letters, digits, dots, dashes or underscores, got "${name}"`);
  }
  const auth = credentialSource(values);
  const ehloName = stringOption(values, 'ehlo');
  const maxWait = intOption(values, 'max-wait', 1, 86_400, FLOW_DEFAULTS.maxSeconds);
  const warnSeconds = intOption(values, 'warn-seconds', 0, 86_400, FLOW_DEFAULTS.warnSeconds);
  return {
    check: 'flow',
    name,
    via: {
      host,
      port,
      tls: parseTlsMode(stringOption(values, 'tls'), true),
      ...tlsPolicyOf(values),
      ...(auth !== undefined ? { auth } : {}),
      ...(ehloName !== undefined ? { ehloName } : {}),
    },
    from: address(values, 'from'),
    to: address(values, 'to'),
    receive: receiveOf(values),
    warnSeconds,
    // Without state, a person waiting at a terminal: not arrived by the end of the wait is lost.
    // With --state, the send stays pending until maxSeconds, for the next run to settle.
    maxSeconds: keepsState ? Math.max(maxWait, FLOW_DEFAULTS.maxSeconds) : maxWait,
    waitSeconds: maxWait,
  };
}

function describeHop(index: number, hop: FlowArrivalView['hops'][number]): string {
  const from = `${hop.from ?? '?'}${hop.fromAddress !== undefined ? ` [${hop.fromAddress}]` : ''}`;
  const tls =
    hop.transport === 'tls'
      ? `TLS${hop.tlsVersion !== undefined ? ` ${hop.tlsVersion}` : ''}${hop.cipher !== undefined ? ` ${hop.cipher}` : ''}`
      : hop.transport === 'none'
        ? 'NO TLS'
        : hop.transport;
  return `  hop ${index + 1}  ${from} -> ${hop.by ?? '?'}  ${hop.protocol ?? '?'}  ${tls}\n`;
}

/** The flow's own lines above the table: what was sent, when it arrived, by which hops, with which verdicts. */
export function describeFlow(result: FlowResult, maxWaitSeconds: number): string {
  const lines: string[] = [];
  const send = result.send;
  lines.push(
    send.accepted
      ? `sent via ${result.via}${send.tls !== undefined ? ` (${send.tls.protocol})` : ''}: ${send.reply ?? 'accepted'}\n`
      : `not sent: the relay ${result.via} refused it${send.stage !== undefined ? ` at ${send.stage}` : ''}\n`,
  );
  const own = result.arrivals.find((a) => a.token === send.token);
  for (const arrival of result.arrivals) {
    const which = arrival === own ? 'arrived' : `an earlier message (sent ${arrival.sentAt}) arrived`;
    // IMAP's INTERNALDATE has whole seconds: under one second is all it can say.
    const after = arrival.latencyMs < 1000 ? 'within 1 s' : `after ${(arrival.latencyMs / 1000).toFixed(1)} s`;
    lines.push(`${which} ${after} in ${arrival.folder === 'junk' ? 'the junk folder' : 'the inbox'}\n`);
    arrival.hops.forEach((hop, i) => lines.push(describeHop(i, hop)));
    if (arrival.hopsDropped > 0) lines.push(`  … and ${arrival.hopsDropped} older hops not read\n`);
    const v = arrival.verdicts;
    const ses = arrival.source === 'ses';
    const verdicts = (ses ? (['spf', 'dkim', 'dmarc', 'spam', 'virus'] as const) : (['spf', 'dkim', 'dmarc'] as const))
      .filter((k) => v[k] !== undefined)
      .map((k) => `${k.toUpperCase()} ${v[k]}`);
    lines.push(
      `  ${verdicts.length > 0 ? verdicts.join(', ') : 'SPF/DKIM/DMARC not verified'} (${ses ? "SES's verdicts" : 'checked by mailprobe'})\n`,
    );
    for (const received of arrival.receiverResults.slice(0, 1)) {
      lines.push(`  the receiver wrote: ${received.replace(/\s+/g, ' ').slice(0, 200)}\n`);
    }
  }
  if (send.accepted && own === undefined && result.lost.length === 0) {
    lines.push(`not arrived within ${maxWaitSeconds} s; still pending: the next run with this --state settles it\n`);
  }
  return `${lines.join('')}\n`;
}

/**
 * `--wait-ses`: the deployment's token key from Secrets Manager and its state table, where
 * the deployed SES receiver logs each arrival; the engine waits for this run's token there.
 */
async function deployedStore(
  values: Parsed['values'],
  region: string,
  timeoutMs: number,
): Promise<{ key: Buffer; store: StateStore }> {
  const arn = stringOption(values, 'key-secret')!;
  let key: Buffer;
  try {
    key = parseFlowKey(await readSecretString(arn, { abortSignal: AbortSignal.timeout(timeoutMs) }));
  } catch (err) {
    if (err instanceof CredentialError || err instanceof FlowKeyError)
      throw new UsageError(`--key-secret: ${err.message}`);
    throw err;
  }
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    region,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
  return {
    key,
    store: new DynamoStateStore({ client, tableName: stringOption(values, 'table')!, clock: systemClock }),
  };
}

export async function flowCommand(parsed: Parsed, io: Io): Promise<number> {
  const spec = flowSpecOf(parsed, stringOption(parsed.values, 'state') !== undefined);
  const state = await openState(parsed);
  const ctx = contextFrom(parsed.values, io.stderr);
  const deployed =
    'ses' in spec.receive ? await deployedStore(parsed.values, spec.receive.ses.region, ctx.timeoutMs) : undefined;
  const key = deployed?.key ?? keyOf(parsed.values, io, state !== undefined);
  // One run's log, thrown away after it, unless --state (or --wait-ses's table) keeps it.
  const scratch =
    state === undefined && deployed === undefined ? mkdtempSync(join(tmpdir(), 'mailprobe-flow-')) : undefined;
  const store = deployed?.store ?? state?.store ?? new FileStateStore(join(scratch!, 'flow.json'));
  const stderr = io.stderr as NodeJS.WritableStream & { isTTY?: boolean };
  const live = stderr.isTTY === true;
  const send = async (): Promise<CheckResult[]> => {
    const [result] = (await runChecks([spec], ctx, {
      deps: {
        credentials: { env: io.env },
        flow: {
          key,
          store,
          ...(live
            ? {
                onProgress: (elapsedMs: number) =>
                  stderr.write(
                    `\r\x1b[Kwaiting for the message in ${spec.to}: ${Math.round(elapsedMs / 1000)} s of ${spec.waitSeconds} s`,
                  ),
              }
            : {}),
        },
      },
    })) as [FlowResult];
    if (live) stderr.write('\r\x1b[K');
    // An engine failure comes back as a bare result (PROBE_INTERNAL_ERROR): only the table then.
    if (parsed.values.json !== true && 'send' in result) io.stdout.write(describeFlow(result, spec.waitSeconds ?? 0));
    return [result];
  };
  try {
    return await printResults(send, parsed, io, state);
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
}
