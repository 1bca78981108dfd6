/**
 * Config → entries: every check the config asks for, with its schedule, thresholds and
 * notification settings, in config order. Pure; problems are collected, not thrown.
 */
import type {
  CheckSpec,
  SenderAuthCheckSpec,
  FlowCheckSpec,
  SesAccountCheckSpec,
  SmtpCheckSpec,
  TlsCheckSpec,
} from '../../lambdas/engine/checks.js';
import { FLOW_DEFAULTS, targetOf } from '../../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../lambdas/engine/context.js';
import {
  expandSesPreset,
  expandSesTlsPreset,
  SesPresetError,
  type SesPresetOptions,
} from '../../lambdas/engine/ses/presets.js';
import { DEFAULT_SCHEDULES, DEFAULT_SES_PORTS } from './defaults.js';
import type { MailProbeConfig, SmtpTargetConfig, ThresholdsConfig } from './schema.js';

export type MxMode = 'auto' | 'always' | 'never';

/** `auto`: probe MX hosts only from a VPC (the only place port 25 can be opened). */
export function probesMx(mode: MxMode | undefined, hasVpc: boolean): boolean {
  return mode === 'always' || ((mode ?? 'auto') === 'auto' && hasVpc);
}

/** The metric dimension `Target`: the configured name, else `host:port`, domain or region. */
export function nameOf(spec: CheckSpec): string {
  return spec.name ?? targetOf(spec);
}

function mergeThresholds(...layers: (ThresholdsConfig | undefined)[]): Thresholds {
  let t: Thresholds = DEFAULT_THRESHOLDS;
  for (const layer of layers)
    if (layer) t = { ...t, ...Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) };
  return t;
}

export interface Entry {
  readonly spec: CheckSpec;
  readonly schedule: string;
  readonly thresholds: Thresholds;
  readonly where: string;
  /** The target's own change-notification settings, if any. */
  readonly alerting?: AlertPolicyConfig;
}

export type AlertPolicyConfig = NonNullable<SmtpTargetConfig['alerting']>;

