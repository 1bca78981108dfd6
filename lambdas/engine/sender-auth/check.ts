/**
 * The `sender-auth` check for one domain: will mail from it be believed? SPF (the whole
 * include tree, spf-tree.ts), DMARC at `_dmarc` or the organisational domain's (RFC 7489
 * §6.6.3, the public suffix list via tldts), each configured DKIM selector's key, and
 * whether the domain can receive (MX, RFC 7505 null MX).
 *
 * A temporary DNS failure is never "no record": it is SENDER_AUTH_DNS_ERROR, so a flaky
 * resolver does not report SPF_MISSING or DKIM_KEY_REMOVED.
 */
import type { SESClient } from '@aws-sdk/client-ses';
import { getDomain } from 'tldts';
import type { SenderAuthCheckSpec } from '../checks.js';
import { Deadline } from '../deadline.js';
import { finding, type Finding } from '../findings.js';
import { DnsError, type Resolver } from '../net/resolver.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult } from '../result.js';
import { isDmarcRecord, parseDkimKey, parseDmarc, reportHost, type DkimKey, type DmarcRecord } from './records.js';
import { walkSpf, type SpfTree } from './spf-tree.js';
import { domainSpecError } from './spf.js';

export interface DmarcReport {
  /** The name the record was found at (`_dmarc.<domain>` or the organisational domain's). */
  readonly name: string;
  readonly record: string;
  readonly policy?: DmarcRecord;
  /** Report destinations outside the domain and whether they authorised it (§7.1). */
  readonly externalDestinations: readonly { readonly host: string; readonly authorized: boolean }[];
}

export interface DkimReport {
  readonly selector: string;
  readonly name: string;
  readonly present: boolean;
  readonly key?: DkimKey;
}

export interface SenderAuthDeps {
  /** An SES client for the identity's region (tests); one is created when absent. */
  readonly sesClient?: SESClient;
}

export interface SenderAuthResult extends BaseResult {
  readonly check: 'sender-auth';
  readonly domain: string;
  /** With `ses`: the identity's DKIM selectors as SES reported them (its tokens) and SES's DKIM status. */
  readonly ses?: { readonly region: string; readonly selectors: readonly string[]; readonly status?: string };
  readonly spf?: Omit<SpfTree, 'findings'>;
  readonly dmarc?: DmarcReport;
  readonly dkim: readonly DkimReport[];
  readonly mx?: { readonly nullMx: boolean; readonly hosts: readonly string[] };
}

/** Selectors checked per domain: a bound on the work one config entry can cause. */
export const MAX_SELECTORS = 16;

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

async function txtOrVoid(resolver: Resolver, name: string, signal: AbortSignal): Promise<string[]> {
  try {
    return (await resolver.txt(name, { signal })).map((parts) => parts.join(''));
  } catch (err) {
    if (err instanceof DnsError && err.isNegativeAnswer) return [];
    throw err;
  }
}

function dnsFailure(err: unknown, what: string): Finding {
  const detail = err instanceof DnsError ? `${err.rrtype} ${err.query}: ${err.kind}` : String(err);
  return finding('SENDER_AUTH_DNS_ERROR', `${what}: ${detail}`);
}

