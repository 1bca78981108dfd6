/**
 * The one schema of `mailprobe.config.(json|yaml)`: `cdk deploy` and `mailprobe run`
 * both read the file through it, and `scripts/gen-schema.ts` turns it into the JSON
 * Schema editors use. Objects are strict so a typo (`prot: 587`) is an error, not a
 * silently ignored key.
 *
 * Credentials exist only as `auth: { secretArn }`: a password in a file ends up in git,
 * in the CloudFormation template and in the Scheduler's input, so it is refused
 * (load.ts also rejects any `password`-like key before this schema runs).
 */
import { z } from 'zod';
import { parseTrustAnchors, TrustAnchorError } from '../../lambdas/engine/dnssec/anchors.js';
import { DNS_SERVER_SYNTAX, DnsServerSyntaxError, parseDnsServer } from '../../lambdas/engine/net/dns-server.js';

const show = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));

/** An integer in [min, max] with the error text `expected 1–65535, got "587a"`. */
const intInRange = (min: number, max: number, what = '') =>
  z
    .number({ error: (iss) => `expected ${what}${min}–${max}, got ${show(iss.input)}` })
    .int({ error: (iss) => `expected a whole number ${min}–${max}, got ${show(iss.input)}` })
    .min(min, { error: (iss) => `expected ${what}${min}–${max}, got ${show(iss.input)}` })
    .max(max, { error: (iss) => `expected ${what}${min}–${max}, got ${show(iss.input)}` });

export const PortSchema = intInRange(1, 65535).describe('TCP port, 1–65535.');

/**
 * EventBridge Scheduler rate expressions only: the alarms' period is derived from the
 * interval (a cron expression has no single period to alarm on).
 */
export const RATE_PATTERN = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;

export const ScheduleSchema = z
  .string({ error: (iss) => `expected a schedule like "rate(5 minutes)", got ${show(iss.input)}` })
  .regex(RATE_PATTERN, {
    error: (iss) =>
      `expected a schedule like "rate(5 minutes)", "rate(1 hour)" or "rate(6 hours)", got ${show(iss.input)}`,
  })
  .refine(
    (expr) => {
      const [, n, unit] = RATE_PATTERN.exec(expr) ?? [];
      if (unit === undefined) return true; // already reported by the regex
      // EventBridge wants the singular unit for 1 and the plural otherwise ("rate(1 minutes)" fails at deploy).
      return Number(n) >= 1 && (Number(n) === 1) === !unit.endsWith('s');
    },
    {
      error: (iss) =>
        `expected "rate(1 minute)" or "rate(N minutes)" (singular unit for 1 only), got ${show(iss.input)}`,
    },
  )
  .refine(
    (expr) => {
      const [, n, unit] = RATE_PATTERN.exec(expr) ?? [];
      if (unit === undefined) return true;
      const seconds = Number(n) * (unit.startsWith('minute') ? 60 : unit.startsWith('hour') ? 3600 : 86_400);
      return seconds >= 60 && seconds <= 86_400;
    },
    { error: (iss) => `expected an interval from 1 minute to 1 day (the alarms' period), got ${show(iss.input)}` },
  )
  .describe('EventBridge Scheduler rate expression, e.g. "rate(5 minutes)" (1 minute to 1 day).');

const HostSchema = z
  .string({ error: (iss) => `expected a host name or IP address, got ${show(iss.input)}` })
  .min(1, { error: 'expected a host name or IP address, got ""' })
  .max(253)
  // "[::1]" is how an address is written next to a port (and what the CLI accepts); here the
  // port has its own key, so say what to write instead of only that "[" is not allowed.
  .refine((host) => !/^\[[^\]]*\]$/.test(host), {
    error: (iss) =>
      `write an IPv6 address without brackets (${show(String(iss.input).slice(1, -1))}); the port goes in \`port\``,
    abort: true,
  })
  .regex(/^[A-Za-z0-9.:_-]+$/, {
    error: (iss) => `expected a host name or IP address (letters, digits, ".", "-", ":"), got ${show(iss.input)}`,
  });

