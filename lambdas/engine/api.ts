/**
 * The engine as a library: `import { runChecks, createContext } from 'mailprobe/engine'`.
 * The same checks the probe functions and the CLI run, with the same result documents
 * (schema/mailprobe.result.schema.json). No CDK here: this entry point loads none of aws-cdk-lib.
 *
 *     const results = await runChecks([{ check: 'smtp', host: 'smtp.example.com', port: 587, tls: 'starttls' }],
 *       createContext({ timeoutMs: 10_000 }));
 */
export { runCheck, runChecks, DEFAULT_CONCURRENCY } from './run/all.js';
export type { CheckResult, EngineDeps, RunOptions } from './run/all.js';
export { createContext, DEFAULT_THRESHOLDS, DEFAULT_TIMEOUT_MS } from './context.js';
export type { ProbeContext, Thresholds } from './context.js';
export type {
  CheckSpec,
  Credentials,
  CredentialSource,
  MtaStsCheckSpec,
  SesAccountCheckSpec,
  SmtpCheckSpec,
  TestMessage,
  TlsCheckSpec,
} from './checks.js';
export { effectiveTlsMode, targetOf, IMPLICIT_TLS_PORTS } from './checks.js';
export type { BaseResult, CertificateInfo, CheckKind, TlsMode, TlsSessionInfo } from './result.js';
export { FINDINGS, finding, isFindingCode, statusOf } from './findings.js';
export type { Finding, FindingCode, Severity, Status } from './findings.js';
export { createResolver, DnsError } from './net/resolver.js';
export type { DnsResolverOptions, MxRecord, Resolver } from './net/resolver.js';
export type { SmtpResult } from './smtp/check.js';
export type { TlsResult } from './tls/posture.js';
export type { MtaStsResult } from './mtasts/check.js';
export type { SesAccountResult } from './ses/account.js';
export { expandSesPreset, expandSesTlsPreset, sesSmtpHost, SES_SMTP_REGIONS, SesPresetError } from './ses/presets.js';
export { deriveSesSmtpPassword } from './ses/smtp-password.js';
export { ProbeError } from './errors.js';
export { systemClock } from './deadline.js';
export type { Clock } from './deadline.js';
