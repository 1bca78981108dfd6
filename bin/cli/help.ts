import { NON_PROBE_COMMANDS, type Command } from './args.js';

const COMMON = `Common options:
  --json                 print {"version": 1, "results": [...]} instead of the table
  --timeout MS           overall deadline of each check (default 15000)
  --dns-server IP[:PORT] send every DNS lookup of the run to this server
  --ca-file PEM          extra trusted root CA(s), on top of Node’s bundled roots (repeatable)
  --allow-private        allow private/loopback addresses that come from DNS (MX, policy host)
  --warn-days N          CERT_EXPIRING warning at or below N days (default 30)
  --critical-days N      CERT_EXPIRING critical at or below N days (default 7)
  --min-dh-bits N        DH_WEAK below N bits (default 2048)
  --concurrency N        checks in flight at once (default 16)
  --state FILE           keep state in FILE (JSON): show what changed since the last run and
                         the notifications the probe function would send
  -o, --output FILE      also write the --json document to FILE (the terminal keeps the table)
  -q, --quiet            print only what needs attention: no header, no ok rows, no summary
  -4, -6                 connect over IPv4 only / IPv6 only
  --severity LEVEL       show only findings at or above LEVEL: warning or critical
                         (the exit status and --json/--output still cover everything)
Exit status: 0 nothing critical, 1 something critical, 2 usage or configuration error.
`;

export const HELP = `mailprobe: probes for mail transport security (SMTP, TLS, MTA-STS, DANE, Amazon SES) and sender authentication (SPF, DKIM, DMARC)

Usage:
  mailprobe smtp HOST[:PORT] [--tls auto|starttls|implicit|none] [--user U --password-env VAR | --auth-secret ARN]
                             [--ehlo NAME] [--mail-from A --rcpt-to B] [--tls-policy POLICY]
  mailprobe tls HOST[:PORT] [--tls auto|starttls|implicit] [--tls-policy POLICY]
  mailprobe mta-sts DOMAIN... [--domains-file FILE] [--mx HOST...] [--trust-anchor FILE]
  mailprobe dane DOMAIN... [--domains-file FILE] [--trust-anchor FILE]
  mailprobe sender-auth DOMAIN... [--dkim-selector S]... [--domains-file FILE]
  mailprobe ses REGION [--ports 25,587,2587,465,2465] [--fips] [--posture]
  mailprobe run [--config FILE] [--only NAME...] [--state FILE]
  mailprobe ses-smtp-password --region REGION [--key-env VAR]   (key on standard input otherwise)
  mailprobe plan [--config FILE]        shards, invocations per hour, alarms, resources
  mailprobe cost [--config FILE] [--json] [--dashboard-hours H]   the monthly AWS cost, itemised
  mailprobe tlsrpt FILE...   (TLS-RPT reports: .json, .json.gz, .eml)
  mailprobe flow --via HOST[:PORT] [--user U --password-env VAR] --from A --to B
                 (--imap HOST[:PORT] --imap-user U --imap-password-env VAR
                  | --wait-ses REGION --table NAME --key-secret ARN) [--max-wait S] [--json]

${COMMON}
Run "mailprobe COMMAND --help" for a command's details.
`;