const DomainSchema = z
  .string({ error: (iss) => `expected a domain name, got ${show(iss.input)}` })
  // The top-level label is letters only, or an IDN TLD as an A-label (RFC 5890: "xn--p1ai").
  .regex(
    /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{0,58}[A-Za-z0-9])\.?$/,
    {
      error: (iss) => `expected a domain name like "example.com", got ${show(iss.input)}`,
    },
  );

const NameSchema = z
  .string({ error: (iss) => `expected a name, got ${show(iss.input)}` })
  // CloudWatch dimension values are at most 1024 characters; names also appear in alarm names.
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/, {
    error: (iss) =>
      `expected a name of letters, digits and . _ : @ / - (up to 128, starting with a letter or digit), got ${show(iss.input)}`,
  })
  .describe('Shown in results and used as the metric dimension `Target`; unique per check.');

export const SecretArnSchema = z
  .string({ error: (iss) => `expected a Secrets Manager ARN, got ${show(iss.input)}` })
  .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
    error: (iss) =>
      `expected a Secrets Manager ARN like "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-relay-AbCdEf", got ${show(iss.input)}`,
  });

const AuthSchema = z
  .strictObject(
    {
      secretArn: SecretArnSchema.describe(
        'Secrets Manager secret holding JSON {"username": "...", "password": "..."}. The probe function may read only the secrets named here.',
      ),
    },
    { error: () => 'expected { secretArn: "arn:aws:secretsmanager:…" } (credentials live in Secrets Manager)' },
  )
  .describe('SMTP AUTH credentials, by reference only.');

const EmailSchema = z.email({ error: (iss) => `expected an e-mail address, got ${show(iss.input)}` });

export const ThresholdsSchema = z
  .strictObject({
    warnDays: intInRange(0, 3650)
      .optional()
      .describe('CERT_EXPIRING warning, and the certificate alarm, at or below this many days. @default 30'),
    criticalDays: intInRange(0, 3650).optional().describe('CERT_EXPIRING critical at or below this. @default 7'),
    minDhBits: intInRange(0, 16384).optional().describe('DH_WEAK and the DhKeyBits alarm below this. @default 2048'),
  })
  .describe('Certificate and DH thresholds.');

const TimeoutSchema = intInRange(1000, 300_000, 'milliseconds ').describe('Deadline of one check in milliseconds.');

const TargetScheduleSchema = z.union([
  ScheduleSchema,
  z.strictObject({ smtp: ScheduleSchema.optional(), tls: ScheduleSchema.optional() }),
]);

export const AlertPolicySchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Send change notifications for this target. @default true'),
    holdCount: intInRange(1, 10)
      .optional()
      .describe('Consecutive runs a new status must hold before it is announced. @default 2'),
    reminderHours: intInRange(0, 168)
      .optional()
      .describe('Remind every N hours while the target stays critical; 0 turns reminders off. @default 24'),
  })
  .describe('Change notifications (detailed SNS messages from the probes).');

