/**
 * What to check: one CheckSpec per check, produced by the CLI from its arguments or by
 * the plan from the config file. The same spec gives the same result in both places.
 */

/** The check kinds: the first field of every spec and result. */
export type CheckKind = 'smtp' | 'tls' | 'mta-sts' | 'ses-account' | 'dane' | 'flow' | 'sender-auth';

/**
 * The kinds a deployment schedules, each with its own function, metrics and alarms: the one
 * list the plan, the construct, the dashboard and the metric definitions read. `dane` runs
 * inside mta-sts. `flow` is planned apart (lib/config/flow-plan.ts: one shard per flow, from
 * `flows[]`), as its specs name a relay of the targets rather than being targets themselves.
 */
export const DEPLOYED_KINDS = [
  'smtp',
  'tls',
  'mta-sts',
  'ses-account',
  'sender-auth',
  'flow',
] as const satisfies readonly CheckKind[];
export type DeployedKind = (typeof DEPLOYED_KINDS)[number];

/** How TLS is reached on an SMTP port. `auto`: implicit on 465/2465, STARTTLS elsewhere. */
export type TlsMode = 'auto' | 'starttls' | 'implicit' | 'none';

/** A target's TLS policy (tls/policy.ts grades by it): how the sender using it acts on TLS problems. */
export const TLS_POLICIES = ['preferred', 'required', 'preferred-verify', 'required-verify'] as const;
export type TlsPolicy = (typeof TLS_POLICIES)[number];
export const DEFAULT_TLS_POLICY: TlsPolicy = 'required-verify';

export function isTlsPolicy(value: string): value is TlsPolicy {
  return (TLS_POLICIES as readonly string[]).includes(value);
}

export interface Credentials {
  readonly username: string;
  /** Never logged: use maskSecrets()/redaction before any output. */
  readonly password: string;
}

/** Where credentials come from. Never a plain password in a CLI argument or the config. */
export type CredentialSource =
  { readonly secretArn: string } | { readonly username: string; readonly passwordEnv: string };

export interface TestMessage {
  readonly from: string;
  readonly to: string;
  /** Extra header fields (a flow's token); fields with line breaks are dropped. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly subject?: string;
}

export interface SmtpCheckSpec {
  readonly check: 'smtp';
  readonly name?: string;
  readonly host: string;
  readonly port: number;
  /** @default 'auto' */
  readonly tls?: TlsMode;
  /** The name sent with EHLO. @default 'mailprobe.invalid' */
  readonly ehloName?: string;
  readonly auth?: CredentialSource;
  readonly testMessage?: TestMessage;
  /** Also check DANE (RFC 7672) for the host: its TLSA records at `_25._tcp.<host>`. Port 25. */
  readonly dane?: boolean;
  /** How the sender using this target grades TLS failures (tls/policy.ts). @default 'required-verify' */
  readonly tlsPolicy?: TlsPolicy;
  /** The name sent as SNI and checked against the certificate. @default the host */
  readonly sni?: string;
  /** Overall deadline for this check; falls back to the context's. */
  readonly timeoutMs?: number;
}

export interface TlsCheckSpec {
  readonly check: 'tls';
  readonly name?: string;
  readonly host: string;
  readonly port: number;
  /** @default 'auto' */
  readonly tls?: Exclude<TlsMode, 'none'>;
  readonly ehloName?: string;
  /** @default 'required-verify' */
  readonly tlsPolicy?: TlsPolicy;
  /** The name sent as SNI and checked against the certificate. @default the host */
  readonly sni?: string;
  readonly timeoutMs?: number;
}

export interface MtaStsCheckSpec {
  readonly check: 'mta-sts';
  readonly name?: string;
  readonly domain: string;
  /**
   * Connect to each MX on port 25 (STARTTLS, certificate). False where port 25 is blocked
   * (Lambda outside a VPC, or without AWS's port-25 restriction lifted; the config's `mx`):
   * the MX records and the policy's mx patterns are still checked, and one info finding
   * MTASTS_MX_NOT_PROBED says what was skipped.
   * @default true
   */
  readonly probeMx?: boolean;
  readonly timeoutMs?: number;
}

export interface SesAccountCheckSpec {
  readonly check: 'ses-account';
  readonly name?: string;
  readonly region: string;
  /** Domains or addresses whose verification and DKIM status are checked. */
  readonly identities?: readonly string[];
  /** SES_QUOTA_HIGH at or above this percentage of the 24-hour quota. @default 80 */
  readonly quotaWarnPercent?: number;
  readonly timeoutMs?: number;
}

