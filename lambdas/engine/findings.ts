/**
 * The findings catalogue: every code mailprobe can report, its default severity and
 * the hint an on-call engineer reads at 3 a.m.
 *
 * Codes are a public contract (alarms, dashboards, runbooks and tests key on them):
 * add new ones, never rename or remove one. See schema/mailprobe.result.schema.json.
 */

import type { TlsPolicy } from './checks.js';

export type Severity = 'info' | 'warning' | 'critical';
export type Status = 'ok' | 'warning' | 'critical';

interface CodeSpec {
  /** Severity when the check has no reason to choose another. */
  readonly severity: Severity;
  /** What to do about it. */
  readonly hint: string;
}

const PORT25_HINT =
  'If this runs in AWS: AWS blocks outbound port 25 from Lambda and EC2 by default. Run the probe in a VPC with a NAT gateway and ask AWS to lift the port-25 restriction, or probe a submission port (587/2587) instead.';

export const FINDINGS = {
  // --- network and DNS -------------------------------------------------------
  DNS_NXDOMAIN: {
    severity: 'critical',
    hint: 'The name does not exist in DNS. Check the host name for typos and that the DNS record (A/AAAA or MX) is published.',
  },
  DNS_ERROR: {
    severity: 'critical',
    hint: 'DNS lookup failed temporarily (SERVFAIL, refused or timeout). Check the resolver and the zone’s authoritative servers (DNSSEC failures also show as SERVFAIL); it may clear by itself.',
  },
  ADDRESS_BLOCKED: {
    severity: 'critical',
    hint: 'A name taken from DNS resolved to a loopback, private or link-local address, which the probe refuses to connect to (SSRF guard). Fix the DNS record, or allow private addresses (--allow-private / allowPrivate) if the target is internal on purpose.',
  },
  CONNECT_REFUSED: {
    severity: 'critical',
    hint: 'Nothing is listening on that port (connection refused). Check that the mail service is running and that the port is right.',
  },
  CONNECT_RESET: {
    severity: 'critical',
    hint: 'The connection was reset. A firewall, load balancer or the server itself dropped it; check its logs and connection limits.',
  },
  CONNECT_TIMEOUT: {
    severity: 'critical',
    hint: 'No answer to the TCP connection attempt. A firewall or security group drops the traffic, or the host is down.',
  },
  GREETING_TIMEOUT: {
    severity: 'critical',
    hint: 'The server accepted the TCP connection but sent no 220 greeting in time. It may be overloaded, tarpitting the probe, or waiting for TLS (try implicit TLS on 465/2465).',
  },
  GREETING_REJECTED: {
    severity: 'critical',
    hint: 'The server refused the session in its greeting (554/421). It may be blocking the probe’s address or be out of service; check its logs and access lists.',
  },
  PROTOCOL_VIOLATION: {
    severity: 'critical',
    hint: 'The server sent something that is not valid SMTP (garbage, an over-long line or a malformed reply). Check that the port really serves SMTP and is not a different service or a broken proxy.',
  },
  EHLO_REJECTED: {
    severity: 'critical',
    hint: 'The server rejected both EHLO and HELO. Check its HELO/EHLO restrictions for the probe’s name and address.',
  },
  STARTTLS_NOT_OFFERED: {
    severity: 'critical',
    hint: 'The server does not advertise STARTTLS, so mail would travel in clear text. Enable TLS on the server, or check that no middlebox strips STARTTLS from the EHLO reply.',
  },
  STARTTLS_REJECTED: {
    severity: 'critical',
    hint: 'The server advertised STARTTLS but refused it (often 454: TLS not available). Check the server’s TLS certificate and key configuration.',
  },
  STARTTLS_EXTRA_DATA: {
    severity: 'critical',
    hint: 'The server sent data after its 220 reply to STARTTLS and before the TLS handshake (RFC 3207 §6: a command-injection risk, or a broken proxy). The data was discarded; fix the server or the middlebox in front of it.',
  },
  TLS_HANDSHAKE_FAILED: {
    severity: 'critical',
    hint: 'The TLS handshake failed. Compare the protocol versions and ciphers the server allows with what clients need (run `mailprobe tls` for details).',
  },
  TLS_WRONG_MODE: {
    severity: 'critical',
    hint: 'The port speaks a different TLS mode than configured: implicit TLS (465/2465) versus STARTTLS (25/587/2587). Fix the target’s tls mode.',
  },
  TLS_SESSION_ERROR: {
    severity: 'critical',
    hint: 'The TLS handshake completed, then the server’s TLS stack ended the session with an alert or a broken record. Look for the alert named in the message in the server’s TLS log (e.g. a client-certificate or renegotiation policy applied after the handshake).',
  },
  AUTH_FAILED: {
    severity: 'critical',
    hint: 'The server rejected the credentials (535). Check the stored user name and password; rotate or regenerate them and update the secret.',
  },
  AUTH_TEMPFAIL: {
    severity: 'critical',
    hint: 'Authentication failed temporarily (454). The server’s authentication backend is unavailable; check it, it may clear by itself.',
  },
  AUTH_UNAVAILABLE: {
    severity: 'critical',
    hint: 'The server does not offer a supported AUTH mechanism (PLAIN or LOGIN) after TLS. Enable SASL authentication on the submission port.',
  },
  AUTH_WITHHELD: {
    severity: 'critical',
    hint: 'Credentials were not sent because the TLS connection was not verified. Fix the certificate problem reported with this finding first.',
  },
  SENDER_REJECTED: {
    severity: 'critical',
    hint: 'The server refused the sender address (MAIL FROM). Check that the sender is allowed for these credentials.',
  },
  RECIPIENT_REJECTED: {
    severity: 'critical',
    hint: 'The server refused the recipient (RCPT TO). Check relaying permissions and the recipient address.',
  },
  MESSAGE_REJECTED: {
    severity: 'critical',
    hint: 'The server refused the message after DATA. Read the reply text for the policy that refused it.',
  },
  CREDENTIALS_UNAVAILABLE: {
    severity: 'critical',
    hint: 'The probe could not read the SMTP credentials (Secrets Manager secret missing, access denied, not JSON with "username" and "password", or the environment variable is unset). Fix the secret or the probe role’s secretsmanager:GetSecretValue permission.',
  },
  PROBE_INTERNAL_ERROR: {
    severity: 'critical',
    hint: 'mailprobe itself failed while running this check. The log line of this result has the details; please report it as a bug.',
  },
  DEADLINE_EXCEEDED: {
    severity: 'critical',
    hint: 'The check did not finish within its deadline. The server is very slow or stalls mid-session; check its load and any tarpitting.',
  },

  // --- certificates and TLS --------------------------------------------------
  CERT_UNTRUSTED: {
    severity: 'critical',
    hint: 'The certificate does not chain to a trusted root. Use a certificate from a public CA, or import the issuing root CA into the trust store (--ca-file).',
  },
  CERT_SELF_SIGNED: {
    severity: 'critical',
    hint: 'The server presents a self-signed certificate. Replace it with one issued by a trusted CA, or import it into the trust store (--ca-file) if that is intended.',
  },
  CERT_CHAIN_INCOMPLETE: {
    severity: 'critical',
    hint: 'The server does not send the intermediate certificate(s). Configure the full chain (leaf + intermediates) on the server.',
  },
  CERT_EXPIRED: {
    severity: 'critical',
    hint: 'A certificate in the chain has expired. Renew it and reload the server; check why automatic renewal did not run.',
  },
  CERT_NOT_YET_VALID: {
    severity: 'critical',
    hint: 'A certificate is not valid yet (notBefore is in the future). Check the server’s and the probe’s clocks, or install the previous certificate until this one is valid.',
  },
  CERT_NAME_MISMATCH: {
    severity: 'critical',
    hint: 'The certificate is not valid for the host name that was connected to. Issue a certificate whose subject alternative names include this host name.',
  },
  CERT_EXPIRING: {
    severity: 'warning',
    hint: 'A certificate in the chain expires soon. Renew it now and check that automatic renewal works.',
  },
  CERT_WEAK_KEY: {
    severity: 'warning',
    hint: 'The certificate key is too weak (RSA or DSA below 2048 bits, an EC curve below 256 bits). Issue a new certificate with RSA 2048+ or ECDSA P-256.',
  },
  CERT_WEAK_SIGNATURE: {
    severity: 'warning',
    hint: 'The certificate is signed with SHA-1 or MD5, which clients reject. Reissue it with a SHA-256 signature.',
  },
  DH_WEAK: {
    severity: 'warning',
    hint: 'The server offers DHE with a small prime; strict clients abort with "dh key too small" (logjam). Configure 2048-bit DH parameters or disable DHE suites in favour of ECDHE. For Amazon SES, make the client prefer ECDHE suites.',
  },
  TLS_LEGACY_PROTOCOL: {
    severity: 'warning',
    hint: 'The server accepts TLS 1.0 or 1.1, which are deprecated (RFC 8996). Disable them and allow only TLS 1.2 and 1.3.',
  },
  TLS_NO_MODERN_PROTOCOL: {
    severity: 'critical',
    hint: 'The server accepts neither TLS 1.2 nor TLS 1.3, so modern clients cannot connect securely. Upgrade its TLS library or configuration.',
  },
  TLS_POSTURE_INCOMPLETE: {
    severity: 'warning',
    hint: 'Some of the tls check’s measuring handshakes (DHE-only, one per protocol version) got no answer: they timed out, were reset or were refused a session (e.g. 421 too many connections), even one at a time. The facts they would give are missing, not bad; check connection limits and firewalls for the probe’s address.',
  },
  CERT_NAME_CN_ONLY: {
    severity: 'warning',
    hint: 'The certificate names the host only in its subject CN, with no DNS name in its subject alternative names. OpenSSL-based MTAs still accept it, but RFC 9525 dropped CN matching, and Go’s and rustls’s TLS stacks (and MTA-STS) refuse it. Reissue it with the host name in the SANs.',
  },
  CERT_CHAIN_DUPLICATE: {
    severity: 'warning',
    hint: 'The server sends the same certificate more than once (often an intermediate pasted twice after a renewal). Clients cope, but strict stacks and size-limited ones may not; configure the chain as leaf then each intermediate once.',
  },
  CERT_CHAIN_ORDER: {
    severity: 'warning',
    hint: 'The server sends its certificates out of order (RFC 8446 §4.4.2 and RFC 5246 §7.4.2 expect the leaf first, then each issuer). Older clients fail to build the path; order the chain file leaf first, then intermediates up to the root.',
  },
  CERT_CHAIN_EXTRA: {
    severity: 'info',
    hint: 'The server sends certificates that clients do not need: the root itself, or certificates on no path from the leaf (a leftover from an old chain). Harmless while the chain verifies, but it grows every handshake; remove them from the chain file.',
  },

  // --- MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) -----------------------------
  MTASTS_TXT_MISSING: {
    severity: 'critical',
    hint: 'No _mta-sts TXT record starting with v=STSv1 was found. Publish `_mta-sts.DOMAIN TXT "v=STSv1; id=YYYYMMDDNN"`.',
  },
  MTASTS_TXT_INVALID: {
    severity: 'critical',
    hint: 'The _mta-sts TXT record does not follow RFC 8461 §3.1. It must read `v=STSv1; id=ID` with an id of 1–32 letters and digits.',
  },
  MTASTS_TXT_MULTIPLE: {
    severity: 'critical',
    hint: 'More than one v=STSv1 TXT record exists; senders then treat the domain as having no policy. Keep exactly one.',
  },
  MTASTS_DNS_ERROR: {
    severity: 'critical',
    hint: 'The DNS lookup for MTA-STS failed temporarily (SERVFAIL or timeout); senders cannot discover the policy. Check the zone’s name servers and DNSSEC.',
  },
  MTASTS_POLICY_UNREACHABLE: {
    severity: 'critical',
    hint: 'The policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt could not be fetched. Check the mta-sts host’s DNS, that it serves HTTPS on port 443, and its firewall.',
  },
  MTASTS_POLICY_CERT_INVALID: {
    severity: 'critical',
    hint: 'The policy host’s certificate is not valid for mta-sts.DOMAIN (untrusted, expired or wrong name). Senders will ignore the policy. Renew or reissue it with mta-sts.DOMAIN in its subject alternative names.',
  },
  MTASTS_POLICY_TLS_LEGACY: {
    severity: 'critical',
    hint: 'The policy host speaks only TLS 1.0/1.1. Senders’ HTTPS clients require TLS 1.2 or later (RFC 8996), so to them the domain has no policy. Enable TLS 1.2 and 1.3 on the web server of mta-sts.DOMAIN (e.g. nginx `ssl_protocols TLSv1.2 TLSv1.3;`).',
  },
  MTASTS_POLICY_REDIRECT: {
    severity: 'critical',
    hint: 'The policy URL answers with a redirect; RFC 8461 §3.3 forbids following it. Serve the file directly at /.well-known/mta-sts.txt with status 200.',
  },
  MTASTS_POLICY_HTTP_STATUS: {
    severity: 'critical',
    hint: 'The policy URL does not answer 200. Check the web server’s configuration for /.well-known/mta-sts.txt.',
  },
  MTASTS_POLICY_CONTENT_TYPE: {
    severity: 'critical',
    hint: 'The policy is not served as text/plain (RFC 8461 §3.2). Set Content-Type: text/plain for /.well-known/mta-sts.txt.',
  },
  MTASTS_POLICY_TOO_LARGE: {
    severity: 'critical',
    hint: 'The policy body exceeds 64 KiB; senders stop reading. Serve only the policy file.',
  },
  MTASTS_POLICY_INVALID: {
    severity: 'critical',
    hint: 'The policy file does not follow RFC 8461 §3.2. Fix the line named in the message (version: STSv1, mode, max_age, mx).',
  },
  MTASTS_MODE_TESTING: {
    severity: 'info',
    hint: 'The policy is in testing mode: senders report failures (TLS-RPT) but still deliver. Switch to enforce once reports are clean.',
  },
  MTASTS_MODE_NONE: {
    severity: 'warning',
    hint: 'The policy mode is none: the domain has withdrawn MTA-STS protection. Intended only while retiring the policy.',
  },
  MTASTS_MAX_AGE_SHORT: {
    severity: 'warning',
    hint: 'max_age is under one day, so senders cache the policy only briefly and a DNS or HTTPS attack can strip it. Use at least 604800 (one week); RFC 8461 recommends weeks.',
  },
  MTASTS_MX_NOT_COVERED: {
    severity: 'critical',
    hint: 'An MX host matches no mx: pattern in the policy; compliant senders in enforce mode will not deliver to it. Add the host to the policy (and bump the TXT id) or fix the MX record.',
  },
  MTASTS_MX_NO_STARTTLS: {
    severity: 'critical',
    hint: 'An MX host does not offer STARTTLS with TLS 1.2 or later; compliant senders in enforce mode will not deliver to it. Enable TLS on that MX.',
  },
  MTASTS_MX_CERT_INVALID: {
    severity: 'critical',
    hint: 'An MX host’s certificate is not valid for its name (untrusted, expired or wrong name); compliant senders in enforce mode will not deliver to it. Fix the certificate.',
  },
  MTASTS_MX_UNREACHABLE: {
    severity: 'critical',
    hint: `An MX host could not be reached on port 25. ${PORT25_HINT}`,
  },
  MTASTS_MX_NOT_PROBED: {
    severity: 'info',
    hint: 'The MX hosts were not probed on port 25 (the MX records and the policy’s mx patterns were still checked). AWS blocks outbound port 25 from Lambda by default. To probe them, deploy the probes in a VPC with a NAT gateway and have AWS lift the account’s port-25 restriction (config `mx: always` with a `vpc`), or run `mailprobe mta-sts DOMAIN` from a host that can reach port 25.',
  },
  MX_CERT_DOMAIN_MISMATCH: {
    severity: 'info',
    hint: 'The MX certificate is valid for the MX host name but not for the mail domain, as usual for hosted mail (Google Workspace, Microsoft 365). Senders that verify against the MX name (MTA-STS, DANE, Cisco ESA “TLS Required – Verify” with hosted-domain verification) pass; a sender that verifies the certificate against the recipient domain (ESA “TLS Required – Verify” without it) fails. Nothing to fix for MTA-STS. If a partner verifies against the domain, ask them to verify hosted domains against the MX name, or (for an MX you run) add the domain to the certificate’s names.',
  },
  TLSRPT_MISSING: {
    severity: 'warning',
    hint: 'No TLS-RPT record: you will not hear from senders when TLS delivery fails. Publish `_smtp._tls.DOMAIN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@DOMAIN"`.',
  },
  TLSRPT_INVALID: {
    severity: 'warning',
    hint: 'The TLS-RPT record does not follow RFC 8460 §3: `v=TLSRPTv1; rua=mailto:…` with comma-separated mailto: or https: URIs.',
  },
  TLSRPT_MULTIPLE: {
    severity: 'warning',
    hint: 'More than one v=TLSRPTv1 record exists; senders then send no reports. Keep exactly one.',
  },

  // --- Amazon SES account ----------------------------------------------------
  SES_SENDING_DISABLED: {
    severity: 'critical',
    hint: 'Sending is disabled for this SES account in this region (often after a reputation review). Check the SES console and the AWS Health dashboard.',
  },
  SES_QUOTA_HIGH: {
    severity: 'warning',
    hint: 'Most of the 24-hour SES sending quota is used. Request a quota increase in the SES console or spread the sending.',
  },
  SES_IDENTITY_UNVERIFIED: {
    severity: 'critical',
    hint: 'The identity is not verified in this region; SES rejects mail from it with 554. Verify the domain or address in the SES console of this region.',
  },
  SES_DKIM_NOT_VERIFIED: {
    severity: 'warning',
    hint: 'DKIM is not verified for the identity. Publish the CNAME records SES shows for Easy DKIM.',
  },
  SES_API_ERROR: {
    severity: 'critical',
    hint: 'The SES API refused, throttled or failed the probe’s call. Grant the probe role ses:GetAccountSendingEnabled, ses:GetSendQuota, ses:GetIdentityVerificationAttributes and ses:GetIdentityDkimAttributes; SES allows about one non-sending API call per second per account.',
  },
  SES_SANDBOX: {
    severity: 'info',
    hint: 'The account looks like it is in the SES sandbox (200 messages a day): it can send only to verified addresses. Request production access in the SES console.',
  },

  // --- changes (need state) ----------------------------------------------------
  // Reported in a result's `changes` (not its findings) on the one run that sees them;
  // they need the previous run's facts (DynamoDB, or the CLI's --state file).
  MTASTS_POLICY_CHANGED_SAME_ID: {
    severity: 'warning',
    hint: 'The MTA-STS policy changed but the _mta-sts TXT id did not: senders that cached the old policy keep applying it until its max_age runs out (RFC 8461 §3.1, §5.1). Publish a new id (e.g. a timestamp) in the _mta-sts TXT record whenever the policy changes.',
  },
  MTASTS_POLICY_CHANGED: {
    severity: 'info',
    hint: 'The MTA-STS policy and its id changed together, as RFC 8461 requires. Check that the new mode, mx lines and max_age are intended.',
  },
  MTASTS_MODE_DOWNGRADED: {
    severity: 'warning',
    hint: 'The MTA-STS mode went from enforce to testing or none: senders no longer refuse delivery over unauthenticated TLS. If this was not a planned rollback, restore mode: enforce and bump the id.',
  },
  MX_SET_CHANGED: {
    severity: 'info',
    hint: 'The domain’s MX hosts changed. Check that the change was intended and that every new MX is covered by the MTA-STS policy and has a valid certificate (an uncovered MX is reported as critical).',
  },
  CERT_ROTATED: {
    // Critical when the host has DANE and no usable TLSA record matches the new certificate.
    severity: 'info',
    hint: 'The server presents a different leaf certificate than on the last run. Expected after a renewal; if no renewal was planned, check who changed the certificate (the message lists old and new subject, issuer, expiry and SHA-256). On a DANE host the message also says whether the TLSA records follow the new key; "TLSA not updated" (critical) means DANE senders defer mail until the record the message gives is published. Next time publish the next key’s record before the rotation.',
  },
  CERT_ISSUER_CHANGED: {
    severity: 'info',
    hint: 'The new certificate comes from a different CA. Check that clients with a pinned or private trust store (and DANE TLSA records of usage 2) trust the new issuer.',
  },
  TLSRPT_CHANGED: {
    severity: 'info',
    hint: 'The _smtp._tls TLS-RPT record changed. Check that the rua addresses still point at a mailbox or endpoint that receives the reports.',
  },
  SES_QUOTA_LOWERED: {
    severity: 'warning',
    hint: 'AWS lowered the account’s SES sending quota (daily maximum or rate), which often follows a high bounce or complaint rate. Check the reputation dashboard in the SES console and open a case if the cause is unclear.',
  },
  // --- DANE (RFC 7672) --------------------------------------------------------
  DANE_NOT_DEPLOYED: {
    severity: 'info',
    hint: 'The MX hosts publish no TLSA records (securely denied), or their zone is not DNSSEC-signed, so senders cannot authenticate them with DANE. To deploy DANE: sign the zone, then publish `_25._tcp.<mx host> IN TLSA 3 1 1 <sha256 of the server key>` for every MX host (see DANE_NO_ROLLOVER for a pair that survives key rotation).',
  },
  DANE_DNSSEC_BOGUS: {
    severity: 'critical',
    hint: 'DNSSEC validation failed for the MX, address or TLSA records (expired or broken signatures, or a DS at the parent that matches no DNSKEY). DANE senders defer all mail to this domain until it is fixed: re-sign the zone (check that automatic re-signing runs), and compare the DS at the registrar with the zone’s DNSKEYs (`delv`, `dig +dnssec`, or dnsviz.net).',
  },
  DANE_DNS_ERROR: {
    severity: 'critical',
    hint: 'The MX, TLSA or DNSSEC records could not be looked up (timeout, SERVFAIL), so the DANE state is unknown; DANE senders defer mail while this lasts. Check the authoritative servers of the zone and the probe’s resolver (--dns-server); it may clear by itself.',
  },
  DANE_TLSA_MISMATCH: {
    severity: 'critical',
    hint: 'No usable TLSA record matches the certificate the MX presents: DANE senders refuse to deliver. Usually the certificate was renewed with a new key and the TLSA record was not updated. Publish the record for the current key (the message gives it), computed with `openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256` for `3 1 1`, and keep the old record until the TTL has passed.',
  },
  DANE_TLSA_UNUSABLE: {
    severity: 'warning',
    hint: 'The TLSA records use only usages, selectors or matching types that SMTP cannot use (PKIX-TA 0 / PKIX-EE 1 are unusable for SMTP, RFC 7672 §3.1.3): senders fall back to unauthenticated TLS. Publish `3 1 1` (DANE-EE, key digest) or `2 1 1` (DANE-TA, issuing CA key digest) records instead.',
  },
  DANE_STARTTLS_MISSING: {
    severity: 'critical',
    hint: 'The MX publishes TLSA records but does not offer STARTTLS (or a middlebox strips it): DANE senders will not deliver without TLS. Enable STARTTLS on the server, or remove the TLSA records.',
  },
  DANE_NO_ROLLOVER: {
    severity: 'warning',
    hint: 'Only one usable TLSA record is published, so the next certificate key rotation breaks delivery until DNS catches up. Publish two records: the current key and the next key (`3 1 1 <current>` + `3 1 1 <next>`, pre-generate the next key), or the leaf key plus the issuing CA (`3 1 1` + `2 1 1`), as RFC 7671 §8.1 describes.',
  },
  // --- mail flow (a message sent through a relay, looked for at the recipient) ---
  FLOW_NOT_DELIVERED: {
    severity: 'critical',
    hint: 'The flow’s test message did not arrive within maxSeconds although the relay accepted it. Look the message up by the relay’s queue id (in the send reply) in the relay’s and the next hops’ logs: it may be queued (deferred), bounced to the sender, or discarded by a filter.',
  },
  FLOW_DELAYED: {
    severity: 'warning',
    hint: 'The test message arrived, but later than warnSeconds. Check the relay’s queue (deferred mail, rate limits), greylisting at the recipient, and the hop in the Received chain that took longest.',
  },
  FLOW_SEND_FAILED: {
    severity: 'critical',
    hint: 'The flow could not hand its test message to the relay; the SMTP stage and reply say where. Fix that first (run `mailprobe smtp` against the same relay for the details).',
  },
  FLOW_HOP_CLEAR_TEXT: {
    severity: 'critical',
    hint: 'A hop in the message’s Received chain carried it without TLS. Enable STARTTLS (and ideally MTA-STS or DANE) on the server named in the hop, or find the relay that stopped offering it.',
  },
  FLOW_HOP_TLS_LEGACY: {
    severity: 'warning',
    hint: 'A hop in the message’s Received chain used a TLS version below 1.2 (RFC 8996). Enable TLS 1.2 or 1.3 on both servers of that hop.',
  },
  FLOW_SPF_FAIL: {
    severity: 'critical',
    hint: 'SPF did not pass for the envelope sender at the receiving hop: the sending relay’s address is not in the domain’s SPF record. Add the relay (e.g. `include:amazonses.com`) to the SPF record of the MAIL FROM domain.',
  },
  FLOW_DKIM_FAIL: {
    severity: 'critical',
    hint: 'No valid DKIM signature on the received message: it was not signed, the public key in DNS does not match the signing key (a DNS change?), or a hop altered the signed headers or body. Compare the selector’s DNS record with the signer’s key and check for footers or rewriting on the way.',
  },
  FLOW_DMARC_FAIL: {
    severity: 'critical',
    hint: 'DMARC failed: neither an SPF pass nor a DKIM pass is aligned with the From domain. Sign with a key of the From domain (or a custom MAIL FROM domain under it), so receivers with p=quarantine/reject do not drop the mail.',
  },
  FLOW_SPAM: {
    severity: 'critical',
    hint: 'The test message was delivered to the junk folder or got a spam verdict. Check the authentication results with it, the content and the sending IP’s reputation; real mail from this path likely lands in spam too.',
  },
  FLOW_RECEIVE_FAILED: {
    severity: 'critical',
    hint: 'The flow could not look at the receiving mailbox (IMAP login, TLS, folder, or the S3 object of SES receiving). Whether the message arrived is unknown; fix the mailbox access named in the message.',
  },
  FLOW_HOP_TLS_CHANGED: {
    severity: 'critical',
    hint: 'A hop that used TLS on the last run carried this message in clear text. Something changed on that server or its certificate; check its TLS configuration.',
  },
  FLOW_DKIM_CHANGED: {
    severity: 'warning',
    hint: 'The DKIM result of the flow’s message changed since the last run. A DNS change to the selector record or a new signer is the usual cause.',
  },
  FLOW_LATENCY_DOUBLED: {
    severity: 'warning',
    hint: 'Delivery took more than twice the flow’s recent median. Check the relay’s queue and the hops in the Received chain.',
  },
  // --- sender authentication (SPF RFC 7208, DMARC RFC 7489, DKIM RFC 6376) ----
  SPF_MISSING: {
    severity: 'critical',
    hint: 'The domain publishes no `v=spf1` TXT record, so Gmail and Yahoo (since February 2024) reject or spam-folder bulk mail from it. Publish one record listing every service that sends as this domain, ending in `-all` or `~all` (e.g. `v=spf1 include:amazonses.com -all`).',
  },
  SPF_MULTIPLE: {
    severity: 'critical',
    hint: 'More than one `v=spf1` record is published at the same name: receivers return permerror (RFC 7208 §4.5), which is the same as no SPF. Merge them into one record (one `v=spf1`, all includes, one `all`).',
  },
  SPF_INVALID: {
    severity: 'critical',
    hint: 'The SPF record (or a record it includes, see the include path in the message) has a syntax error, an include that has no SPF record, or an include loop: receivers return permerror (RFC 7208 §4.6, §5.2), which is the same as no SPF. Fix the term named in the message, or drop the include of a vendor you no longer use.',
  },
  SPF_TOO_MANY_LOOKUPS: {
    severity: 'critical',
    hint: 'Evaluating the SPF record needs more than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect; RFC 7208 §4.6.4) or more than 2 void lookups over the whole include tree: receivers return permerror and treat the domain as having no SPF. Remove includes of services that do not send, replace `a`/`mx` terms with `ip4:`/`ip6:` ranges, or ask the vendor named in the include path for a flatter include.',
  },
  SPF_PERMISSIVE: {
    severity: 'warning',
    hint: 'The SPF record ends in `+all` or `?all`, has no `all` at all, or uses the deprecated `ptr` mechanism (RFC 7208 §5.5): anyone may send as this domain, or receivers skip the term. End the record with `-all` (or `~all` while rolling out) and replace `ptr` with `ip4:`/`ip6:`/`a`.',
  },
  DMARC_MISSING: {
    severity: 'critical',
    hint: 'No DMARC record at `_dmarc.<domain>` or at the organisational domain’s `_dmarc`: Gmail and Yahoo require one for bulk senders. Publish `_dmarc.<domain> TXT "v=DMARC1; p=none; rua=mailto:dmarc@<domain>"`, read the reports, then tighten to quarantine/reject.',
  },
  DMARC_INVALID: {
    severity: 'critical',
    hint: 'The DMARC record is not usable (RFC 7489 §6.3, §6.6.3): not starting with `v=DMARC1`, more than one record, or a bad `p`, `sp`, `pct`, `adkim`/`aspf` value. Receivers then ignore DMARC. Publish exactly one record with valid tags.',
  },
  DMARC_POLICY_NONE: {
    severity: 'warning',
    hint: 'The DMARC policy is `p=none`: receivers only report and deliver spoofed mail anyway. Once the aggregate reports show all legitimate mail aligned, raise it to `p=quarantine` and then `p=reject`.',
  },
  DMARC_REPORT_DEST_UNAUTHORIZED: {
    severity: 'warning',
    hint: 'A `rua`/`ruf` address is at another domain that has not authorised receiving this domain’s reports (RFC 7489 §7.1): receivers drop those reports. Ask the report receiver to publish `<domain>._report._dmarc.<their domain> TXT "v=DMARC1"`, or send reports to an address in your own domain.',
  },
  DKIM_KEY_MISSING: {
    severity: 'critical',
    hint: 'No DKIM key record at `<selector>._domainkey.<domain>`: mail signed with this selector fails DKIM and, without aligned SPF, DMARC. Republish the key (for SES: the three CNAMEs the SES console lists for the identity), or remove the selector from the config if it is retired on purpose.',
  },
  DKIM_KEY_INVALID: {
    severity: 'critical',
    hint: 'The DKIM key record cannot be parsed (RFC 6376 §3.6.1): bad tag syntax, an unknown key type, or a `p=` that is not a valid public key. Signatures with this selector fail; republish the record exactly as the signing service gives it (long keys are split into 255-byte strings, not into separate records).',
  },
  DKIM_KEY_REVOKED: {
    severity: 'critical',
    hint: 'The DKIM key record has an empty `p=`, which revokes the key (RFC 6376 §3.6.1): every signature with this selector fails. If the selector is still used to sign, publish its current key; otherwise stop signing with it.',
  },
  DKIM_KEY_WEAK: {
    severity: 'warning',
    hint: 'The DKIM RSA key is shorter than 2048 bits (below 1024 bits receivers ignore it, RFC 8301 §3.2). Generate a 2048-bit key under a new selector, publish it, switch the signer, then revoke the old selector.',
  },
  DKIM_TESTING: {
    severity: 'warning',
    hint: 'The DKIM key record has `t=y` (testing, RFC 6376 §3.6.1): receivers may treat signatures as unsigned mail. Remove `t=y` once signing works.',
  },
  MX_NULL_WITH_SPF: {
    severity: 'warning',
    hint: 'The domain publishes a null MX (RFC 7505: it receives no mail) but its SPF allows senders: bounces and replies to its mail are lost and some receivers reject senders whose domain cannot receive. Publish real MX records, or make SPF `v=spf1 -all` if the domain does not send.',
  },
  MX_NONE: {
    severity: 'warning',
    hint: 'The domain has no MX and no A/AAAA record, so it cannot receive mail (bounces, replies, DMARC reports) and receivers commonly reject mail from it. Publish MX records, or a null MX (`0 .`, RFC 7505) together with `v=spf1 -all` if it must not send either.',
  },
  SENDER_AUTH_DNS_ERROR: {
    severity: 'critical',
    hint: 'A DNS lookup for SPF, DMARC or DKIM failed temporarily (SERVFAIL, timeout) or ran out of the check’s deadline, so the record could not be judged. Receivers treat this as temperror and may defer mail; check the zone’s authoritative servers. It may clear by itself.',
  },
  SPF_CHANGED: {
    severity: 'info',
    hint: 'The resolved SPF records (the record and everything it includes) changed since the last run. Check the diff: an include added or removed by a vendor can push the record over the 10-lookup limit or drop a sending service.',
  },
  DMARC_POLICY_WEAKENED: {
    severity: 'warning',
    hint: 'The DMARC policy was weakened since the last run (reject → quarantine → none, or a lower `pct`): spoofed mail is now delivered. If not intended, restore the previous record (shown in the change).',
  },
  DKIM_KEY_ROTATED: {
    severity: 'info',
    hint: 'The DKIM key published under this selector changed since the last run. Expected after a key rotation; if nobody rotated it, check who changed the record.',
  },
  DKIM_KEY_REMOVED: {
    severity: 'critical',
    hint: 'A DKIM key seen in the last run is gone (record deleted or revoked): mail still signed with this selector now fails DKIM. Republish the key, or switch the signer to a selector that exists.',
  },
  FLOW_MESSAGE_UNVERIFIABLE: {
    severity: 'warning',
    hint: 'The test message arrived, but not as sent: far larger than its ~1 KB, with a Received chain of 100 or more hops (a mail loop), or with a structure the verifier could not parse. Look at the message in the mailbox and find the hop that appended to it, looped it or rewrote it; its SPF/DKIM/DMARC verdicts are incomplete until then.',
  },
} as const satisfies Record<string, CodeSpec>;