export const SmtpTargetSchema = z
  .strictObject({
    name: NameSchema.optional(),
    host: HostSchema,
    port: PortSchema,
    tls: z
      .enum(['auto', 'starttls', 'implicit', 'none'], {
        error: (iss) => `expected "auto", "starttls", "implicit" or "none", got ${show(iss.input)}`,
      })
      .optional()
      .describe('auto: TLS from the first byte on 465/2465, STARTTLS required elsewhere. @default "auto"'),
    tlsPolicy: z
      .enum(['preferred', 'required', 'preferred-verify', 'required-verify'], {
        error: (iss) =>
          `expected "preferred", "required", "preferred-verify" or "required-verify", got ${show(iss.input)}`,
      })
      .optional()
      .describe(
        'How the sender using this target acts on TLS problems (Cisco ESA outbound TLS modes); findings are graded the same way. @default "required-verify"',
      ),
    ehloName: HostSchema.optional(),
    auth: AuthSchema.optional(),
    testMessage: z
      .strictObject({ from: EmailSchema, to: EmailSchema })
      .optional()
      .describe('Send a test message (MAIL FROM/RCPT TO/DATA), e.g. to success@simulator.amazonses.com.'),
    dane: z
      .boolean()
      .optional()
      .describe(
        'Also check DANE (RFC 7672) for this host on the smtp check: its TLSA records at _25._tcp.<host>, validated with DNSSEC, against the certificate. Port 25 only. @default false',
      ),
    checks: z
      .array(z.enum(['smtp', 'tls'], { error: (iss) => `expected "smtp" or "tls", got ${show(iss.input)}` }))
      .min(1)
      .optional()
      .describe('Which checks run for this target. @default ["smtp", "tls"] (["smtp"] when tls is "none")'),
    schedule: TargetScheduleSchema.optional().describe(
      'Overrides the default schedule: one expression for the smtp check, or { smtp, tls }.',
    ),
    thresholds: ThresholdsSchema.optional(),
    timeoutMs: TimeoutSchema.optional(),
    alerting: AlertPolicySchema.optional(),
  })
  .describe('An SMTP endpoint: a relay, a submission server, an MX.');

export const SesPresetSchema = z
  .strictObject({
    ses: z.strictObject({
      region: z
        .string({ error: (iss) => `expected an AWS region like "eu-west-1", got ${show(iss.input)}` })
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, {
          error: (iss) => `expected an AWS region like "eu-west-1", got ${show(iss.input)}`,
        }),
      ports: z
        .array(PortSchema)
        .min(1)
        .optional()
        .describe(
          'SES SMTP ports to probe (25, 587, 2587: STARTTLS; 465, 2465: implicit TLS). @default [587, 2587, 465, 2465] (25 is blocked from Lambda by default)',
        ),
      fips: z
        .boolean()
        .optional()
        .describe('Probe the FIPS endpoints (email-smtp-fips.REGION.amazonaws.com) where SES has them. @default false'),
      auth: AuthSchema.optional().describe('SES SMTP credentials (per region), by reference.'),
      testMessage: z.strictObject({ from: EmailSchema, to: EmailSchema }).optional(),
      ehloName: HostSchema.optional(),
      account: z
        .union([
          z.boolean(),
          z.strictObject({
            identities: z.array(z.string().min(1)).optional(),
            quotaWarnPercent: intInRange(1, 100).optional(),
            senderAuth: z
              .boolean()
              .optional()
              .describe(
                'Also run the sender-auth check for the domains of the identities, with their Easy DKIM selectors read from SES at run time. @default false',
              ),
          }),
        ])
        .optional()
        .describe('The ses-account check (sending enabled, quota, identities) with the SES API. @default false'),
    }),
    name: NameSchema.optional().describe('Prefix of the names of the expanded targets. @default "ses-<region>"'),
    checks: z
      .array(z.enum(['smtp', 'tls']))
      .min(1)
      .optional(),
    schedule: TargetScheduleSchema.optional(),
    thresholds: ThresholdsSchema.optional(),
    timeoutMs: TimeoutSchema.optional(),
    alerting: AlertPolicySchema.optional(),
  })
  .describe('Amazon SES: expands into its SMTP endpoints in the region.');

export const TargetSchema = z.union([SmtpTargetSchema, SesPresetSchema], {
  error: () => 'expected an SMTP target { host, port, … } or an SES preset { ses: { region } }',
});