export async function runSenderAuthCheck(
  spec: SenderAuthCheckSpec,
  ctx: ProbeContext,
  deps: SenderAuthDeps = {},
): Promise<SenderAuthResult> {
  const startedMs = ctx.clock.now();
  const domain = norm(spec.domain);
  const deadline = new Deadline(spec.timeoutMs ?? ctx.timeoutMs, ctx.clock);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), deadline.remainingMs());
  const signal = abort.signal;
  const resolver = ctx.resolver;
  const findings: Finding[] = [];
  const done = (extra: Partial<SenderAuthResult>): SenderAuthResult => ({
    ...baseResult(spec, findings, startedMs, ctx.clock),
    check: 'sender-auth',
    domain,
    dkim: [],
    ...extra,
  });
  try {
    const bad = domainSpecError(domain);
    if (bad !== undefined || domain.includes('%')) {
      findings.push(
        finding('SPF_INVALID', `the domain ${JSON.stringify(spec.domain.slice(0, 80))} ${bad ?? 'contains %'}`),
      );
      return done({});
    }
    const ses =
      spec.ses === undefined ? undefined : await sesSelectors(domain, spec.ses.region, signal, deps, findings);
    const selectors = [...new Set([...(spec.dkimSelectors ?? []), ...(ses?.selectors ?? [])])];
    if (selectors.length > MAX_SELECTORS) {
      findings.push(
        finding(
          'DKIM_KEY_INVALID',
          `${selectors.length} DKIM selectors configured; the first ${MAX_SELECTORS} are checked`,
          {
            severity: 'warning',
          },
        ),
      );
    }
    const [spf, dmarc, dkim, mx] = await Promise.all([
      checkSpf(domain, resolver, signal, findings),
      checkDmarc(domain, resolver, signal, findings),
      Promise.all(selectors.slice(0, MAX_SELECTORS).map((s) => checkDkim(domain, s, resolver, signal, findings))),
      checkMx(domain, resolver, signal, findings),
    ]);
    if (mx?.nullMx === true && spf?.record !== undefined) {
      const onlyFail = /^v=spf1\s+-all\s*$/i.test(spf.record);
      if (!onlyFail)
        findings.push(
          finding('MX_NULL_WITH_SPF', `${domain} has a null MX but SPF \`${spf.record.slice(0, 200)}\` allows senders`),
        );
    }
    if (signal.aborted)
      findings.push(finding('SENDER_AUTH_DNS_ERROR', `the check's deadline passed; results are incomplete`));
    return done({
      ...(ses !== undefined ? { ses } : {}),
      ...(spf !== undefined ? { spf } : {}),
      ...(dmarc !== undefined ? { dmarc } : {}),
      dkim: dkim.filter((d): d is DkimReport => d !== undefined),
      ...(mx !== undefined ? { mx } : {}),
    });
  } finally {
    clearTimeout(timer);
  }
}

/** The selectors SES signs the identity with; none (and a finding) when SES cannot be asked. */
async function sesSelectors(
  domain: string,
  region: string,
  signal: AbortSignal,
  deps: SenderAuthDeps,
  findings: Finding[],
): Promise<SenderAuthResult['ses']> {
  try {
    const { sesDkimSelectors } = await import('./ses-selectors.js');
    const found = await sesDkimSelectors(domain, region, signal, deps.sesClient);
    if (found.selectors.length === 0) {
      findings.push(
        finding(
          'SES_DKIM_NOT_VERIFIED',
          `SES (${region}) has no DKIM tokens for ${domain}${found.status ? ` (status ${found.status})` : ''}: Easy DKIM is not set up for this identity`,
        ),
      );
    }
    return { region, selectors: found.selectors, ...(found.status !== undefined ? { status: found.status } : {}) };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    findings.push(
      finding(
        'SES_API_ERROR',
        `GetIdentityDkimAttributes (${region}) for ${domain} failed: ${name}: ${message.slice(0, 200)}`,
      ),
    );
    return { region, selectors: [] };
  }
}

async function checkSpf(domain: string, resolver: Resolver, signal: AbortSignal, findings: Finding[]) {
  try {
    const tree = await walkSpf(domain, { resolver, signal });
    findings.push(...tree.findings);
    const { findings: _, ...rest } = tree;
    return rest;
  } catch (err) {
    findings.push(dnsFailure(err, 'SPF'));
    return undefined;
  }
}

