/**
 * The result contract (schema/mailprobe.result.schema.json): one result per check, printed by the CLI's --json
 * and logged by the Lambdas as one JSON line each. Fields are only ever added.
 */
import { targetOf, type CheckKind, type CheckSpec } from './checks.js';
// The contracts live in checks.ts, at the bottom of the engine; re-exported for existing importers.
export { DEPLOYED_KINDS, type CheckKind, type DeployedKind, type TlsMode } from './checks.js';
import type { Clock } from './deadline.js';
import { statusOf, type Finding, type FindingCode, type Severity, type Status } from './findings.js';

export interface BaseResult {
  readonly check: CheckKind;
  /** `host:port`, `domain` or `region`. */
  readonly target: string;
  /** The target's name from the config, if any. */
  readonly name?: string;
  readonly status: Status;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly findings: readonly Finding[];
  /** With state (DynamoDB, or the CLI's --state): what changed since the last run, reported once. */
  readonly changes?: readonly Change[];
}

/** One difference from the last run's facts (schema/mailprobe.result.schema.json); the code is in the findings catalogue. */
export interface Change {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** What changed, for a person (the diff of the policy, the old and new certificate). */
  readonly message: string;
  readonly hint: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** One X.509 certificate as the probe saw it. */
export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: readonly string[];
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days from the probe's clock to notAfter, rounded down; negative once expired. */
  readonly daysToExpiry: number;
  /** e.g. `RSA`, `EC`, `Ed25519`. */
  readonly keyType: string;
  readonly keyBits?: number;
  /** e.g. `sha256WithRSAEncryption`, `ecdsa-with-SHA256`. */
  readonly signatureAlgorithm: string;
  readonly fingerprintSha256: string;
  readonly selfIssued: boolean;
}

/** The TLS session of an SMTP or HTTPS connection. */
export interface TlsSessionInfo {
  /** e.g. `TLSv1.3`. */
  readonly protocol: string;
  readonly cipher: string;
  /** Key exchange: `{ type: 'ECDH', name: 'X25519', size: 253 }` or `{ type: 'DH', size: 2048 }`. */
  readonly ephemeralKey?: { readonly type: string; readonly name?: string; readonly size?: number };
  /** True when the chain verified against the trust store and the certificate matched the name. */
  readonly verified: boolean;
  /** The host name the certificate was checked against. */
  readonly servername: string;
  readonly certificate?: CertificateInfo;
  /**
   * The path clients validate, leaf first, ending at the trust anchor (taken from the trust
   * store even when the server did not send it); for an untrusted chain, what the server sent.
   */
  readonly chain: readonly CertificateInfo[];
  /** The certificate in the chain that expires first. */
  readonly earliestExpiry?: { readonly subject: string; readonly notAfter: string; readonly daysToExpiry: number };
}

/** Orders TLS protocol names as Node reports them; unknown names rank lowest. */
const TLS_PROTOCOL_RANK: Readonly<Record<string, number>> = {
  SSLv3: 0,
  TLSv1: 1,
  'TLSv1.1': 2,
  'TLSv1.2': 3,
  'TLSv1.3': 4,
};

/** True when `protocol` is older than TLS 1.2 (what RFC 8996 and RFC 8461 §4.2 require). */
export function isBelowTls12(protocol: string): boolean {
  return (TLS_PROTOCOL_RANK[protocol] ?? 0) < 3;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 0, warning: 1, info: 2 };

/**
 * Worst first, and otherwise in the order the check found them (a stable sort): the saved
 * Logs Insights query and the dashboard group by `findings.0.code`, so the first finding
 * must be the one that decided the status.
 */
export function worstFirst(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
}

/**
 * The fields every result shares (schema/mailprobe.result.schema.json), built in one place so each check only adds
 * its details: status is the worst finding, findings are sorted worst first, the duration
 * runs from `startedMs` to now.
 */
export function baseResult<S extends CheckSpec>(
  spec: S,
  findings: readonly Finding[],
  startedMs: number,
  clock: Clock,
): BaseResult & { readonly check: S['check'] } {
  return {
    check: spec.check,
    target: targetOf(spec),
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    status: statusOf(findings),
    startedAt: new Date(startedMs).toISOString(),
    durationMs: Math.max(0, clock.now() - startedMs),
    findings: worstFirst(findings),
  };
}
