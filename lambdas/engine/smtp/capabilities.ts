/**
 * EHLO capabilities (RFC 5321 §4.1.1.1): each line after the first is one keyword with
 * optional parameters. Parsed keyword by keyword, never with a regex over the whole
 * reply, so `250-X-NOT-STARTTLS` can never pass for STARTTLS.
 */
import type { SmtpReply } from './reply.js';

export interface Capabilities {
  /** The domain the server named on the first line. */
  readonly serverName: string;
  /** Upper-cased keyword → its parameters. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
}

// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

export function parseEhlo(reply: SmtpReply): Capabilities {
  const [first = '', ...rest] = reply.lines;
  const keywords = new Map<string, string[]>();
  for (const line of rest) {
    const parts = line.trim().split(/[ \t]+/);
    let keyword = parts[0] ?? '';
    let params = parts.slice(1);
    // Pre-standard servers (old Exchange, some appliances) advertise `AUTH=LOGIN PLAIN`.
    const eq = keyword.indexOf('=');
    if (eq > 0) {
      params = [keyword.slice(eq + 1), ...params].filter((p) => p !== '');
      keyword = keyword.slice(0, eq);
    }
    if (!KEYWORD.test(keyword)) continue;
    const key = keyword.toUpperCase();
    const merged = [...(keywords.get(key) ?? []), ...params];
    keywords.set(key, merged);
  }
  return { serverName: first.trim().split(/\s+/)[0] ?? '', keywords };
}

export function hasCapability(caps: Capabilities, keyword: string): boolean {
  return caps.keywords.has(keyword.toUpperCase());
}

/** SASL mechanisms advertised with AUTH, upper-cased. */
export function authMechanisms(caps: Capabilities): string[] {
  return [...new Set((caps.keywords.get('AUTH') ?? []).map((m) => m.toUpperCase()))];
}

/** Human-readable list for results: `STARTTLS`, `SIZE 10240000`, `AUTH PLAIN LOGIN`. */
export function describeCapabilities(caps: Capabilities): string[] {
  return [...caps.keywords].map(([k, params]) => (params.length > 0 ? `${k} ${params.join(' ')}` : k));
}
