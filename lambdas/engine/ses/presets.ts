/**
 * Amazon SES SMTP presets: a region expands into the SES SMTP endpoints with the right
 * TLS mode per port, and SES-specific hints replace the generic ones on SES endpoints.
 *
 * Pure: no I/O. The CLI (`mailprobe ses REGION`) and the config plan both call
 * expandSesPreset(), so a preset gives the same checks in both places.
 */
import type { SmtpCheckSpec, CredentialSource, TestMessage, TlsCheckSpec } from '../checks.js';
import type { Finding, FindingCode } from '../findings.js';
import { MailprobeError } from '../errors.js';

/**
 * Regions with an SES SMTP endpoint `email-smtp.<region>.amazonaws.com`.
 *
 * Source: the SES service regions of the AWS endpoint catalogue (botocore 1.43.11
 * `data/endpoints.json`, service `email`, partitions `aws` and `aws-us-gov`), which is
 * the list behind https://docs.aws.amazon.com/general/latest/gr/ses.html ("Amazon
 * Simple Email Service endpoints and quotas": every SES region has an SMTP endpoint in
 * its "SMTP endpoints" table). The SES developer guide's own credential script
 * (docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html, SMTP_REGIONS) lists a
 * subset only; it lags behind new regions. The `aws-eusc` partition (eusc-de-east-1)
 * uses another DNS suffix and is not included.
 */
export const SES_SMTP_REGIONS = [
  'af-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-5',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-gov-east-1',
  'us-gov-west-1',
  'us-west-1',
  'us-west-2',
] as const;

export type SesSmtpRegion = (typeof SES_SMTP_REGIONS)[number];

/**
 * Regions with a FIPS SMTP endpoint `email-smtp-fips.<region>.amazonaws.com`.
 *
 * Source: the SMTP table of https://docs.aws.amazon.com/general/latest/gr/ses.html as
 * quoted in public code that copies it (us-east-1, us-west-2, us-gov-west-1; e.g.
 * reviewboard's EmailBackendTests "taken from …/gr/ses.html"), and the table's
 * us-east-2 row quoted in a public PHPMailer sample (both endpoints of that row). The API has FIPS endpoints in more regions (us-west-1,
 * ca-central-1, us-gov-east-1) but no SMTP one was found documented there, so they are
 * left out rather than guessed: a wrong FIPS host would page someone with DNS_NXDOMAIN.
 */
export const SES_SMTP_FIPS_REGIONS: ReadonlySet<string> = new Set([
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'us-gov-west-1',
]);

/**
 * SES SMTP ports (docs.aws.amazon.com/ses/latest/dg/smtp-connect.html): STARTTLS on
 * 25, 587 and 2587; TLS from the first byte ("TLS Wrapper") on 465 and 2465.
 */
export const SES_SMTP_PORTS = [25, 587, 2587, 465, 2465] as const;

const STARTTLS_PORTS: ReadonlySet<number> = new Set([25, 587, 2587]);

export type SesPresetErrorCode = 'SES_UNKNOWN_REGION' | 'SES_NO_FIPS_ENDPOINT' | 'SES_UNKNOWN_PORT';

/** A preset that cannot be expanded: a configuration error (exit status 2), never a finding. */
export class SesPresetError extends MailprobeError {
  override readonly name = 'SesPresetError';
  /** The user's to fix: one line, exit 2. */
  override readonly userFacing = true;
  readonly code: SesPresetErrorCode;
  /** The value that was rejected. */
  readonly value: string;

  constructor(code: SesPresetErrorCode, value: string, message: string) {
    super(message);
    this.code = code;
    this.value = value;
  }
}

