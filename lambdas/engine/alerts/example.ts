/**
 * Renders the README's example alerts from a realistic result: an SMTP relay on loopback
 * whose certificate expired ten days ago, so the probe withheld the credentials.
 * `npx tsx lambdas/engine/alerts/example.ts [--write]` prints them (or writes them into
 * docs/alerting.md); test/engine/alerts/example.test.ts checks that the file shows exactly them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { finding } from '../findings.js';
import type { AlertableResult } from './alert-facts.js';
import type { AlertLinks, AlertMessage } from './format.js';
import { formatAlert } from './format.js';

export const EXAMPLE_NOW = Date.parse('2026-11-23T03:10:07.000Z');
export const EXAMPLE_LINKS: AlertLinks = {
  region: 'eu-west-1',
  dashboardName: 'MailProbe',
  queryName: 'mailprobe/failed-checks',
};

// The shapes below are those of the smtp check (lambdas/engine/smtp/check.ts) run against
// testkit's smtp-server with the test PKI's expired leaf; test/engine/alerts/example.test.ts
// also formats such a live result.
const expiredCertificate = {
  subject: 'CN=localhost',
  issuer: 'CN=mailprobe test intermediate',
  subjectAltNames: ['DNS:localhost', 'IP:127.0.0.1'],
  serialNumber: '01F0F75FDEFF20620004',
  notBefore: '2026-08-15T03:10:05.000Z',
  notAfter: '2026-11-13T03:10:05.000Z',
  daysToExpiry: -11,
  keyType: 'EC',
  keyBits: 256,
  signatureAlgorithm: 'ecdsa-with-SHA256',
  fingerprintSha256: '8E:F8:4C:35:36:3E:E8:FD:4E:09:DF:CB:CA:AB:59:7E:FE:C3:5E:E0:04:49:A1:81:02:93:CC:1D:8C:70:8C:4E',
  selfIssued: false,
};

const intermediate = {
  subject: 'CN=mailprobe test intermediate',
  issuer: 'CN=mailprobe test root',
  subjectAltNames: [],
  serialNumber: '01F0F75FDEF1A2B30002',
  notBefore: '2026-11-22T03:10:05.000Z',
  notAfter: '2031-11-21T03:10:05.000Z',
  daysToExpiry: 1824,
  keyType: 'EC',
  keyBits: 256,
  signatureAlgorithm: 'ecdsa-with-SHA256',
  fingerprintSha256: '1C:77:0A:E9:5B:3D:20:C4:98:6F:41:DA:0E:B2:73:58:C6:19:8A:F3:25:6D:E0:47:B1:9C:02:5E:DB:86:34:A0',
  selfIssued: false,
};

/** The result `mailprobe run` gives for that relay at 03:10 UTC (AUTH configured). */
export function expiredCertificateResult(startedAt = '2026-11-23T03:10:05.412Z'): AlertableResult {
  return {
    check: 'smtp',
    target: '127.0.0.1:2587',
    name: 'relay-eu',
    status: 'critical',
    startedAt,
    durationMs: 247,
    findings: [
      finding(
        'CERT_EXPIRED',
        'certificate "CN=localhost" (issuer "CN=mailprobe test intermediate") expired on 2026-11-13T03:10:05.000Z, 10 day(s) ago',
        { stage: 'tls' },
      ),
      finding('AUTH_WITHHELD', 'credentials were not sent: the TLS certificate did not verify', { stage: 'auth' }),
    ],
    host: '127.0.0.1',
    port: 2587,
    tlsMode: 'starttls',
    address: '127.0.0.1',
    stage: 'quit',
    completed: true,
    timings: { resolve: 0, connect: 1, greeting: 118, ehlo: 2, starttls: 14, tls: 4, 'ehlo-tls': 2, auth: 0, quit: 6 },
    greeting: '220 relay.example.test ESMTP mailprobe test server',
    capabilities: ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'AUTH PLAIN LOGIN'],
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      ephemeralKey: { type: 'ECDH', name: 'X25519', size: 253 },
      verified: false,
      servername: '127.0.0.1',
      certificate: expiredCertificate,
      chain: [expiredCertificate, intermediate],
      earliestExpiry: { subject: 'CN=localhost', notAfter: '2026-11-13T03:10:05.000Z', daysToExpiry: -11 },
    },
    auth: { outcome: 'withheld' },
  };
}