export const MxModeSchema = z
  .enum(['auto', 'always', 'never'], {
    error: (iss) => `expected "auto", "always" or "never", got ${show(iss.input)}`,
  })
  .describe(
    'Probe the MX hosts on port 25: auto probes them only when the deployment runs in a VPC (AWS blocks port 25 from Lambda otherwise); the TXT records, the policy and TLS-RPT are always checked. @default "auto"',
  );

/** A DKIM selector: one DNS label (RFC 6376 §3.1 allows dots; each part a label). */
const SelectorSchema = z
  .string({ error: (iss) => `expected a DKIM selector, got ${show(iss.input)}` })
  .regex(
    /^(?=.{1,200}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/,
    {
      error: (iss) => `expected a DKIM selector (DNS labels, e.g. "s1" or "google"), got ${show(iss.input)}`,
    },
  );

export const SenderAuthSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      dkimSelectors: z
        .array(SelectorSchema)
        .max(16)
        .optional()
        .describe('DKIM selectors whose keys are checked at <selector>._domainkey.<domain> (at most 16).'),
      schedule: ScheduleSchema.optional(),
    }),
  ])
  .describe(
    'The sender-auth check (SPF include tree and lookup limits, DMARC, DKIM keys, MX) for this domain, with change detection. @default false',
  );

export const DomainEntrySchema = z.union([
  DomainSchema,
  z.strictObject({
    domain: DomainSchema,
    name: NameSchema.optional(),
    mtaSts: z
      .boolean()
      .optional()
      .describe('Check MTA-STS, TLS-RPT and DANE for this domain; false for a domain that only sends. @default true'),
    senderAuth: SenderAuthSchema.optional(),
    mx: MxModeSchema.optional(),
    schedule: ScheduleSchema.optional(),
    thresholds: ThresholdsSchema.optional(),
    timeoutMs: TimeoutSchema.optional(),
    alerting: AlertPolicySchema.optional(),
  }),
]);

const VpcSchema = z
  .strictObject({
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: (iss) => `expected "vpc-…", got ${show(iss.input)}` }),
    subnetIds: z
      .array(
        z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: (iss) => `expected "subnet-…", got ${show(iss.input)}` }),
      )
      .min(1)
      .describe('Private subnets with a route to a NAT gateway (the probes need DNS and outbound TCP).'),
    securityGroupIds: z
      .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, { error: (iss) => `expected "sg-…", got ${show(iss.input)}` }))
      .optional()
      .describe('@default a new security group allowing all outbound traffic'),
  })
  .describe('Run the probe functions in these subnets (private relays; port 25 needs a NAT gateway).');

const AlertingSchema = z
  .strictObject({
    email: z.array(EmailSchema).optional().describe('E-mail subscriptions (each must confirm the subscription).'),
    https: z
      .array(z.url({ protocol: /^https$/, error: (iss) => `expected an https:// URL, got ${show(iss.input)}` }))
      .optional(),
    topicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, {
        error: (iss) => `expected an SNS topic ARN, got ${show(iss.input)}`,
      })
      .optional()
      .describe('Send alarms to this existing topic instead of creating one.'),
    notifications: AlertPolicySchema.optional().describe('Defaults for every target; each can override them.'),
    format: z
      .enum(['text', 'chatbot'], {
        error: (iss) => `expected "text" or "chatbot", got ${show(iss.input)}`,
      })
      .optional()
      .describe(
        'How the probes publish change notifications. chatbot: HTTPS subscribers (AWS Chatbot / Amazon Q Developer in chat applications) and every protocol without its own message get the Chatbot custom-notification JSON; e-mail keeps the text, SQS and Lambda the result JSON. Alarms are unaffected (Chatbot reads them natively). @default "text"',
      ),
  })
  .describe('Where alarms and change notifications go.');