const DETAILS: Record<Command, string> = {
  smtp: `mailprobe smtp HOST[:PORT]   (port 25 unless given)
  A full SMTP session: DNS, connect, greeting, EHLO (HELO fallback), STARTTLS or TLS from
  the first byte, certificate verification, optional AUTH and test message, QUIT.
  --tls MODE           auto (default: implicit TLS on 465/2465, STARTTLS elsewhere), starttls, implicit, none
  --user U --password-env VAR   AUTH with the password read from environment variable VAR
  --auth-secret ARN    AUTH with {"username","password"} from a Secrets Manager secret
  --ehlo NAME          the name sent with EHLO (default mailprobe.invalid)
  --mail-from A --rcpt-to B     send a small labelled test message after AUTH
  --name NAME          a name for the target in the output
  --tls-policy POLICY  how the sender using this relay acts on TLS problems, and so how they
                       are graded: preferred, required, preferred-verify, required-verify (default)
  --sni NAME           TLS server name to send and check the certificate against (default HOST)
  --debug              print the SMTP dialogue with timings on stderr (credentials masked)
  Credentials are only sent over TLS whose certificate verified (else AUTH_WITHHELD).
`,
  tls: `mailprobe tls HOST[:PORT]   (port 25 unless given)
  TLS posture: certificate chain and expiry, key and signature, the DH size a DHE-only
  handshake gets, which of TLS 1.0-1.3 are accepted, negotiated cipher and group.
  --tls MODE           auto (default), starttls, implicit
  --ehlo NAME          the name sent with EHLO before STARTTLS
  --tls-policy POLICY  preferred, required, preferred-verify, required-verify (default)
  --sni NAME           TLS server name to send and check the certificate against (default HOST)
`,
  'mta-sts': `mailprobe mta-sts DOMAIN...
  RFC 8461 MTA-STS and RFC 8460 TLS-RPT: the _mta-sts TXT record, the HTTPS policy, MX
  coverage, STARTTLS and certificates of every MX on port 25, the _smtp._tls record.
  --domains-file FILE  also the domains in FILE, one per line (# comments; repeatable)
  --mx HOST            check HOST in place of the domain's MX records: matched against the
                       policy's mx patterns and probed on port 25 as an MX would be (e.g. a
                       new MX before you publish it). Repeatable or comma-separated; with
                       several DOMAINs, every domain's policy is checked against the same
                       hosts. The MX lookup is skipped, so "accepts mail" is not reported.
  --policy-port N      fetch the policy from port N instead of 443 (testing against local servers)
  --mx-port N          probe the MX hosts on port N instead of 25 (testing against local servers)
  --trust-anchor FILE  DNSSEC trust anchors for the DANE verdict, as for dane
`,
  'sender-auth': `mailprobe sender-auth DOMAIN... [--dkim-selector S]...
  Will receivers believe mail from the domain? SPF (RFC 7208): one record, its syntax, the
  DNS-querying terms over the whole include tree (at most 10) and void lookups (at most 2),
  +all/?all/ptr; DMARC (RFC 7489) at _dmarc or the organisational domain, p/sp/pct and
  report destinations that must authorise the domain; each selector's DKIM key (present,
  not revoked, RSA size, t=y); MX or null MX. With --state, what changed since the last run.
  --dkim-selector S    check the key at S._domainkey.DOMAIN (repeatable)
  --domains-file FILE  also the domains in FILE, one per line (# comments; repeatable)
`,
  dane: `mailprobe dane DOMAIN...
  RFC 7672 DANE for SMTP: the MX and TLSA records with DNSSEC validated by the probe from
  trust anchors, STARTTLS with SNI to every address of every MX host, the presented chain
  matched against DANE-TA(2) and DANE-EE(3) records. --dns-server is the resolver asked.
  --domains-file FILE  also the domains in FILE, one per line (# comments; repeatable)
  --trust-anchor FILE  DS or DNSKEY records (zone-file format) to validate from, for any
                       zone, instead of the IANA root keys (repeatable)
  --mx-port N          probe the MX hosts on port N instead of 25 (testing against local servers)
`,
  ses: `mailprobe ses REGION
  Probes the Amazon SES SMTP endpoints email-smtp.REGION.amazonaws.com: STARTTLS on
  25/587/2587, TLS from the first byte on 465/2465.
  --ports LIST         e.g. 587,2587,465 (default: all five)
  --fips               the FIPS endpoints, where SES has them
  --posture            also run the tls check on each endpoint (DH size, protocol versions)
`,
  run: `mailprobe run [--config FILE] [--only NAME...]
  Runs exactly the checks the deployed probes run, from the config file
  (default mailprobe.config.yaml), with the same thresholds.
  --only NAME          only the targets with this name (repeatable)
  --explain-alerts     also print the SNS alert each failing target would send
  --policy-port N, --mx-port N   as for mta-sts (testing against local servers)
`,
  'ses-smtp-password': `mailprobe ses-smtp-password --region REGION [--key-env VAR]
  Prints the SES SMTP password derived from an IAM secret access key (AWS's documented
  algorithm), to compare with the password you stored. The key is read from standard
  input, or from environment variable VAR; never pass it as an argument.
  Exit status: 0 printed, 2 usage error.
`,
  plan: `mailprobe plan [--config FILE]
  Prints what a deployment of the config holds: per check kind the shards, checks,
  invocations per hour, concurrency, memory and the expected duration of one run; the
  alarm and metric modes; the alarms, dashboard widgets and resources per stack.
  Exit status: 0 printed, 2 usage or configuration error (one line saying what to change).
`,
  cost: `mailprobe cost [--config FILE] [--json] [--dashboard-hours H] [--dashboard-refresh M]
  The monthly AWS cost of a deployment of the config (us-east-1 list prices), itemised:
  custom metrics, alarms, Lambda, Scheduler, logs, DynamoDB, KMS, dashboard, with the
  assumptions; then what viewing the dashboard costs: GetMetricData for the metrics each
  widget's query analyzes, and the Logs Insights widget's scans, for a viewing pattern.
  --dashboard-hours H    hours a day the dashboard is open (0-24, default 8)
  --dashboard-refresh M  minutes between its refreshes while open (1-1440, default 5)
  --json prints {version, totalUsd, fixedUsd, targets: [{name, usd}], ..., dashboardViewing}.
  Exit status: 0 printed, 2 usage or configuration error.
`,
  tlsrpt: `mailprobe tlsrpt FILE...
  Reads RFC 8460 TLS-RPT aggregate reports (.json, .json.gz, or a whole .eml message as
  sent to a mailto: rua) and prints the sessions per report and policy, with the failure
  details. --json prints {"version": 1, "reports": [...], "errors": [...]}.
  Exit status: 0 every file parsed and no session failed, 1 a session failed or a file
  is not a report, 2 usage error.
`,
  flow: `mailprobe flow --via HOST[:PORT] --from A --to B --imap HOST[:PORT] --imap-user U --imap-password-env VAR
  End to end: sends one message carrying a signed token through the relay (the smtp
  check's session: STARTTLS or TLS, AUTH only over verified TLS), waits for it in the
  mailbox over IMAP (TLS, certificate verified; INBOX and the \\Junk folder), and prints
  the latency, each Received hop with its TLS, and SPF/DKIM/DMARC as mailprobe verifies
  them (plus the receiver's own Authentication-Results). Token messages are deleted once read.
  --via HOST[:PORT]    the relay to send through (port 587 unless given)
  --tls MODE, --tls-policy POLICY, --ehlo NAME   as for smtp
  --user U --password-env VAR | --auth-secret ARN   AUTH at the relay, as for smtp
  --from A --to B      envelope and header sender, and the mailbox's address
  --imap HOST[:PORT]   the mailbox (port 993 unless given)
  --imap-user U --imap-password-env VAR | --imap-secret ARN   its login (an app password)
  --imap-tls MODE      implicit (default) or starttls; never clear text
  --imap-folder F      where mail arrives (default INBOX); --imap-junk F the junk folder
                       (default: the one marked \\Junk)
  --max-wait S         wait up to S seconds; not arrived by then is FLOW_NOT_DELIVERED (default 600;
                       with --state it stays pending up to 600 s, for the next run to settle)
  --warn-seconds N     FLOW_DELAYED above N seconds (default 120)
  --name NAME          the flow's name, in the token (default cli)
  --state FILE         keep sends across runs (one that arrives late settles next run);
                       needs --key-env VAR: a key of 32+ bytes, hex or base64
  --wait-ses REGION --table NAME --key-secret ARN
                       instead of --imap: --to is an address the deployment's SES receiving
                       handles in REGION; its receiver logs the arrival (with SES's spam, virus,
                       SPF, DKIM and DMARC verdicts) in the state table NAME, where this waits for
                       it; the token is made with the deployment's key (secret ARN). The flow
                       name defaults to cli-<random>, apart from the deployed flows'
`,
};

const GENERAL = `Options:
  --json                 machine-readable output (a usage error prints {"version": 1, "error": …})
  -h, --help             this text
`;

export function commandHelp(command: Command): string {
  return `${DETAILS[command]}\n${NON_PROBE_COMMANDS.has(command) ? GENERAL : COMMON}`;
}