/** DANE for SMTP (RFC 7672) for a domain's MX hosts. */
export interface DaneCheckSpec {
  readonly check: 'dane';
  readonly name?: string;
  readonly domain: string;
  readonly timeoutMs?: number;
}

/** The mailbox a flow's messages are looked for in, over IMAP (RFC 9051) with TLS. */
export interface ImapReceiveSpec {
  readonly host: string;
  /** @default 993 (implicit TLS), 143 for starttls */
  readonly port?: number;
  /** `implicit` (993) or `starttls`; never clear text, as the login carries the password. @default 'implicit' */
  readonly tls?: 'implicit' | 'starttls';
  readonly auth: CredentialSource;
  /** @default 'INBOX' */
  readonly folder?: string;
  /** The junk folder; absent: the one the server marks `\Junk` (RFC 6154), else none. */
  readonly junkFolder?: string;
}

/** SES email receiving: the receipt rule stores the message, the receiver logs the arrival. */
export interface SesReceiveSpec {
  readonly region: string;
}

/** A message sent through a relay and looked for at the recipient: does mail arrive? */
export interface FlowCheckSpec {
  readonly check: 'flow';
  /** The flow's name (1–64 characters): in the token, the state key and the metric dimension. */
  readonly name: string;
  /** The SMTP target the message is sent through: its host, port, TLS mode and credentials. */
  readonly via: Omit<SmtpCheckSpec, 'check' | 'testMessage' | 'dane' | 'name' | 'timeoutMs'>;
  readonly from: string;
  readonly to: string;
  readonly receive: { readonly imap: ImapReceiveSpec } | { readonly ses: SesReceiveSpec };
  /** FLOW_DELAYED above this. @default 120 */
  readonly warnSeconds?: number;
  /** FLOW_NOT_DELIVERED when still missing after this. @default 600 */
  readonly maxSeconds?: number;
  /**
   * How long this run waits for its own message before ending (the CLI waits; a scheduled
   * run does not, its message is settled by the next run). @default 0
   */
  readonly waitSeconds?: number;
  /** Overall deadline of the send and the mailbox look-up (not the waiting). */
  readonly timeoutMs?: number;
}

export const FLOW_DEFAULTS = { warnSeconds: 120, maxSeconds: 600, schedule: 'rate(15 minutes)' } as const;

/** Sender authentication for one domain: will mail from it be believed (SPF, DMARC, DKIM, MX)? */
export interface SenderAuthCheckSpec {
  readonly check: 'sender-auth';
  readonly name?: string;
  readonly domain: string;
  /** DKIM selectors whose keys are checked at `<selector>._domainkey.<domain>`. */
  readonly dkimSelectors?: readonly string[];
  /** An SES domain identity: its DKIM selectors (the Easy DKIM tokens) are read from SES in this region at run time. */
  readonly ses?: { readonly region: string };
  readonly timeoutMs?: number;
}

export type CheckSpec =
  | SmtpCheckSpec
  | TlsCheckSpec
  | MtaStsCheckSpec
  | SesAccountCheckSpec
  | DaneCheckSpec
  | FlowCheckSpec
  | SenderAuthCheckSpec;

/** Implicit TLS ports (RFC 8314 §3.3 for 465; 2465 is SES's alternative). */
export const IMPLICIT_TLS_PORTS: ReadonlySet<number> = new Set([465, 2465]);

/** Resolves `auto` into the mode actually used on a port. */
export function effectiveTlsMode(mode: TlsMode | undefined, port: number): Exclude<TlsMode, 'auto'> {
  if (mode === undefined || mode === 'auto') return IMPLICIT_TLS_PORTS.has(port) ? 'implicit' : 'starttls';
  return mode;
}

/**
 * The TLS server name of an smtp or tls check: `sni` when given (`--sni`, as with
 * testssl.sh: probing an address for the certificate of a name), else the host.
 */
export function serverNameOf(spec: { readonly host: string; readonly sni?: string }): string {
  return spec.sni ?? spec.host.replace(/\.$/, '');
}

export function targetOf(spec: CheckSpec): string {
  switch (spec.check) {
    case 'smtp':
    case 'tls':
      return `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
    case 'mta-sts':
    case 'dane':
    case 'sender-auth':
      return spec.domain;
    case 'ses-account':
      return spec.region;
    case 'flow':
      return `${spec.from} -> ${spec.to}`;
  }
}