const TlsRptSchema = z
  .strictObject({
    domains: z
      .array(DomainSchema)
      .min(1)
      .optional()
      .describe(
        'Policy domains whose reports are accepted; reports for others are refused. @default the `domains` above',
      ),
    https: z
      .union([
        z.boolean(),
        z.strictObject({
          rateLimit: intInRange(1, 10_000).optional().describe('Requests per second. @default 10'),
          burstLimit: intInRange(1, 5_000).optional().describe('Burst of requests. @default 20'),
          reservedConcurrency: intInRange(1, 100).optional().describe('@default 5'),
        }),
      ])
      .optional()
      .describe('The HTTPS rua receiver (API Gateway HTTP API). @default false'),
    mail: z
      .strictObject({
        recipients: z.array(EmailSchema).min(1).describe('The mailto: rua address(es), on a domain SES receives for.'),
        ruleSetName: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, {
            error: (iss) => `expected an SES receipt rule set name, got ${show(iss.input)}`,
          })
          .optional()
          .describe('Add the rule to this existing (active) rule set. @default a new rule set, to be activated once'),
      })
      .optional()
      .describe('The mailto: rua receiver (Amazon SES email receiving).'),
    retentionDays: intInRange(1, 3650).optional().describe('Raw reports expire after this many days. @default 90'),
    limits: z
      .strictObject({
        reportsPerDomainPerDay: intInRange(1, 100_000)
          .optional()
          .describe('Reports stored per policy domain and day (signed and unsigned counted apart). @default 50'),
        reportsPerSubmitterPerDay: intInRange(1, 100_000)
          .optional()
          .describe('Reports stored per submitter (DKIM domain, else organisation name) and day. @default 200'),
        requestsPerSourcePerDay: intInRange(1, 100_000)
          .optional()
          .describe('HTTPS requests per source IP address and day. @default 200'),
        alertsPerDomainPerDay: intInRange(1, 1_000)
          .optional()
          .describe('SNS messages per policy domain and day (the alarm still fires). @default 1'),
      })
      .optional()
      .describe('Daily limits of the public receivers; what is beyond is refused and counted in TlsRptDropped.'),
    trustedSubmitters: z
      .array(DomainSchema)
      .optional()
      .describe(
        'DKIM signing domains whose signed reports page on their own; other reports page only when corroborated. @default ["google.com", "microsoft.com"]',
      ),
    alarm: z
      .strictObject({
        failedSessions: intInRange(1, 1_000_000_000)
          .optional()
          .describe('Alarm when a day’s reports hold this many failed sessions. @default 1'),
        failedPercent: z
          .number()
          .min(0)
          .max(100)
          .optional()
          .describe('…and at least this share of the sessions failed. @default no share condition'),
      })
      .optional(),
  })
  .refine((t) => (t.https !== undefined && t.https !== false) || t.mail !== undefined, {
    error: 'enable at least one receiver: https: true or mail: { recipients: [...] }',
  })
  .describe('TLS-RPT (RFC 8460) report receivers: metrics and alerts from what senders failed to deliver.');

const ImapReceiveConfigSchema = z
  .strictObject({
    host: HostSchema,
    port: PortSchema.optional().describe('@default 993 (implicit TLS), 143 with tls "starttls"'),
    tls: z
      .enum(['implicit', 'starttls'], {
        error: (iss) =>
          `expected "implicit" or "starttls" (never clear text: LOGIN carries the password), got ${show(iss.input)}`,
      })
      .optional()
      .describe('@default "implicit"'),
    auth: AuthSchema.describe(
      'The mailbox login, by reference: a Secrets Manager secret {"username", "password"} holding an app password.',
    ),
    folder: z.string().min(1).max(200).optional().describe('Where the message arrives. @default "INBOX"'),
    junkFolder: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('The junk folder searched too. @default the folder the server marks \\Junk (RFC 6154)'),
  })
  .describe('Look for the message over IMAP (TLS, certificate verified).');