/** Expands every config entry into check specs, each with its schedule and thresholds. */
export function expand(config: MailProbeConfig, problems: string[], port25Reachable = false): Entry[] {
  const d = config.defaults ?? {};
  const schedules = {
    ...DEFAULT_SCHEDULES,
    ...Object.fromEntries(Object.entries(d.schedules ?? {}).filter(([, v]) => v)),
  };
  const entries: Entry[] = [];
  /** One sender-auth check per domain, whether a domain entry or an SES identity asked for it. */
  const senderAuth = new Map<string, { entry: Entry; selectors: Set<string>; ses?: string }>();
  const addSenderAuth = (
    domain: string,
    options: { selectors?: readonly string[]; ses?: string; name?: string; schedule?: string },
    base: Omit<Entry, 'spec' | 'schedule'>,
  ): void => {
    const key = domain.replace(/\.$/, '').toLowerCase();
    const known = senderAuth.get(key);
    if (known !== undefined) {
      for (const s of options.selectors ?? []) known.selectors.add(s);
      if (options.ses !== undefined) known.ses ??= options.ses;
      return;
    }
    const spec: SenderAuthCheckSpec = {
      check: 'sender-auth',
      domain: key,
      ...(options.name !== undefined ? { name: options.name } : {}),
    };
    const entry: Entry = { ...base, spec, schedule: options.schedule ?? schedules['sender-auth'] };
    senderAuth.set(key, {
      entry,
      selectors: new Set(options.selectors ?? []),
      ...(options.ses ? { ses: options.ses } : {}),
    });
    entries.push(entry);
  };

  const smtpLike = (
    base: Omit<SmtpCheckSpec, 'check'>,
    checks: readonly ('smtp' | 'tls')[] | undefined,
    schedule: string | { smtp?: string; tls?: string } | undefined,
    thresholds: Thresholds,
    where: string,
  ): void => {
    const kinds = checks ?? (base.tls === 'none' ? ['smtp'] : ['smtp', 'tls']);
    for (const kind of new Set(kinds)) {
      const own = typeof schedule === 'string' ? (kind === 'smtp' ? schedule : undefined) : schedule?.[kind];
      const sched = own ?? schedules[kind];
      if (kind === 'smtp') {
        entries.push({ spec: { check: 'smtp', ...base }, schedule: sched, thresholds, where });
      } else {
        if (base.tls === 'none') {
          problems.push(`${where}.checks: the tls check needs TLS, but tls is "none"; remove "tls" from checks`);
          continue;
        }
        const spec: TlsCheckSpec = {
          check: 'tls',
          host: base.host,
          port: base.port,
          ...(base.name !== undefined ? { name: base.name } : {}),
          ...(base.tls !== undefined ? { tls: base.tls } : {}),
          ...(base.ehloName !== undefined ? { ehloName: base.ehloName } : {}),
          ...(base.timeoutMs !== undefined ? { timeoutMs: base.timeoutMs } : {}),
          ...(base.tlsPolicy !== undefined ? { tlsPolicy: base.tlsPolicy } : {}),
        };
        entries.push({ spec, schedule: sched, thresholds, where });
      }
    }
  };

  (config.targets ?? []).forEach((t, i) => {
    const first = entries.length;
    expandTarget(t, i);
    // Every check the target expanded into carries its notification settings.
    if (t.alerting !== undefined) {
      for (let k = first; k < entries.length; k++) entries[k] = { ...entries[k]!, alerting: t.alerting };
    }
  });

  function expandTarget(t: NonNullable<MailProbeConfig['targets']>[number], i: number): void {
    const where = `targets[${i}]`;
    const timeoutMs = t.timeoutMs ?? d.timeoutMs;
    const thresholds = mergeThresholds(d.thresholds, t.thresholds);
    if ('ses' in t) {
      const kinds = new Set(t.checks ?? ['smtp', 'tls']);
      const options: SesPresetOptions = {
        region: t.ses.region,
        ports: t.ses.ports ?? DEFAULT_SES_PORTS,
        ...(t.ses.fips === true ? { fips: true } : {}),
        ...(t.name !== undefined ? { name: t.name } : {}),
        ...(t.ses.auth !== undefined ? { auth: { secretArn: t.ses.auth.secretArn } } : {}),
        ...(t.ses.testMessage !== undefined ? { testMessage: t.ses.testMessage } : {}),
        ...(t.ses.ehloName !== undefined ? { ehloName: t.ses.ehloName } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      };
      try {
        const sched = (kind: 'smtp' | 'tls') =>
          (typeof t.schedule === 'string' ? (kind === 'smtp' ? t.schedule : undefined) : t.schedule?.[kind]) ??
          schedules[kind];
        if (kinds.has('smtp')) {
          for (const spec of expandSesPreset(options))
            entries.push({ spec, schedule: sched('smtp'), thresholds, where });
        }
        // One tls posture check per TLS mode: SES serves the same TLS stack on every port.
        if (kinds.has('tls')) {
          for (const spec of expandSesTlsPreset(options))
            entries.push({ spec, schedule: sched('tls'), thresholds, where });
        }
      } catch (err) {
        if (!(err instanceof SesPresetError)) throw err;
        problems.push(`${where}.ses: ${err.message}`);
      }
      if (t.ses.account) {
        const account = typeof t.ses.account === 'object' ? t.ses.account : {};
        const spec: SesAccountCheckSpec = {
          check: 'ses-account',
          name: t.name ?? `ses-${t.ses.region}`,
          region: t.ses.region,
          ...(account.identities ? { identities: account.identities } : {}),
          ...(account.quotaWarnPercent !== undefined ? { quotaWarnPercent: account.quotaWarnPercent } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        };
        entries.push({ spec, schedule: schedules['ses-account'], thresholds, where });
        if (account.senderAuth === true) {
          // Address identities are signed with their domain's Easy DKIM tokens.
          const domains = new Set(
            (account.identities ?? []).map((id) => id.slice(id.lastIndexOf('@') + 1).toLowerCase()),
          );
          if (domains.size === 0) {
            problems.push(`${where}.ses.account.senderAuth: list the identities whose domains to check`);
          }
          for (const domain of domains) {
            addSenderAuth(domain, { ses: t.ses.region }, { thresholds, where: `${where}.ses.account.senderAuth` });
          }
        }
      }
      return;
    }
    const base: Omit<SmtpCheckSpec, 'check'> = {
      host: t.host,
      port: t.port,
      ...(t.name !== undefined ? { name: t.name } : {}),
      ...(t.tls !== undefined ? { tls: t.tls } : {}),
      ...(t.ehloName !== undefined ? { ehloName: t.ehloName } : {}),
      ...(t.tlsPolicy !== undefined ? { tlsPolicy: t.tlsPolicy } : {}),
      ...(t.auth !== undefined ? { auth: { secretArn: t.auth.secretArn } } : {}),
      ...(t.testMessage !== undefined ? { testMessage: t.testMessage } : {}),
      ...(t.dane === true ? { dane: true } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
    if (t.dane === true && t.port !== 25) {
      problems.push(`${where}.dane: DANE for SMTP (RFC 7672) is for port 25, the MX port; this target is on ${t.port}`);
    }
    smtpLike(base, t.checks, t.schedule, thresholds, where);
  }

  (config.domains ?? []).forEach((entry, i) => {
    const e = typeof entry === 'string' ? { domain: entry } : entry;
    const timeoutMs = e.timeoutMs ?? d.timeoutMs;
    const where = `domains[${i}]`;
    const alerting = 'alerting' in e && e.alerting !== undefined ? { alerting: e.alerting } : {};
    const sa = 'senderAuth' in e ? e.senderAuth : undefined;
    if (sa !== undefined && sa !== false) {
      const options = typeof sa === 'object' ? sa : {};
      addSenderAuth(
        e.domain,
        {
          ...(options.dkimSelectors ? { selectors: options.dkimSelectors } : {}),
          ...(e.name !== undefined ? { name: e.name } : {}),
          ...(options.schedule !== undefined ? { schedule: options.schedule } : {}),
        },
        { thresholds: mergeThresholds(d.thresholds, e.thresholds), where: `${where}.senderAuth`, ...alerting },
      );
    }
    if ('mtaSts' in e && e.mtaSts === false) {
      if (sa === undefined || sa === false) {
        problems.push(`${where}: mtaSts is false and senderAuth is not set, so nothing is checked for ${e.domain}`);
      }
      return;
    }
    const probeMx = probesMx(('mx' in e ? e.mx : undefined) ?? d.mx, port25Reachable || config.vpc !== undefined);
    entries.push({
      spec: {
        check: 'mta-sts',
        domain: e.domain.replace(/\.$/, '').toLowerCase(),
        ...(e.name !== undefined ? { name: e.name } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        // Without a VPC, AWS blocks port 25 from Lambda: MX probes could only ever fail (and page).
        ...(probeMx ? {} : { probeMx: false }),
      },
      schedule: e.schedule ?? schedules['mta-sts'],
      thresholds: mergeThresholds(d.thresholds, e.thresholds),
      where,
      ...alerting,
    });
  });
  // The selectors and SES region are known once every entry is read; timeouts follow the defaults.
  for (const { entry, selectors, ses } of senderAuth.values()) {
    const spec = entry.spec as SenderAuthCheckSpec;
    const index = entries.indexOf(entry);
    entries[index] = {
      ...entry,
      spec: {
        ...spec,
        ...(selectors.size > 0 ? { dkimSelectors: [...selectors] } : {}),
        ...(ses !== undefined ? { ses: { region: ses } } : {}),
        ...(d.timeoutMs !== undefined ? { timeoutMs: d.timeoutMs } : {}),
      },
    };
  }
  return entries;
}

/** The config's `receive` as the engine's spec: IMAP with its login by reference, or SES in its region. */
function receiveSpecOf(receive: FlowConfig['receive']): FlowCheckSpec['receive'] {
  if ('ses' in receive) return { ses: { region: receive.ses.region } };
  const imap = receive.imap;
  return {
    imap: {
      host: imap.host,
      auth: { secretArn: imap.auth.secretArn },
      ...(imap.port !== undefined ? { port: imap.port } : {}),
      ...(imap.tls !== undefined ? { tls: imap.tls } : {}),
      ...(imap.folder !== undefined ? { folder: imap.folder } : {}),
      ...(imap.junkFolder !== undefined ? { junkFolder: imap.junkFolder } : {}),
    },
  };
}

type FlowConfig = NonNullable<MailProbeConfig['flows']>[number];

export interface FlowEntry {
  readonly spec: FlowCheckSpec;
  readonly schedule: string;
  readonly where: string;
  readonly alerting?: AlertPolicyConfig;
}

/**
 * `flows[]` → flow specs, each sending through the smtp check its `via` names (a target's
 * name, `host:port` of an unnamed one, or an expanded SES port such as `ses-eu-west-1-587`),
 * with that target's TLS mode, policy and credentials. Kept out of expand(): flows are not
 * targets; flow-plan.ts plans their deployment, `mailprobe run` runs them on its own path.
 */
export function expandFlows(config: MailProbeConfig, problems: string[]): FlowEntry[] {
  const relays = new Map<string, SmtpCheckSpec>();
  for (const e of expand(config, [])) if (e.spec.check === 'smtp') relays.set(nameOf(e.spec), e.spec);
  const defaultTimeoutMs = config.defaults?.timeoutMs;
  const seen = new Set<string>();
  const out: FlowEntry[] = [];
  (config.flows ?? []).forEach((f, i) => {
    const where = `flows[${i}]`;
    if (seen.has(f.name)) problems.push(`${where}.name: another flow is named "${f.name}"; flow names are unique`);
    seen.add(f.name);
    const relay = relays.get(f.via);
    if (relay === undefined) {
      problems.push(
        `${where}.via: no SMTP target named "${f.via}" (targets: ${[...relays.keys()].join(', ') || 'none'}); name the target the message is sent through`,
      );
      return;
    }
    const { host, port, tls, tlsPolicy, auth, ehloName, sni } = relay;
    const timeoutMs = f.timeoutMs ?? defaultTimeoutMs;
    out.push({
      spec: {
        check: 'flow',
        name: f.name,
        via: {
          host,
          port,
          ...(tls !== undefined ? { tls } : {}),
          ...(tlsPolicy !== undefined ? { tlsPolicy } : {}),
          ...(auth !== undefined ? { auth } : {}),
          ...(ehloName !== undefined ? { ehloName } : {}),
          ...(sni !== undefined ? { sni } : {}),
        },
        from: f.from,
        to: f.to,
        receive: receiveSpecOf(f.receive),
        ...(f.warnSeconds !== undefined ? { warnSeconds: f.warnSeconds } : {}),
        ...(f.maxSeconds !== undefined ? { maxSeconds: f.maxSeconds } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      },
      schedule: f.schedule ?? FLOW_DEFAULTS.schedule,
      where,
      ...(f.alerting !== undefined ? { alerting: f.alerting } : {}),
    });
  });
  return out;
}
