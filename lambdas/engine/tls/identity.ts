/**
 * Is this certificate for this host? Two rule sets:
 * - `pkix`: what Node's TLS client accepts (tls.checkServerIdentity: DNS SANs, IP SANs for
 *   IP literals, the subject CN when there are no DNS SANs). What an SMTP client does.
 * - `dns-id`: RFC 6125 §6.4 DNS-ID matching as RFC 8461 §4.2 requires for MTA-STS: subject
 *   alternative dNSName only, no CN fallback, no partial-label wildcards.
 */
import type { X509Certificate } from 'node:crypto';
import { ipFamily } from '../net/ip.js';
import { checkServerIdentity } from 'node:tls';
import { dnsNamesOf } from './certificate.js';

export type IdentityMode = 'pkix' | 'dns-id';

/** Lower case without the root's trailing dot: DNS names compare case-insensitively (RFC 4343). */
function canonical(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** One presented identifier against one reference identifier (RFC 6125 §6.4.1, §6.4.3). */
function matchesOne(host: string, presented: string): boolean {
  const pattern = canonical(presented);
  if (pattern.length === 0) return false;
  if (!pattern.includes('*')) return pattern === host;
  // The wildcard must be the whole left-most label (§6.4.3 allows `foo*`; RFC 8461 §4.2 and
  // CA/B practice do not) and must be the only one.
  if (!pattern.startsWith('*.') || pattern.indexOf('*', 1) >= 0) return false;
  const suffix = pattern.slice(2);
  // `*.com` would cover a whole top-level domain: at least two labels must follow.
  if (!suffix.includes('.') || suffix.split('.').some((label) => label.length === 0)) return false;
  const dot = host.indexOf('.');
  // Exactly one label: `*.example.com` matches `a.example.com`, never `example.com` or `a.b.example.com`.
  return dot > 0 && host.slice(dot + 1) === suffix;
}

/** RFC 6125 DNS-ID matching against the certificate's dNSName SANs (RFC 8461 §4.2). */
export function matchesDnsId(hostname: string, dnsNames: readonly string[]): boolean {
  const host = canonical(hostname);
  // An IP literal is never a DNS-ID; an empty label means a malformed name.
  if (host.length === 0 || ipFamily(host) !== 0 || host.split('.').some((label) => label.length === 0)) return false;
  return dnsNames.some((presented) => matchesOne(host, presented));
}

/** True when `cert` is valid for `hostname` under the given rules. */
export function checkHostname(hostname: string, cert: X509Certificate, mode: IdentityMode): boolean {
  if (mode === 'dns-id') return matchesDnsId(hostname, dnsNamesOf(cert));
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return checkServerIdentity(host, cert.toLegacyObject()) === undefined;
}