const SesReceiveConfigSchema = z
  .strictObject({
    region: z
      .string({ error: (iss) => `expected an AWS region like "eu-west-1", got ${show(iss.input)}` })
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, {
        error: (iss) => `expected an AWS region like "eu-west-1", got ${show(iss.input)}`,
      })
      .describe(
        "The region whose SES receives the flow's mail: the stack's region, one with SES email receiving (the `to` domain's MX points at inbound-smtp.<region>.amazonaws.com).",
      ),
    ruleSetName: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, {
        error: (iss) => `expected an SES receipt rule set name, got ${show(iss.input)}`,
      })
      .optional()
      .describe(
        'Add the receipt rule to this existing (active) rule set, e.g. the one tlsRpt.mail uses. @default a new rule set, to be activated once',
      ),
  })
  .describe(
    "SES email receiving: a receipt rule stores the message in S3 and the receiver function logs the arrival with SES's verdicts.",
  );

export const FlowSchema = z
  .strictObject({
    name: z
      .string({ error: (iss) => `expected a flow name, got ${show(iss.input)}` })
      // The name travels in every token (flow/token.ts MAX_FLOW_NAME).
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
        error: (iss) =>
          `expected a flow name of letters, digits and . _ - (up to 64, starting with a letter or digit), got ${show(iss.input)}`,
      }),
    via: NameSchema.describe(
      'The name of the SMTP target (or of an SES preset port, e.g. "ses-eu-west-1-587") the message is sent through: its host, port, TLS mode and policy, and credentials apply.',
    ),
    from: EmailSchema,
    to: EmailSchema,
    receive: z.union(
      [z.strictObject({ imap: ImapReceiveConfigSchema }), z.strictObject({ ses: SesReceiveConfigSchema })],
      { error: () => 'expected { imap: { host, auth, … } } or { ses: { region } }' },
    ),
    schedule: ScheduleSchema.optional().describe('@default "rate(15 minutes)"'),
    warnSeconds: intInRange(1, 86_400, 'seconds ').optional().describe('FLOW_DELAYED above this. @default 120'),
    maxSeconds: intInRange(1, 86_400, 'seconds ')
      .optional()
      .describe('FLOW_NOT_DELIVERED when the message is still missing after this. @default 600'),
    timeoutMs: TimeoutSchema.optional(),
    alerting: AlertPolicySchema.optional(),
  })
  .refine((f) => (f.warnSeconds ?? 120) < (f.maxSeconds ?? 600), {
    error: 'warnSeconds must be below maxSeconds (a message is late before it is lost)',
  })
  .describe(
    'End-to-end mail flow: a tokened message sent through a target and looked for in a mailbox. Deployed as the flow function (one schedule per flow) and run by `mailprobe run`.',
  );

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, {
        error: (iss) => `expected a CloudWatch namespace, got ${show(iss.input)}`,
      })
      .refine((ns) => !ns.startsWith('AWS/'), { error: 'the "AWS/" prefix is reserved for AWS services' })
      .optional()
      .describe('CloudWatch metric namespace. @default "MailProbe"'),
    allowPrivate: z
      .boolean()
      .optional()
      .describe('Allow private/loopback addresses that come from DNS (MX, policy host). @default false'),
    dnsServer: z
      .string({ error: (iss) => `expected ${DNS_SERVER_SYNTAX}, got ${show(iss.input)}` })
      .superRefine((text, ctx) => {
        try {
          parseDnsServer(text);
        } catch (err) {
          if (!(err instanceof DnsServerSyntaxError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
        }
      })
      .optional()
      .describe(
        'The resolver every probe asks, for every lookup (A/AAAA, MX, TXT, the policy host) and the DNSSEC queries of the DANE verdicts: an IP address with an optional port ("10.0.0.2", "127.0.0.1:5353", "[2001:db8::53]:53"). `--dns-server` overrides it for `mailprobe run`. @default the system’s resolver (in Lambda, the function’s: the VPC’s when it runs in one)',
      ),
    dnssec: z
      .strictObject({
        trustAnchors: z
          .string()
          .superRefine((text, ctx) => {
            try {
              parseTrustAnchors(text);
            } catch (err) {
              if (!(err instanceof TrustAnchorError)) throw err;
              ctx.addIssue({ code: 'custom', message: `invalid trust anchors: ${err.message}` });
            }
          })
          .optional()
          .describe(
            'DS or DNSKEY records (zone-file format, one per line) to validate DANE from, for any zone, instead of the IANA root keys. @default the IANA root KSKs',
          ),
      })
      .optional()
      .describe('DNSSEC validation for the DANE verdict of every domain (RFC 7672).'),
    defaults: z
      .strictObject({
        schedules: z
          .strictObject({
            smtp: ScheduleSchema.optional(),
            tls: ScheduleSchema.optional(),
            'mta-sts': ScheduleSchema.optional(),
            'ses-account': ScheduleSchema.optional(),
            'sender-auth': ScheduleSchema.optional(),
          })
          .optional()
          .describe(
            '@default smtp "rate(5 minutes)", mta-sts and sender-auth "rate(1 hour)", tls and ses-account "rate(6 hours)"',
          ),
        thresholds: ThresholdsSchema.optional(),
        timeoutMs: TimeoutSchema.optional().describe('Deadline of one check. @default 15000'),
        concurrency: intInRange(1, 64)
          .optional()
          .describe(
            'Checks run at once in one invocation, for every check kind. @default per kind: smtp 16, tls 8, mta-sts 8, ses-account 4',
          ),
        functionTimeoutSeconds: intInRange(30, 900, 'seconds ')
          .optional()
          .describe('Lambda timeout; shards are sized to fit inside it with margin. @default 300'),
        mx: MxModeSchema.optional(),
      })
      .optional(),
    metrics: z
      .enum(['default', 'detailed', 'aggregate'], {
        error: (iss) => `expected "default", "detailed" or "aggregate", got ${show(iss.input)}`,
      })
      .optional()
      .describe(
        'default: per target only what alarms read (Success, CertDaysToExpiry, DhKeyBits); detailed: also Duration and FindingCount; aggregate: counts per check kind only (fleets of thousands). @default "default"',
      ),
    alarms: z
      .strictObject({
        mode: z
          .enum(['auto', 'per-target', 'fleet'], {
            error: (iss) => `expected "auto", "per-target" or "fleet", got ${show(iss.input)}`,
          })
          .optional()
          .describe(
            'per-target: classic alarms per target (small fleets); fleet: Metrics Insights alarms per check kind and group of up to 400 targets; auto: per-target while they stay few. @default "auto"',
          ),
        insightsQuota: intInRange(1, 10_000)
          .optional()
          .describe('Metrics Insights alarms allowed in the account and region (AWS default 200). @default 200'),
      })
      .optional()
      .describe('Which CloudWatch alarms are created.'),
    targets: z.array(TargetSchema).optional().describe('SMTP targets and SES presets.'),
    domains: z.array(DomainEntrySchema).optional().describe('Domains whose MTA-STS and TLS-RPT are checked.'),
    alerting: AlertingSchema.optional(),
    vpc: VpcSchema.optional(),
    tlsRpt: TlsRptSchema.optional(),
    flows: z
      .array(FlowSchema)
      .optional()
      .describe('Mail flows: deployed (the flow function) and run by `mailprobe run`.'),
  })
  .describe('mailprobe configuration: what to probe, how often, and who gets told.');

export type MailProbeConfig = z.infer<typeof ConfigSchema>;
export type SmtpTargetConfig = z.infer<typeof SmtpTargetSchema>;
export type SesPresetConfig = z.infer<typeof SesPresetSchema>;
export type DomainEntryConfig = z.infer<typeof DomainEntrySchema>;
export type FlowConfig = z.infer<typeof FlowSchema>;
export type ThresholdsConfig = z.infer<typeof ThresholdsSchema>;
