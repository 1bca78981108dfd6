/**
 * `mailprobe tlsrpt FILE...`: reads TLS-RPT reports (.json, .json.gz, or a whole .eml
 * message as a mailto: rua receives it), prints one table per report and policy, or
 * `{"version": 1, "reports": [...], "errors": [...]}` with --json.
 * Exit status: 0 every file parsed and no session failed, 1 a session failed or a file
 * is not a report, 2 usage error.
 */
import { createReadStream } from 'node:fs';
import { DEFAULT_LIMITS, decodeReport, readCapped } from '../../lambdas/engine/tlsrpt/decode.js';
import { isReportError, ReportError, type ReportErrorCode } from '../../lambdas/engine/tlsrpt/errors.js';
import { parseReportMail } from '../../lambdas/engine/tlsrpt/mime.js';
import type { TlsRptReport } from '../../lambdas/engine/tlsrpt/report.js';
import { UsageError, type Parsed } from './args.js';
import type { Io } from './io.js';

/** The --json shape of one report: exactly these fields, absent values as null. */
export interface ReportJson {
  readonly organizationName: string;
  readonly reportId: string;
  readonly dateRange: { readonly start: string; readonly end: string };
  readonly policies: readonly {
    readonly policyType: string;
    readonly policyDomain: string;
    readonly mxHosts: readonly string[];
    readonly successfulSessions: number;
    readonly failedSessions: number;
    readonly failureDetails: readonly {
      readonly resultType: string;
      readonly failedSessions: number;
      readonly sendingMtaIp: string | null;
      readonly receivingMxHostname: string | null;
      readonly receivingIp: string | null;
    }[];
  }[];
}

export interface FileError {
  readonly file: string;
  readonly code: ReportErrorCode;
  readonly message: string;
}

export function reportJson(report: TlsRptReport): ReportJson {
  return {
    organizationName: report.organizationName,
    reportId: report.reportId,
    dateRange: { start: report.dateRange.start, end: report.dateRange.end },
    policies: report.policies.map((p) => ({
      policyType: p.policyType,
      policyDomain: p.policyDomain,
      mxHosts: [...p.mxHosts],
      successfulSessions: p.successfulSessions,
      failedSessions: p.failedSessions,
      failureDetails: p.failureDetails.map((d) => ({
        resultType: d.resultType,
        failedSessions: d.failedSessions,
        sendingMtaIp: d.sendingMtaIp ?? null,
        receivingMxHostname: d.receivingMxHostname ?? null,
        receivingIp: d.receivingIp ?? null,
      })),
    })),
  };
}

/** One file → one report. Never throws for bad content: a ReportError says what is wrong. */
export async function readReportFile(file: string): Promise<TlsRptReport> {
  const isMail = /\.eml$/i.test(file);
  // Counted while reading, so a 10 GB file (or /dev/zero) stops at the cap.
  const cap = isMail
    ? DEFAULT_LIMITS.maxMessageBytes
    : Math.max(DEFAULT_LIMITS.maxReportBytes, DEFAULT_LIMITS.maxCompressedBytes);
  let bytes: Buffer;
  try {
    bytes = await readCapped(
      createReadStream(file),
      cap,
      () => new ReportError(isMail ? 'TLSRPT_MAIL_INVALID' : 'TLSRPT_REPORT_TOO_LARGE', `larger than ${cap} bytes`),
    );
  } catch (err) {
    if (isReportError(err)) throw err;
    throw new ReportError('TLSRPT_FILE_UNREADABLE', (err as Error).message, { cause: err });
  }
  if (isMail) return (await parseReportMail(bytes)).report;
  return decodeReport(bytes, /\.gz$/i.test(file) ? 'gzip' : 'auto');
}

const n = (value: number): string => value.toLocaleString('en-US');

function formatRange(start: string, end: string): string {
  const short = (iso: string) => iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, '');
  return `${short(start)} – ${short(end)} UTC`;
}

function table(rows: readonly (readonly string[])[], indent: string): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      `${indent}${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd(),
    )
    .join('\n');
}

export function formatReport(report: TlsRptReport): string {
  const lines = [
    `${report.organizationName}  report ${report.reportId}  ${formatRange(report.dateRange.start, report.dateRange.end)}`,
  ];
  const rows: string[][] = [['POLICY', 'DOMAIN', 'MODE', 'MX', 'SUCCESSFUL', 'FAILED']];
  for (const p of report.policies) {
    rows.push([
      p.policyType,
      p.policyDomain,
      p.mode ?? '-',
      p.mxHosts.join(',') || '-',
      n(p.successfulSessions),
      n(p.failedSessions),
    ]);
  }
  lines.push(table(rows, '  '));
  for (const p of report.policies) {
    if (p.failureDetails.length === 0) continue;
    lines.push(`  failures for ${p.policyDomain}:`);
    const details = [...p.failureDetails].sort((a, b) => b.failedSessions - a.failedSessions);
    lines.push(
      table(
        [
          ['RESULT', 'SESSIONS', 'RECEIVING MX', 'RECEIVING IP', 'SENDING MTA'],
          ...details.map((d) => [
            d.resultType,
            n(d.failedSessions),
            d.receivingMxHostname ?? '-',
            d.receivingIp ?? '-',
            d.sendingMtaIp ?? '-',
          ]),
        ],
        '    ',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function tlsrptCommand(parsed: Parsed, io: Io): Promise<number> {
  if (parsed.positionals.length === 0)
    throw new UsageError('tlsrpt: expected one or more FILEs (.json, .json.gz, .eml)');
  const reports: TlsRptReport[] = [];
  const errors: FileError[] = [];
  for (const file of parsed.positionals) {
    try {
      reports.push(await readReportFile(file));
    } catch (err) {
      if (!isReportError(err)) throw err;
      errors.push({ file, code: err.code, message: err.message });
    }
  }
  if (parsed.values.json === true) {
    io.stdout.write(`${JSON.stringify({ version: 1, reports: reports.map(reportJson), errors }, null, 2)}\n`);
  } else {
    io.stdout.write(reports.map(formatReport).join('\n'));
    if (reports.length > 0) {
      const failed = reports.reduce((sum, r) => sum + r.policies.reduce((s, p) => s + p.failedSessions, 0), 0);
      const ok = reports.reduce((sum, r) => sum + r.policies.reduce((s, p) => s + p.successfulSessions, 0), 0);
      io.stdout.write(`\n${reports.length} report(s): ${n(ok)} successful, ${n(failed)} failed session(s)\n`);
    }
    for (const e of errors) io.stdout.write(`${e.file}: ${e.code} ${e.message}\n`);
  }
  const anyFailed = reports.some((r) => r.policies.some((p) => p.failedSessions > 0));
  return errors.length > 0 || anyFailed ? 1 : 0;
}