/** The config entry `{ "ses": { … } }` and the arguments of `mailprobe ses REGION`. */
export interface SesPresetOptions {
  readonly region: string;
  /** A subset of SES_SMTP_PORTS. @default all five */
  readonly ports?: readonly number[];
  /** Use `email-smtp-fips.<region>.amazonaws.com`. @default false */
  readonly fips?: boolean;
  /** Prefix of each check's name. @default `ses-<region>` (`ses-fips-<region>` with fips) */
  readonly name?: string;
  readonly auth?: CredentialSource;
  readonly testMessage?: TestMessage;
  /**
   * The one port that sends the test message. Every message is billed and all ports
   * reach the same SES backend, so one is enough; the others still test AUTH.
   * @default the first of `ports`
   */
  readonly testMessagePort?: number;
  readonly ehloName?: string;
  readonly timeoutMs?: number;
}

export function isSesSmtpRegion(region: string): region is SesSmtpRegion {
  return (SES_SMTP_REGIONS as readonly string[]).includes(region);
}

/** The SES SMTP host of a region; throws SesPresetError for an unknown region. */
export function sesSmtpHost(region: string, fips = false): string {
  if (!isSesSmtpRegion(region)) {
    throw new SesPresetError(
      'SES_UNKNOWN_REGION',
      region,
      `"${region}" is not a region with an Amazon SES SMTP endpoint. Valid regions: ${SES_SMTP_REGIONS.join(', ')}.`,
    );
  }
  if (!fips) return `email-smtp.${region}.amazonaws.com`;
  if (!SES_SMTP_FIPS_REGIONS.has(region)) {
    throw new SesPresetError(
      'SES_NO_FIPS_ENDPOINT',
      region,
      `Amazon SES has no FIPS SMTP endpoint in "${region}". FIPS SMTP endpoints exist in: ${[...SES_SMTP_FIPS_REGIONS].join(', ')}.`,
    );
  }
  return `email-smtp-fips.${region}.amazonaws.com`;
}

function validatedPorts(ports: readonly number[] | undefined): readonly number[] {
  if (ports === undefined) return SES_SMTP_PORTS;
  if (ports.length === 0) {
    throw new SesPresetError(
      'SES_UNKNOWN_PORT',
      '',
      `An SES preset needs at least one port of ${SES_SMTP_PORTS.join(', ')}.`,
    );
  }
  for (const port of ports) {
    if (!(SES_SMTP_PORTS as readonly number[]).includes(port)) {
      throw new SesPresetError(
        'SES_UNKNOWN_PORT',
        String(port),
        `Amazon SES does not serve SMTP on port ${port}. Valid ports: ${SES_SMTP_PORTS.join(', ')}.`,
      );
    }
  }
  return [...new Set(ports)];
}

function namePrefix(options: SesPresetOptions): string {
  return options.name ?? (options.fips === true ? `ses-fips-${options.region}` : `ses-${options.region}`);
}

/**
 * Expands a region into one `smtp` check per port: STARTTLS (required) on 25/587/2587,
 * implicit TLS on 465/2465. The mode is explicit in each spec rather than left to
 * `auto`, so a custom port list can never change it. Credentials go to every port;
 * the test message to one (testMessagePort).
 */
