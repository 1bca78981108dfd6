/**
 * The input of one scheduled invocation: a shard of the plan (lib/config/plan.ts),
 * passed by EventBridge Scheduler as the target input. Defined here, on the Lambda
 * side, because the engine must not import lib/ (DESIGN.md §1); the plan imports it.
 */
import type { CheckSpec } from '../checks.js';
import type { Thresholds } from '../context.js';
import { METRICS_MODES, type ShardMetrics } from '../metrics/definitions.js';
import { DNS_SERVER_SYNTAX, DnsServerSyntaxError, parseDnsServer } from '../net/dns-server.js';
import type { CheckKind } from '../result.js';
import { MailprobeError } from '../errors.js';

/** Change-notification settings; absent fields take the engine's defaults (2 runs, 24 h). */
export interface ShardAlertPolicy {
  readonly enabled?: boolean;
  readonly holdCount?: number;
  readonly reminderIntervalMs?: number;
}

export interface ShardEvent {
  readonly version: 1;
  /** Stable identifier, e.g. `smtp-5m-1`; also the construct ID of its schedule. */
  readonly shard: string;
  readonly check: CheckKind;
  readonly schedule: string;
  readonly specs: readonly CheckSpec[];
  readonly thresholds: Thresholds;
  readonly allowPrivate: boolean;
  readonly concurrency: number;
  /** DNSSEC trust anchors for DANE (DS/DNSKEY records, presentation format); absent: the IANA root. */
  readonly trustAnchors?: string;
  /**
   * The resolver of every lookup and of the DNSSEC queries: `IP`, `IPv4:PORT` or `[IPv6]:PORT`
   * (net/dns-server.ts). @default - the system's (the function's resolver)
   */
  readonly dnsServer?: string;
  /** Defaults for the shard, and per-target overrides keyed by the target's name. */
  readonly alerts?: ShardAlertPolicy & { readonly targets?: Readonly<Record<string, ShardAlertPolicy>> };
  /** What to publish (metric mode, alarm group, interval). @default - every per-target metric */
  readonly metrics?: ShardMetrics;
}

/**
 * A heartbeat invocation (lib/config/fleet-route.ts) is the shard's reference, or the shard,
 * with this field set to true: the function republishes the shard's last statuses from the
 * state table instead of probing.
 */
export const HEARTBEAT_FIELD = 'heartbeat';

export function isHeartbeatEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as Record<string, unknown>)[HEARTBEAT_FIELD] === true;
}

export class ShardEventError extends MailprobeError {
  override readonly name = 'ShardEventError';
  readonly code = 'INVALID_EVENT';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks the event before any work: a malformed input is a deployment bug, so the
 * invocation fails (and lands in the dead-letter queue) instead of probing nothing.
 */
export function parseShardEvent(event: unknown, expected: CheckKind): ShardEvent {
  if (!isRecord(event)) throw new ShardEventError('the event is not an object: expected a shard of the plan');
  if (event['version'] !== 1)
    throw new ShardEventError(`unsupported event version ${JSON.stringify(event['version'])}`);
  if (event['check'] !== expected) {
    throw new ShardEventError(
      `this is the ${expected} function, but the shard is for ${JSON.stringify(event['check'])}`,
    );
  }
  const specs = event['specs'];
  if (!Array.isArray(specs) || specs.some((s) => !isRecord(s) || s['check'] !== expected)) {
    throw new ShardEventError(`specs must be an array of ${expected} checks`);
  }
  const t = event['thresholds'];
  if (!isRecord(t) || ['warnDays', 'criticalDays', 'minDhBits'].some((k) => typeof t[k] !== 'number')) {
    throw new ShardEventError('thresholds must hold warnDays, criticalDays and minDhBits');
  }
  const concurrency = event['concurrency'];
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new ShardEventError('concurrency must be a positive integer');
  }
  const anchors = event['trustAnchors'];
  if (anchors !== undefined && typeof anchors !== 'string') throw new ShardEventError('trustAnchors must be a string');
  const dnsServer = event['dnsServer'];
  if (dnsServer !== undefined) {
    if (typeof dnsServer !== 'string') throw new ShardEventError(`dnsServer must be a string: ${DNS_SERVER_SYNTAX}`);
    try {
      parseDnsServer(dnsServer);
    } catch (err) {
      if (!(err instanceof DnsServerSyntaxError)) throw err;
      throw new ShardEventError(`dnsServer: ${err.message}`);
    }
  }
  const alerts = event['alerts'];
  if (alerts !== undefined) {
    const policies = isRecord(alerts)
      ? [alerts, ...Object.values(isRecord(alerts['targets']) ? alerts['targets'] : {})]
      : [];
    if (
      !isRecord(alerts) ||
      (alerts['targets'] !== undefined && !isRecord(alerts['targets'])) ||
      !policies.every(isAlertPolicy)
    ) {
      throw new ShardEventError(
        'alerts must hold enabled (boolean), holdCount and reminderIntervalMs (numbers), and targets',
      );
    }
  }
  const metrics = event['metrics'];
  if (
    metrics !== undefined &&
    (!isRecord(metrics) ||
      !(METRICS_MODES as readonly unknown[]).includes(metrics['mode']) ||
      typeof metrics['interval'] !== 'string' ||
      (metrics['group'] !== undefined && typeof metrics['group'] !== 'string') ||
      (metrics['omit'] !== undefined && !Array.isArray(metrics['omit'])))
  ) {
    throw new ShardEventError(
      'metrics must hold mode (default, detailed or aggregate), interval, and optionally group and omit',
    );
  }
  return event as unknown as ShardEvent;
}

function isAlertPolicy(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const { enabled, holdCount, reminderIntervalMs } = value;
  return (
    (enabled === undefined || typeof enabled === 'boolean') &&
    (holdCount === undefined || (Number.isInteger(holdCount) && (holdCount as number) >= 1)) &&
    (reminderIntervalMs === undefined || (typeof reminderIntervalMs === 'number' && reminderIntervalMs >= 0))
  );
}
