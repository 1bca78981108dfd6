/** `mailprobe smtp | tls | mta-sts | ses`: one-off checks named on the command line. */
import type { CheckSpec, SmtpCheckSpec, TlsCheckSpec } from '../../lambdas/engine/checks.js';
import { DEFAULT_CONCURRENCY, runChecks, type CheckResult } from '../../lambdas/engine/run/all.js';
import { expandSesPreset, expandSesTlsPreset } from '../../lambdas/engine/ses/presets.js';
import { domainArguments, intOption, parsePorts, parseTlsMode, stringOption, UsageError, type Parsed } from './args.js';
import type { Io } from './io.js';
import { contextFrom, credentialSource, endpointOf, engineDeps, singleTarget, tlsPolicyOf } from './options.js';
import { daneCommand } from './dane.js';
import { openState, printResults } from './output.js';

/** `--sni NAME`: the TLS server name, e.g. to check a name's certificate on one address of a pool. */
function sniOf(values: Parsed['values']): { sni?: string } {
  const sni = stringOption(values, 'sni');
  if (sni === undefined) return {};
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(sni)) throw new UsageError(`--sni: expected a host name, got "${sni}"`);
  return { sni: sni.replace(/\.$/, '') };
}

/** A sender tries a handful of MX hosts; a longer --mx list is a mistake, not a check. */
export const MAX_MX_HOSTS = 50;

/** `--mx HOST` (repeatable, comma-separated): host names, each once, in the order given. */
export function mxHostsOf(values: Parsed['values']): string[] | undefined {
  const raw = values.mx as string[] | undefined;
  if (raw === undefined) return undefined;
  const hosts = raw.flatMap((v) => v.split(',')).map((h) => h.trim().replace(/\.$/, '').toLowerCase());
  for (const host of hosts) {
    // An MX is a host name (RFC 5321 §5.1), never an address literal: the policy matches names.
    // An all-numeric last label is an IPv4 address, not a name.
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(host) || /\.\d+$/.test(host) || host.length > 253) {
      throw new UsageError(`--mx: "${host}" is not a host name (an MX is a name, not an address)`);
    }
  }
  const unique = [...new Set(hosts)];
  if (unique.length > MAX_MX_HOSTS) throw new UsageError(`--mx: at most ${MAX_MX_HOSTS} hosts, got ${unique.length}`);
  return unique;
}

export async function probeCommand(parsed: Parsed, io: Io): Promise<number> {
  const state = await openState(parsed);
  return printResults(() => execute(parsed, io), parsed, io, state);
}

async function execute(parsed: Parsed, io: Io): Promise<CheckResult[]> {
  const { values } = parsed;
  const concurrency = intOption(values, 'concurrency', 1, 1024, DEFAULT_CONCURRENCY);
  switch (parsed.command) {
    case 'smtp': {
      const auth = credentialSource(values);
      const from = stringOption(values, 'mail-from');
      const to = stringOption(values, 'rcpt-to');
      if ((from === undefined) !== (to === undefined)) throw new UsageError('--mail-from and --rcpt-to go together');
      const spec: SmtpCheckSpec = {
        check: 'smtp',
        ...endpointOf(parsed),
        tls: parseTlsMode(stringOption(values, 'tls'), true),
        ...tlsPolicyOf(values),
        ...(auth !== undefined ? { auth } : {}),
        ...(from !== undefined && to !== undefined ? { testMessage: { from, to } } : {}),
        ...sniOf(values),
      };
      return runChecks([spec], contextFrom(values, io.stderr), { deps: { credentials: { env: io.env } } });
    }
    case 'tls': {
      const spec: TlsCheckSpec = {
        check: 'tls',
        ...endpointOf(parsed),
        tls: parseTlsMode(stringOption(values, 'tls'), false) as TlsCheckSpec['tls'],
        ...tlsPolicyOf(values),
        ...sniOf(values),
      };
      return runChecks([spec], contextFrom(values));
    }
    case 'mta-sts': {
      const specs: CheckSpec[] = domainArguments(parsed).map((domain) => ({ check: 'mta-sts', domain }));
      const deps = engineDeps(values);
      const mxHosts = mxHostsOf(values);
      return runChecks(specs, contextFrom(values), {
        concurrency,
        deps: mxHosts === undefined ? deps : { ...deps, mtaSts: { ...deps.mtaSts, mxHosts } },
      });
    }
    case 'ses': {
      const region = singleTarget(parsed, 'REGION');
      const ports = parsePorts(stringOption(values, 'ports'));
      const smtp = expandSesPreset({ region, ...(ports ? { ports } : {}), fips: values.fips === true });
      const specs: CheckSpec[] = [...smtp];
      if (values.posture === true) {
        specs.push(...expandSesTlsPreset({ region, ...(ports ? { ports } : {}), fips: values.fips === true }));
      }
      return runChecks(specs, contextFrom(values), { concurrency });
    }
    case 'dane':
      return daneCommand(parsed, contextFrom(values), concurrency);
    case 'sender-auth': {
      const selectors = ((values['dkim-selector'] as string[] | undefined) ?? []).map((s) => {
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(s)) {
          throw new UsageError(`--dkim-selector: expected a DNS label like "s1" or "google", got "${s}"`);
        }
        return s;
      });
      const specs: CheckSpec[] = domainArguments(parsed).map((domain) => ({
        check: 'sender-auth',
        domain,
        ...(selectors.length > 0 ? { dkimSelectors: selectors } : {}),
      }));
      return runChecks(specs, contextFrom(values), { concurrency });
    }
    default:
      throw new UsageError(`${parsed.command}: not a probe command`);
  }
}