async function checkDmarc(
  domain: string,
  resolver: Resolver,
  signal: AbortSignal,
  findings: Finding[],
): Promise<DmarcReport | undefined> {
  try {
    let name = `_dmarc.${domain}`;
    let records = (await txtOrVoid(resolver, name, signal)).filter(isDmarcRecord);
    // §6.6.3: no record at the domain → the organisational domain's (public suffix list, §3.2).
    const org = getDomain(domain, { allowPrivateDomains: true }) ?? domain;
    if (records.length === 0 && org !== domain) {
      name = `_dmarc.${org}`;
      records = (await txtOrVoid(resolver, name, signal)).filter(isDmarcRecord);
    }
    if (records.length === 0) {
      findings.push(
        finding('DMARC_MISSING', `no v=DMARC1 record at _dmarc.${domain}${org !== domain ? ` or _dmarc.${org}` : ''}`),
      );
      return undefined;
    }
    if (records.length > 1) {
      findings.push(
        finding('DMARC_INVALID', `${records.length} DMARC records at ${name} (RFC 7489 §6.6.3: none applies)`),
      );
      return { name, record: records.join(' | '), externalDestinations: [] };
    }
    const record = records[0] ?? '';
    const parsed = parseDmarc(record);
    if ('error' in parsed) {
      findings.push(finding('DMARC_INVALID', `${name}: ${parsed.error}`));
      return { name, record, externalDestinations: [] };
    }
    if (parsed.p === 'none') findings.push(finding('DMARC_POLICY_NONE', `${name}: p=none (monitoring only)`));
    const external: { host: string; authorized: boolean }[] = [];
    const hosts = new Set([...parsed.rua, ...parsed.ruf].map(reportHost).filter((h): h is string => h !== undefined));
    for (const host of hosts) {
      // §7.1: a destination in another organisational domain must publish <domain>._report._dmarc.<host>.
      if ((getDomain(host, { allowPrivateDomains: true }) ?? host) === org) continue;
      const auth = `${org}._report._dmarc.${host}`;
      const authorized = (await txtOrVoid(resolver, auth, signal)).some(isDmarcRecord);
      external.push({ host, authorized });
      if (!authorized) {
        findings.push(
          finding('DMARC_REPORT_DEST_UNAUTHORIZED', `reports go to ${host}, which publishes no v=DMARC1 at ${auth}`),
        );
      }
    }
    return { name, record, policy: parsed, externalDestinations: external };
  } catch (err) {
    findings.push(dnsFailure(err, 'DMARC'));
    return undefined;
  }
}

async function checkDkim(
  domain: string,
  selector: string,
  resolver: Resolver,
  signal: AbortSignal,
  findings: Finding[],
): Promise<DkimReport | undefined> {
  const name = `${selector}._domainkey.${domain}`;
  if (domainSpecError(name) !== undefined || selector.includes('%')) {
    findings.push(
      finding('DKIM_KEY_INVALID', `selector ${JSON.stringify(selector.slice(0, 80))} is not a valid DNS label`),
    );
    return undefined;
  }
  try {
    const records = (await txtOrVoid(resolver, name, signal)).filter((t) => /(^|;)\s*(v\s*=\s*DKIM1|p\s*=)/i.test(t));
    if (records.length === 0) {
      findings.push(finding('DKIM_KEY_MISSING', `no DKIM key at ${name}`));
      return { selector, name, present: false };
    }
    const key = parseDkimKey(records[0] ?? '');
    if ('error' in key) {
      findings.push(finding('DKIM_KEY_INVALID', `${name}: ${key.error}`));
      return { selector, name, present: true };
    }
    if (key.revoked) findings.push(finding('DKIM_KEY_REVOKED', `${name}: empty p= (key revoked)`));
    else if (key.bits !== undefined && key.bits < 1024) {
      findings.push(
        finding('DKIM_KEY_WEAK', `${name}: RSA ${key.bits} bits; receivers ignore keys under 1024 (RFC 8301 §3.2)`, {
          severity: 'critical',
        }),
      );
    } else if (key.bits !== undefined && key.bits < 2048) {
      findings.push(finding('DKIM_KEY_WEAK', `${name}: RSA ${key.bits} bits (2048 recommended)`));
    }
    if (key.testing) findings.push(finding('DKIM_TESTING', `${name}: t=y (testing mode)`));
    return { selector, name, present: true, key };
  } catch (err) {
    findings.push(dnsFailure(err, `DKIM ${selector}`));
    return undefined;
  }
}

async function checkMx(domain: string, resolver: Resolver, signal: AbortSignal, findings: Finding[]) {
  try {
    const mx = await resolver.mx(domain, { signal });
    // RFC 7505 §3: a single MX with preference 0 and the root as exchange.
    const nullMx = mx.length === 1 && (mx[0]?.exchange ?? '').replace(/\.$/, '') === '';
    return { nullMx, hosts: mx.map((m) => m.exchange) };
  } catch (err) {
    if (!(err instanceof DnsError && err.isNegativeAnswer)) {
      findings.push(dnsFailure(err, 'MX'));
      return undefined;
    }
  }
  // RFC 5321 §5.1: without MX, the domain's address is the implicit MX.
  try {
    await resolver.addresses(domain, { signal });
    return { nullMx: false, hosts: [] };
  } catch (err) {
    if (err instanceof DnsError && err.isNegativeAnswer) {
      findings.push(finding('MX_NONE', `${domain} has no MX and no A/AAAA record: it cannot receive mail`));
      return { nullMx: false, hosts: [] };
    }
    findings.push(dnsFailure(err, 'MX'));
    return undefined;
  }
}
