/**
 * MX patterns of an MTA-STS policy (RFC 8461 §3.2 `mx:` values) and how MX host names
 * are matched against them (§4.1). Pure.
 */
import { show } from './syntax.js';

// RFC 5321 §4.1.2 sub-domain = Let-dig [Ldh-str]: letters, digits and inner hyphens.
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/**
 * Checks an `mx:` value: `["*."] Domain` (§3.2, RFC 5321 Domain). Returns what is wrong,
 * or undefined when the pattern is valid. A trailing dot and a partial wildcard (`foo*.`)
 * are not in the grammar, and a sender that rejects them would ignore the whole policy.
 */
export function mxPatternError(pattern: string): string | undefined {
  if (pattern === '') return 'the mx value is empty';
  if (pattern.endsWith('.')) return `mx pattern ${show(pattern)} must not end with a dot`;
  const domain = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (domain.includes('*')) {
    return `mx pattern ${show(pattern)}: a wildcard is only allowed as the whole left-most label ("*.example.com")`;
  }
  if (/[^\x21-\x7e]/.test(domain)) {
    return `mx pattern ${show(pattern)} contains non-ASCII or space characters (use A-labels, e.g. xn--…)`;
  }
  if (domain.length > 253) return `mx pattern ${show(pattern)} is longer than 253 characters`;
  for (const label of domain.split('.')) {
    if (label === '') return `mx pattern ${show(pattern)} has an empty label`;
    if (label.length > 63) return `mx pattern ${show(pattern)} has a label longer than 63 characters`;
    if (!LABEL.test(label)) {
      return `mx pattern ${show(pattern)}: label ${show(label)} may only contain letters, digits and inner hyphens`;
    }
  }
  return undefined;
}

/** Lower-cases a host name and strips one trailing dot (MX targets come back from DNS as FQDNs). */
export function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/**
 * §4.1: does the MX host match the pattern? Case-insensitive; `*.example.com` matches
 * exactly one extra left-most label (`mail.example.com`), never `example.com` itself nor
 * `a.b.example.com` (the suffix matching some validators do is wrong).
 */
export function mxMatches(host: string, pattern: string): boolean {
  if (mxPatternError(pattern) !== undefined) return false;
  const name = normaliseHost(host);
  const pat = pattern.toLowerCase();
  if (!pat.startsWith('*.')) return name === pat;
  const dot = name.indexOf('.');
  if (dot <= 0) return false;
  return name.slice(dot + 1) === pat.slice(2);
}

/** The first pattern that covers the host, if any. */
export function coveringPattern(host: string, patterns: readonly string[]): string | undefined {
  return patterns.find((p) => mxMatches(host, p));
}