export type FindingCode = keyof typeof FINDINGS;

export const PORT_25_HINT = PORT25_HINT;

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** What was observed, with the facts (reply text, names, dates). Never a secret. */
  readonly message: string;
  /** What to do. */
  readonly hint: string;
  /** The SMTP stage at which it was observed, when it belongs to one. */
  readonly stage?: string;
  /**
   * The target's TLS policy, on findings whose severity it decided (the way that sender
   * would act, see tls/policy.ts). Absent on findings graded the same under every policy.
   */
  readonly tlsPolicy?: TlsPolicy;
}

export interface FindingOverrides {
  readonly severity?: Severity;
  readonly hint?: string;
  readonly stage?: string;
}

/** Builds a finding with the catalogue's default severity and hint unless overridden. */
export function finding(code: FindingCode, message: string, overrides: FindingOverrides = {}): Finding {
  const spec: CodeSpec = FINDINGS[code];
  return {
    code,
    severity: overrides.severity ?? spec.severity,
    message,
    hint: overrides.hint ?? spec.hint,
    ...(overrides.stage !== undefined ? { stage: overrides.stage } : {}),
  };
}

/** STARTTLS_EXTRA_DATA (RFC 3207 §6: a command injection window), as the smtp and tls checks both report it. */
export function starttlsExtraData(bytes: number): Finding {
  return finding(
    'STARTTLS_EXTRA_DATA',
    `the server sent ${bytes} bytes after its 220 reply to STARTTLS; they were discarded`,
    { stage: 'starttls' },
  );
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** The status of a result: the worst severity among its findings (info counts as ok). */
export function statusOf(findings: readonly Finding[]): Status {
  let worst = 0;
  for (const f of findings) worst = Math.max(worst, RANK[f.severity]);
  return worst === 2 ? 'critical' : worst === 1 ? 'warning' : 'ok';
}

/**
 * The certificate findings that mean "verification failed": a client that verifies TLS
 * refuses the connection (weak keys or soon-expiring certificates do not).
 */
export const CERT_VERIFICATION_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'CERT_UNTRUSTED',
  'CERT_SELF_SIGNED',
  'CERT_CHAIN_INCOMPLETE',
  'CERT_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_NAME_MISMATCH',
]);

export function isFindingCode(value: string): value is FindingCode {
  return Object.prototype.hasOwnProperty.call(FINDINGS, value);
}

// SMTP findings that mean "no SMTP session at all" versus "no acceptable TLS" versus "bad certificate".
export const UNREACHABLE: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'DNS_NXDOMAIN',
  'DNS_ERROR',
  'CONNECT_REFUSED',
  'CONNECT_RESET',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'GREETING_REJECTED',
  'EHLO_REJECTED',
  'PROTOCOL_VIOLATION',
  'DEADLINE_EXCEEDED',
  'PROBE_INTERNAL_ERROR',
]);