export function expandSesPreset(options: SesPresetOptions): SmtpCheckSpec[] {
  const host = sesSmtpHost(options.region, options.fips === true);
  const prefix = namePrefix(options);
  const ports = validatedPorts(options.ports);
  const messagePort = options.testMessagePort ?? ports[0];
  if (options.testMessage !== undefined && !ports.includes(messagePort!)) {
    throw new SesPresetError(
      'SES_UNKNOWN_PORT',
      String(messagePort),
      `testMessagePort ${messagePort} is not one of the preset's ports (${ports.join(', ')}).`,
    );
  }
  return ports.map((port) => ({
    check: 'smtp',
    name: `${prefix}-${port}`,
    host,
    port,
    tls: STARTTLS_PORTS.has(port) ? 'starttls' : 'implicit',
    ...(options.ehloName !== undefined ? { ehloName: options.ehloName } : {}),
    ...(options.auth !== undefined ? { auth: options.auth } : {}),
    ...(options.testMessage !== undefined && port === messagePort ? { testMessage: options.testMessage } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  }));
}

/**
 * The `tls` posture checks for the same endpoints (DHE size, legacy protocols). One
 * port per TLS mode is enough: SES serves the same TLS stack on all of them.
 * Names: `<prefix>-tls-<port>`.
 */
export function expandSesTlsPreset(options: SesPresetOptions): TlsCheckSpec[] {
  const host = sesSmtpHost(options.region, options.fips === true);
  const prefix = namePrefix(options);
  const ports = validatedPorts(options.ports);
  const picked = [ports.find((p) => STARTTLS_PORTS.has(p)), ports.find((p) => !STARTTLS_PORTS.has(p))].filter(
    (p): p is number => p !== undefined,
  );
  return picked.map((port) => ({
    check: 'tls',
    name: `${prefix}-tls-${port}`,
    host,
    port,
    tls: STARTTLS_PORTS.has(port) ? 'starttls' : 'implicit',
    ...(options.ehloName !== undefined ? { ehloName: options.ehloName } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  }));
}

// email-smtp.REGION.amazonaws.com, email-smtp-fips.REGION.amazonaws.com, and the
// interface VPC endpoint names vpce-….email-smtp.REGION.vpce.amazonaws.com.
const SES_HOST =
  /^(?:email-smtp(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com|vpce-[a-z0-9-]+\.email-smtp\.([a-z0-9-]+)\.vpce\.amazonaws\.com)$/;

/** The region of an SES SMTP host name, or undefined when the host is not SES. */
export function sesRegionOf(host: string): string | undefined {
  const match = SES_HOST.exec(host.trim().toLowerCase().replace(/\.$/, ''));
  const region = match?.[1] ?? match?.[2];
  return region !== undefined && isSesSmtpRegion(region) ? region : undefined;
}

export function isSesEndpoint(host: string): boolean {
  return sesRegionOf(host) !== undefined;
}

export interface SesHintContext {
  /** The port of the finding's target; CONNECT_TIMEOUT on 25 gets its own hint. */
  readonly port?: number;
  /** The server's reply (or the finding's message, which quotes it). */
  readonly reply?: string;
}

const SES_HINTS: Partial<Record<FindingCode, string>> = {
  AUTH_FAILED:
    'Amazon SES rejected the SMTP credentials (535 Authentication Credentials Invalid). SES SMTP credentials are not the IAM access key and secret: they are an IAM access key ID plus a password derived from its secret for ONE region. Create SMTP credentials in the SES console of this region, or derive the password with `mailprobe ses-smtp-password --region REGION`, and update the secret. Credentials created before AWS’s 2019 signature change, or derived from an IAM key that has since been rotated, deactivated or deleted, no longer work.',
  AUTH_TEMPFAIL:
    'Amazon SES could not check the credentials for now (454). Retry; if it persists, check the AWS Health dashboard for SES in this region.',
  SENDER_REJECTED:
    'Amazon SES refused the sender (554 Message rejected: Email address is not verified). Verify the From address or its domain in the SES console of THIS region (identities are per region). While the account is in the sandbox, recipients must be verified too (or use the mailbox simulator, e.g. success@simulator.amazonses.com).',
  RECIPIENT_REJECTED:
    'Amazon SES refused the recipient. In the sandbox only verified addresses and the mailbox simulator (success@simulator.amazonses.com) are accepted; request production access, or send the probe message to the simulator.',
  MESSAGE_REJECTED:
    'Amazon SES refused the message. Read the reply: "Daily message quota exceeded" or "Maximum sending rate exceeded" mean the sending quota is used up (see the ses-account check); "Email address is not verified" means the From or, in the sandbox, a recipient is not verified in this region; "Sending paused" means the account or configuration set is paused.',
  DH_WEAK:
    'Amazon SES has offered 1024-bit DHE key exchange on its SMTP endpoints; clients with a strict OpenSSL security level abort with "dh key too small". Make the client prefer ECDHE suites (or TLS 1.3), e.g. remove DHE suites from its cipher list; there is nothing to change on the SES side.',
  TLS_LEGACY_PROTOCOL:
    'An Amazon SES SMTP endpoint accepted TLS 1.0 or 1.1, although SES documents TLS 1.2 and 1.3 only. Make sure the client itself requires TLS 1.2+; if SES really negotiates 1.0/1.1, report it to AWS Support.',
  TLS_NO_MODERN_PROTOCOL:
    'Amazon SES supports only TLS 1.2 and 1.3; the probe could negotiate neither. Check for a TLS-intercepting proxy or firewall between the probe and SES.',
  TLS_HANDSHAKE_FAILED:
    'The TLS handshake with Amazon SES failed. SES needs TLS 1.2 or 1.3; old clients (Java 7, old OpenSSL) and TLS-intercepting proxies are the usual causes. Check also the TLS mode: implicit TLS on 465/2465, STARTTLS on 25/587/2587.',
  TLS_WRONG_MODE:
    'Amazon SES speaks STARTTLS on 25, 587 and 2587 and TLS from the first byte on 465 and 2465. Fix the port or the tls mode of the target.',
  CONNECT_TIMEOUT:
    'No TCP answer from Amazon SES. Check the security group / network ACL egress rules and any proxy; with an interface VPC endpoint for SES, use its vpce- host name and allow the port in the endpoint’s security group.',
  DNS_NXDOMAIN:
    'The SES SMTP host name does not exist. Check the region in the host name (email-smtp.REGION.amazonaws.com) and that SES has an SMTP (or FIPS SMTP) endpoint in that region.',
};

const SES_PORT25_HINT =
  'No TCP answer from Amazon SES on port 25. AWS throttles or blocks outbound port 25 from EC2 and Lambda by default: use port 587 or 2587 (STARTTLS) or 465/2465 (implicit TLS) instead, or ask AWS to remove the port-25 restriction.';

// SES answers a send over its limits with `454 Throttling failure: Daily message quota
// exceeded` or `… Maximum sending rate exceeded` (docs.aws.amazon.com/ses/latest/dg/
// manage-sending-quotas-errors.html): the reply text is the only signal that tells a
// quota problem from a verification one, so it is read here, for SES replies only.
const SES_LIMIT_REPLY = /Daily message quota exceeded|Maximum sending rate exceeded/i;
const SENDING_CODES: ReadonlySet<FindingCode> = new Set(['SENDER_REJECTED', 'RECIPIENT_REJECTED', 'MESSAGE_REJECTED']);

const SES_QUOTA_REPLY_HINT =
  'Amazon SES refused the message because a sending limit is reached (daily quota or maximum send rate). The quota resets over a rolling 24 hours; request a quota increase in the SES console of this region, and watch QuotaUsedPercent from the ses-account check.';

/** The SES-specific hint for a findings code, or undefined when the generic one fits. */
export function sesHint(code: FindingCode, context: SesHintContext = {}): string | undefined {
  if (code === 'CONNECT_TIMEOUT' && context.port === 25) return SES_PORT25_HINT;
  if (SENDING_CODES.has(code) && context.reply !== undefined && SES_LIMIT_REPLY.test(context.reply)) {
    return SES_QUOTA_REPLY_HINT;
  }
  return SES_HINTS[code];
}

/**
 * Replaces the hints of findings observed on an SES endpoint with the SES-specific
 * ones; findings of other hosts are returned unchanged. For the smtp and tls checks.
 */
export function withSesHints(findings: readonly Finding[], host: string, port?: number): Finding[] {
  if (!isSesEndpoint(host)) return [...findings];
  return findings.map((f) => {
    const hint = sesHint(f.code, { reply: f.message, ...(port === undefined ? {} : { port }) });
    return hint === undefined ? f : { ...f, hint };
  });
}