/** The same relay at 09:45, once the certificate was renewed. */
export function exampleResolvedResult(): AlertableResult {
  const failing = expiredCertificateResult('2026-11-23T09:45:05.120Z');
  const renewed = {
    ...expiredCertificate,
    serialNumber: '01F0F7A3C4D5E6F70007',
    notBefore: '2026-11-23T09:30:00.000Z',
    notAfter: '2027-02-21T09:30:00.000Z',
    daysToExpiry: 89,
    fingerprintSha256:
      '5D:02:9B:E4:71:AC:38:F6:0D:95:C2:1E:67:B8:4A:F3:80:2C:D9:15:6E:A7:3B:C0:94:58:E1:0F:72:BD:26:C3',
  };
  return {
    ...failing,
    status: 'ok',
    findings: [],
    durationMs: 231,
    tls: {
      ...(failing['tls'] as object),
      verified: true,
      certificate: renewed,
      chain: [renewed, intermediate],
      earliestExpiry: { subject: 'CN=localhost', notAfter: renewed.notAfter, daysToExpiry: 89 },
    },
    auth: { outcome: 'accepted', mechanism: 'PLAIN' },
  };
}

/** The two messages of an incident: the page at 03:10 and the recovery at 09:45. */
export function exampleMessages(): { critical: AlertMessage; resolved: AlertMessage } {
  const redact = (text: string) => text;
  const critical = formatAlert(
    expiredCertificateResult(),
    { kind: 'raised', previousStatus: 'ok', failingSince: Date.parse('2026-11-23T03:05:05.230Z') },
    { redact, now: EXAMPLE_NOW, links: EXAMPLE_LINKS },
  );
  const resolved = formatAlert(
    exampleResolvedResult(),
    { kind: 'resolved', previousStatus: 'critical', failingSince: Date.parse('2026-11-23T03:05:05.230Z') },
    { redact, now: Date.parse('2026-11-23T09:45:06.000Z'), links: EXAMPLE_LINKS },
  );
  return { critical, resolved };
}

function render(label: string, message: AlertMessage): string {
  return [
    `### ${label}: e-mail`,
    '',
    '```text',
    `Subject: ${message.subject}`,
    '',
    message.text,
    '```',
    '',
    `### ${label}: JSON (HTTPS, SQS, Lambda, e-mail-json)`,
    '',
    '```json',
    JSON.stringify(message.json, null, 2),
    '```',
    '',
    `### ${label}: message attributes`,
    '',
    '```json',
    JSON.stringify(message.input.MessageAttributes, null, 2),
    '```',
  ].join('\n');
}

/** The example block of docs/alerting.md, exactly. */
export function renderExamples(): string {
  const { critical, resolved } = exampleMessages();
  return `${render('Critical', critical)}\n\n${render('Resolved', resolved)}\n`;
}

export const EXAMPLES_START = '<!-- examples:start -->';
export const EXAMPLES_END = '<!-- examples:end -->';

/** `markdown` with the block between the markers replaced by the current rendering. */
export function spliceExamples(markdown: string): string {
  const start = markdown.indexOf(EXAMPLES_START);
  const end = markdown.indexOf(EXAMPLES_END);
  if (start < 0 || end < start) throw new Error(`markers ${EXAMPLES_START} … ${EXAMPLES_END} not found`);
  return `${markdown.slice(0, start + EXAMPLES_START.length)}\n\n${renderExamples()}\n${markdown.slice(end)}`;
}

// `npx tsx lambdas/engine/alerts/example.ts` prints the examples; with `--write` it updates docs/alerting.md.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--write')) {
    const file = fileURLToPath(new URL('../../../docs/alerting.md', import.meta.url));
    writeFileSync(file, spliceExamples(readFileSync(file, 'utf8')));
  } else process.stdout.write(renderExamples());
}
