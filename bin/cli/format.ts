/**
 * Output for people: one line per result, then each finding with its hint. Colour only
 * on a terminal (and never with NO_COLOR). `--json` bypasses all of this.
 */
import type { Finding, Severity, Status } from '../../lambdas/engine/findings.js';
import type { CheckResult } from '../../lambdas/engine/run/all.js';

export interface FormatOptions {
  readonly color: boolean;
  /** `--severity`: show only findings (and results) at or above it. @default 'info' (everything) */
  readonly minSeverity?: Severity;
  /** `--quiet`: no header, no ok rows, no summary line: only what needs attention. @default false */
  readonly quiet?: boolean;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const atLeast = (severity: Severity, min: Severity | undefined): boolean =>
  SEVERITY_RANK[severity] >= SEVERITY_RANK[min ?? 'info'];

const COLORS = { ok: '\x1b[32m', warning: '\x1b[33m', critical: '\x1b[31m', dim: '\x1b[2m', reset: '\x1b[0m' };

function paint(text: string, color: keyof typeof COLORS, options: FormatOptions): string {
  return options.color ? `${COLORS[color]}${text}${COLORS.reset}` : text;
}

const STATUS_LABEL: Record<Status, string> = { ok: 'OK', warning: 'WARN', critical: 'CRIT' };

/** A short description of what the check saw, for the table's last column. */
export function summarize(result: CheckResult): string {
  const r = result as unknown as Record<string, unknown>;
  const parts: string[] = [];
  const tls = (r.tls ?? r.negotiated) as { protocol?: string; cipher?: string } | undefined;
  if (tls?.protocol) parts.push(`${tls.protocol}${tls.cipher ? ` ${tls.cipher}` : ''}`);
  const cert =
    ((r.tls as Record<string, unknown> | undefined)?.earliestExpiry as { daysToExpiry?: number } | undefined) ??
    (r.earliestExpiry as { daysToExpiry?: number } | undefined);
  if (typeof cert?.daysToExpiry === 'number') parts.push(`cert ${cert.daysToExpiry} d`);
  const dh = r.dh as { bits?: number } | undefined;
  if (typeof dh?.bits === 'number') parts.push(dh.bits > 0 ? `DHE ${dh.bits} bits` : 'no DHE');
  const protocols = r.protocols as Record<string, boolean> | undefined;
  if (protocols) {
    const accepted = Object.entries(protocols)
      .filter(([, on]) => on)
      .map(([p]) => p.replace('TLSv', ''));
    parts.push(`TLS ${accepted.join('/') || 'none'}`);
  }
  const policy = r.policy as { mode?: string; id?: string } | undefined;
  if (policy?.mode) parts.push(`mode ${policy.mode}`);
  // DANE (dane results, and the dane field of mta-sts and smtp results).
  const dane = (result.check === 'dane' ? r : r.dane) as { verdict?: string } | undefined;
  if (typeof dane?.verdict === 'string') parts.push(`DANE ${dane.verdict}`);
  if (result.check === 'sender-auth') parts.push(...senderAuthSummary(r));
  const auth = r.auth as { outcome?: string } | undefined;
  if (auth?.outcome) parts.push(`auth ${auth.outcome}`);
  const message = r.message as { accepted?: boolean } | undefined;
  if (message) parts.push(message.accepted ? 'message accepted' : 'message rejected');
  if (result.check === 'smtp' && typeof r.stage === 'string' && r.completed !== true)
    parts.push(`failed at ${r.stage}`);
  return parts.join(', ');
}

/** `SPF 4/10 lookups -all, DMARC reject, DKIM 2 keys`. */
function senderAuthSummary(r: Record<string, unknown>): string[] {
  const parts: string[] = [];
  const spf = r.spf as { lookups?: number; endsInAll?: string; truncated?: boolean } | undefined;
  if (typeof spf?.lookups === 'number') {
    parts.push(`SPF ${spf.truncated ? '≥' : ''}${spf.lookups}/10 lookups${spf.endsInAll ? ` ${spf.endsInAll}` : ''}`);
  }
  const dmarc = r.dmarc as { policy?: { p?: string; pct?: number } } | undefined;
  if (dmarc?.policy?.p)
    parts.push(`DMARC ${dmarc.policy.p}${dmarc.policy.pct !== 100 ? ` pct=${dmarc.policy.pct}` : ''}`);
  const dkim = r.dkim as { present?: boolean; key?: { revoked?: boolean } }[] | undefined;
  if (Array.isArray(dkim) && dkim.length > 0) {
    const usable = dkim.filter((d) => d.present && d.key && !d.key.revoked).length;
    parts.push(`DKIM ${usable}/${dkim.length} keys`);
  }
  return parts;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function formatResults(all: readonly CheckResult[], options: FormatOptions): string {
  // The filters shape what a person reads; the exit status and --json/--output still see everything.
  const shownStatus = (r: CheckResult) =>
    r.status === 'ok' ? !options.quiet && options.minSeverity === undefined : atLeast(r.status, options.minSeverity);
  const results = all.filter(shownStatus);
  const shownFindings = (r: CheckResult) =>
    r.findings.filter((f) => atLeast(f.severity, options.minSeverity) && !(options.quiet && f.severity === 'info'));
  const rows = results.map((r) => ({
    status: STATUS_LABEL[r.status],
    statusKey: r.status,
    check: r.check,
    target: r.target,
    name: r.name ?? '',
    time: `${r.durationMs} ms`,
    summary: summarize(r),
  }));
  const widths = {
    status: 6,
    check: Math.max(5, ...rows.map((r) => r.check.length)),
    target: Math.max(6, ...rows.map((r) => r.target.length)),
    name: Math.max(4, ...rows.map((r) => r.name.length)),
    time: Math.max(4, ...rows.map((r) => r.time.length)),
  };
  const lines: string[] = [];
  if (!options.quiet)
    lines.push(
      paint(
        [
          pad('STATUS', widths.status),
          pad('CHECK', widths.check),
          pad('TARGET', widths.target),
          pad('NAME', widths.name),
          pad('TIME', widths.time),
          'DETAILS',
        ]
          .join('  ')
          .trimEnd(),
        'dim',
        options,
      ),
    );
  for (const row of rows) {
    lines.push(
      [
        paint(pad(row.status, widths.status), row.statusKey, options),
        pad(row.check, widths.check),
        pad(row.target, widths.target),
        pad(row.name, widths.name),
        pad(row.time, widths.time),
        row.summary,
      ]
        .join('  ')
        .trimEnd(),
    );
  }
  for (const result of results.filter((r) => shownFindings(r).length > 0)) {
    lines.push('');
    lines.push(`${result.check} ${result.target}${result.name ? ` (${result.name})` : ''}:`);
    for (const f of shownFindings(result)) lines.push(...formatFinding(f, options));
  }
  for (const result of results.filter((r) => (r.changes ?? []).length > 0)) {
    lines.push('');
    lines.push(
      `${result.check} ${result.target}${result.name ? ` (${result.name})` : ''}: changed since the last run:`,
    );
    for (const c of result.changes ?? []) {
      const color = c.severity === 'warning' ? 'warning' : 'dim';
      lines.push(`  ${paint(`${c.severity.toUpperCase()} ${c.code}`, color, options)}  ${c.message}`);
      lines.push(`      what to do: ${c.hint}`);
    }
  }
  if (options.quiet) return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  const critical = all.filter((r) => r.status === 'critical').length;
  const warning = all.filter((r) => r.status === 'warning').length;
  lines.push('');
  lines.push(`${all.length} checks: ${all.length - critical - warning} ok, ${warning} warning, ${critical} critical`);
  return `${lines.join('\n')}\n`;
}

function formatFinding(f: Finding, options: FormatOptions): string[] {
  const color = f.severity === 'critical' ? 'critical' : f.severity === 'warning' ? 'warning' : 'dim';
  return [
    `  ${paint(`${f.severity.toUpperCase()} ${f.code}`, color, options)}  ${f.message}`,
    `      what to do: ${f.hint}`,
  ];
}

/** The `--json` document (schema/mailprobe.result.schema.json). */
export function jsonDocument(results: readonly CheckResult[]): string {
  return `${JSON.stringify({ version: 1, results }, null, 2)}\n`;
}
