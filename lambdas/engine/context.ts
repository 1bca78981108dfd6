/**
 * What every check needs from its surroundings, injected so the CLI, the Lambdas and
 * the tests run the very same code: the resolver, the trust store, the clock, limits.
 */
import type { Clock } from './deadline.js';
import { systemClock } from './deadline.js';
import type { TrustAnchor } from './dnssec/anchors.js';
import type { Resolver } from './net/resolver.js';
import { createResolver } from './net/resolver.js';

export interface Thresholds {
  /** CERT_EXPIRING as a warning at or below this many days. @default 30 */
  readonly warnDays: number;
  /** CERT_EXPIRING as critical at or below this many days. @default 7 */
  readonly criticalDays: number;
  /** DH_WEAK below this many bits (critical below 1024). @default 2048 */
  readonly minDhBits: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { warnDays: 30, criticalDays: 7, minDhBits: 2048 };

/** The overall deadline of one check unless configured. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export interface ProbeContext {
  readonly resolver: Resolver;
  /** Extra trust anchors (PEM) on top of Node's bundled roots, like a trust-store import. */
  readonly extraCa: readonly string[];
  readonly clock: Clock;
  /** Allow connecting to private/loopback addresses that came from DNS (MX, policy host). */
  readonly allowPrivate: boolean;
  readonly thresholds: Thresholds;
  /** Overall deadline of one check. */
  readonly timeoutMs: number;
  /**
   * DNSSEC for DANE (RFC 7672): the resolver asked with DO/CD (`IP[:PORT]`; absent: the
   * system's) and the trust anchors (absent: the IANA root KSKs). When the whole field is
   * absent, mta-sts results carry no DANE verdict.
   */
  readonly dnssec?: { readonly server?: string; readonly anchors?: readonly TrustAnchor[] };
  /**
   * The CLI's `--debug`: every SMTP command and reply as it crosses the wire, and the
   * connection events between them, secrets already masked. Never set in the Lambdas.
   */
  readonly transcript?: Transcript;
}

/** `C` the probe sent it, `S` the server did, `*` an event (connected, TLS up). */
export type Transcript = (direction: 'C' | 'S' | '*', text: string) => void;

export function createContext(overrides: Partial<ProbeContext> = {}): ProbeContext {
  return {
    resolver: overrides.resolver ?? createResolver(),
    extraCa: overrides.extraCa ?? [],
    clock: overrides.clock ?? systemClock,
    allowPrivate: overrides.allowPrivate ?? false,
    thresholds: overrides.thresholds ?? DEFAULT_THRESHOLDS,
    timeoutMs: overrides.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(overrides.dnssec !== undefined ? { dnssec: overrides.dnssec } : {}),
    ...(overrides.transcript !== undefined ? { transcript: overrides.transcript } : {}),
  };
}
