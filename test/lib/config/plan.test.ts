import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../lib/config/load.js';
import { PlanError, planConfig, planSpecs, workBudgetMs, type Plan } from '../../../lib/config/plan.js';

const plan = (raw: unknown): Plan => planConfig(validateConfig(raw));

function planProblems(raw: unknown): readonly string[] {
  try {
    plan(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(PlanError);
    return (err as PlanError).problems;
  }
  throw new Error('expected a PlanError');
}

describe('plan', () => {
  it('groups by check kind and schedule with the DESIGN.md §6 defaults', () => {
    const p = plan({
      targets: [{ name: 'relay', host: 'smtp.example.com', port: 587 }],
      domains: ['Example.COM.'],
    });
    expect(p.shards.map((s) => [s.shard, s.check, s.schedule, s.specs.length])).toEqual([
      ['smtp-5m-1', 'smtp', 'rate(5 minutes)', 1],
      ['tls-6h-1', 'tls', 'rate(6 hours)', 1],
      ['mta-sts-1h-1', 'mta-sts', 'rate(1 hour)', 1],
    ]);
    // No VPC: mx "auto" leaves the MX hosts out (port 25 is blocked from Lambda).
    expect(p.shards[2]!.specs).toEqual([{ check: 'mta-sts', domain: 'example.com', probeMx: false }]);
    expect(p.shards[0]!.thresholds).toEqual({ warnDays: 30, criticalDays: 7, minDhBits: 2048 });
    expect(p.namespace).toBe('MailProbe');
  });

  it("carries a target's tlsPolicy into both its smtp and its tls check", () => {
    const p = plan({
      targets: [
        { name: 'lenient', host: 'a.example', port: 587, tlsPolicy: 'preferred' },
        { name: 'strict', host: 'b.example', port: 587 },
      ],
    });
    const specs = p.shards.flatMap((s) => s.specs) as { check: string; name?: string; tlsPolicy?: string }[];
    expect(specs.filter((s) => s.name === 'lenient').map((s) => [s.check, s.tlsPolicy])).toEqual([
      ['smtp', 'preferred'],
      ['tls', 'preferred'],
    ]);
    // Unset means the engine's default (required-verify), not a value written into the plan.
    expect(specs.filter((s) => s.name === 'strict').every((s) => s.tlsPolicy === undefined)).toBe(true);
  });

  it('carries change-notification settings into the shards, per target and in milliseconds', () => {
    const p = plan({
      targets: [
        { name: 'quiet', host: 'a.example', port: 587, checks: ['smtp'], alerting: { enabled: false } },
        { name: 'eager', host: 'b.example', port: 587, checks: ['smtp'], alerting: { holdCount: 1, reminderHours: 0 } },
        { name: 'plain', host: 'c.example', port: 587, checks: ['smtp'] },
      ],
      domains: [{ domain: 'example.org', alerting: { reminderHours: 6 } }],
      alerting: { notifications: { holdCount: 3, reminderHours: 12 } },
    });
    const smtp = p.shards.find((s) => s.check === 'smtp')!;
    expect(smtp.alerts).toEqual({
      holdCount: 3,
      reminderIntervalMs: 12 * 3_600_000,
      targets: { quiet: { enabled: false }, eager: { holdCount: 1, reminderIntervalMs: 0 } },
    });
    const mtaSts = p.shards.find((s) => s.check === 'mta-sts')!;
    expect(mtaSts.alerts?.targets).toEqual({ 'example.org': { reminderIntervalMs: 6 * 3_600_000 } });
  });

  it('expands an SES preset to the FIPS endpoints, and refuses FIPS where SES has none', () => {
    const p = plan({ targets: [{ ses: { region: 'us-east-1', ports: [587], fips: true }, checks: ['smtp'] }] });
    expect(p.shards[0]!.specs).toMatchObject([
      { check: 'smtp', host: 'email-smtp-fips.us-east-1.amazonaws.com', port: 587 },
    ]);
    expect(planProblems({ targets: [{ ses: { region: 'eu-west-1', fips: true } }] }).join('\n')).toMatch(
      /targets\[0\]\.ses: .*FIPS/i,
    );
  });

  it('rejects a hold count outside 1–10 with the path', () => {
    expect(() => plan({ targets: [{ host: 'a.example', port: 25, alerting: { holdCount: 0 } }] })).toThrow(
      /targets\[0\]\.alerting\.holdCount/,
    );
  });

  it('lets a target override the schedule of each of its checks', () => {
    const p = plan({
      targets: [
        { name: 'a', host: 'a.example', port: 465, schedule: { smtp: 'rate(10 minutes)', tls: 'rate(1 day)' } },
        { name: 'b', host: 'b.example', port: 587, schedule: 'rate(1 minute)', checks: ['smtp'] },
      ],
    });
    expect(p.shards.map((s) => [s.shard, s.specs.map((x) => x.name)])).toEqual([
      ['smtp-10m-1', ['a']],
      ['tls-1d-1', ['a']],
      ['smtp-1m-1', ['b']],
    ]);
    expect(p.targets.find((t) => t.check === 'tls' && t.name === 'a')!.periodSeconds).toBe(86_400);
  });

  it('expands an SES preset into smtp checks per port, tls checks per TLS mode and the account check', () => {
    const p = plan({ targets: [{ ses: { region: 'eu-west-1', ports: [587, 2587, 465], account: true } }] });
    const specs = planSpecs(p);
    const bySmtpName = specs.filter((s) => s.check === 'smtp').sort((a, b) => a.name!.localeCompare(b.name!));
    expect(bySmtpName.map((s) => [s.name, s.check === 'smtp' && s.tls])).toEqual([
      ['ses-eu-west-1-2587', 'starttls'],
      ['ses-eu-west-1-465', 'implicit'],
      ['ses-eu-west-1-587', 'starttls'],
    ]);
    expect(specs.filter((s) => s.check === 'tls').map((s) => s.name)).toEqual([
      'ses-eu-west-1-tls-465',
      'ses-eu-west-1-tls-587',
    ]);
    expect(specs.find((s) => s.check === 'ses-account')).toEqual({
      check: 'ses-account',
      name: 'ses-eu-west-1',
      region: 'eu-west-1',
    });
    expect(p.sesRegions).toEqual(['eu-west-1']);
  });

  it('leaves port 25 out of SES presets by default and flags port-25 checks', () => {
    const p = plan({
      targets: [{ ses: { region: 'us-east-1' } }, { name: 'mx', host: 'mx.example', port: 25 }],
      domains: ['example.com'],
    });
    expect(
      planSpecs(p)
        .filter((s) => s.check === 'smtp' && s.name?.startsWith('ses'))
        .map((s) => s.check === 'smtp' && s.port)
        .sort(),
    ).toEqual([2465, 2587, 465, 587]);
    // mx "auto" without a VPC: the domain's MX hosts are not probed, so it needs no port 25.
    expect(p.targets.filter((t) => t.port25).map((t) => `${t.check}:${t.name}`)).toEqual(['smtp:mx', 'tls:mx']);
  });

  it('probes MX hosts per the mx setting: auto only in a VPC, always, never', () => {
    const vpc = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] };
    const mxOf = (config: Parameters<typeof plan>[0]) =>
      planSpecs(plan(config)).map((s) => (s.check === 'mta-sts' ? [s.domain, s.probeMx ?? true] : []));
    expect(mxOf({ domains: ['a.example', { domain: 'b.example', mx: 'always' }] })).toEqual([
      ['a.example', false],
      ['b.example', true],
    ]);
    expect(mxOf({ vpc, domains: ['a.example', { domain: 'b.example', mx: 'never' }] })).toEqual([
      ['a.example', true],
      ['b.example', false],
    ]);
    expect(mxOf({ defaults: { mx: 'never' }, vpc, domains: ['a.example'] })).toEqual([['a.example', false]]);
    const always = plan({ domains: [{ domain: 'b.example', mx: 'always' }] });
    expect(always.targets.filter((t) => t.port25).map((t) => t.name)).toEqual(['b.example']);
  });

  it('shards a group so that waves × deadline fits the function timeout with margin', () => {
    // 300 s timeout → 230 s work budget; 15 s deadline → 15 waves; concurrency 8 → 120 checks per shard.
    expect(workBudgetMs(300)).toBe(230_000);
    const domains = Array.from({ length: 250 }, (_, i) => `d${String(i).padStart(3, '0')}.example`);
    const p = plan({ domains });
    expect(p.shards.map((s) => [s.shard, s.specs.length])).toEqual([
      ['mta-sts-1h-1', 120],
      ['mta-sts-1h-2', 120],
      ['mta-sts-1h-3', 10],
    ]);
    expect(new Set(planSpecs(p).map((s) => s.check === 'mta-sts' && s.domain)).size).toBe(250);
  });

  it('sizes shards by the longest deadline among their checks', () => {
    const p = plan({
      defaults: { concurrency: 2, functionTimeoutSeconds: 60 },
      // budget 38 s: two waves of 15 s, or one wave of 30 s
      domains: [
        { domain: 'slow.example', timeoutMs: 30_000 },
        'a.example',
        'b.example',
        'c.example',
        'd.example',
        'e.example',
      ],
    });
    expect(p.shards.map((s) => s.specs.map((x) => x.check === 'mta-sts' && x.domain))).toEqual([
      ['slow.example', 'a.example'],
      ['b.example', 'c.example', 'd.example', 'e.example'],
    ]);
  });

  it('puts targets with other thresholds into their own shard', () => {
    const p = plan({
      targets: [
        { name: 'a', host: 'a.example', port: 587, checks: ['smtp'] },
        { name: 'b', host: 'b.example', port: 587, checks: ['smtp'], thresholds: { warnDays: 14 } },
      ],
    });
    expect(p.shards.map((s) => [s.shard, s.thresholds.warnDays, s.specs.map((x) => x.name)])).toEqual([
      ['smtp-5m-1', 30, ['a']],
      ['smtp-5m-t2-1', 14, ['b']],
    ]);
  });

  it('fails with a clear message when a check cannot fit the function timeout', () => {
    expect(
      planProblems({
        defaults: { functionTimeoutSeconds: 30 },
        domains: [{ domain: 'example.com', timeoutMs: 20_000 }],
      }),
    ).toEqual([
      'domains[0]: a check deadline of 20000 ms does not fit a 30 s function (work budget 14000 ms after the margin); lower timeoutMs or raise defaults.functionTimeoutSeconds (max 900)',
    ]);
  });

  it('refuses two checks with the same name, an unknown SES region and inconsistent thresholds', () => {
    expect(
      planProblems({
        targets: [
          { name: 'relay', host: 'a.example', port: 587 },
          { name: 'relay', host: 'b.example', port: 587, thresholds: { warnDays: 5, criticalDays: 10 } },
          { ses: { region: 'xx-nowhere-1' } },
        ],
      }),
    ).toEqual([
      expect.stringMatching(/^targets\[2\]\.ses: "xx-nowhere-1" is not a region with an Amazon SES SMTP endpoint/),
      'targets[1]: the smtp check named "relay" is also defined by targets[0]; give one of them a different name (names are the alarms\' and metrics\' Target)',
      'targets[1].thresholds: criticalDays (10) must not exceed warnDays (5)',
      'targets[1]: the tls check named "relay" is also defined by targets[0]; give one of them a different name (names are the alarms\' and metrics\' Target)',
    ]);
  });

  it('collects the secret ARNs the smtp function may read, and never a password', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-AbCdEf';
    const p = plan({ targets: [{ name: 'r', host: 'r.example', port: 587, auth: { secretArn: arn } }] });
    expect(p.secretArns).toEqual([arn]);
    expect(p.shards[0]!.specs[0]).toMatchObject({ auth: { secretArn: arn } });
    expect(p.shards[1]!.specs[0]).not.toHaveProperty('auth');
  });

  it('alarms on certificate expiry once per endpoint', () => {
    const p = plan({
      targets: [
        { name: 'posture', host: 'a.example', port: 587 },
        { name: 'plain', host: 'b.example', port: 587, checks: ['smtp'] },
        { name: 'clear', host: 'c.example', port: 25, tls: 'none' },
      ],
    });
    expect(p.targets.map((t) => [t.check, t.name, t.alarmCertExpiry, t.alarmDhBits])).toEqual([
      ['smtp', 'posture', false, false],
      ['tls', 'posture', true, true],
      ['smtp', 'plain', true, false],
      ['smtp', 'clear', false, false],
    ]);
  });
});

describe('plan-time limits (issue 12 item 7, issue 10 item 8)', () => {
  it('refuses names that collide as construct IDs, in one line naming both', () => {
    expect(() =>
      plan({
        targets: [
          { name: 'relay/a', host: 'a.example.com', port: 587, checks: ['smtp'] },
          { name: 'relay_a', host: 'b.example.com', port: 587, checks: ['smtp'] },
        ],
      }),
    ).toThrow(
      'the configuration cannot be deployed as is: targets[1]: the name "relay_a" and "relay/a" (targets[0]) differ only in characters that CloudFormation IDs cannot hold; rename one of them',
    );
  });

  it('refuses alarm names longer than 255 characters, counting the stack name', () => {
    const name = `r${'x'.repeat(127)}`;
    const config = validateConfig({ targets: [{ name, host: 'a.example.com', port: 587, checks: ['smtp'] }] });
    expect(() => planConfig(config)).not.toThrow();
    expect(() => planConfig(config, { alarmNamePrefix: 'P'.repeat(120) })).toThrow(
      /the alarm name for "rx+" would be 271 characters, more than CloudWatch's 255; give the target a shorter name/,
    );
  });

  it('refuses more Metrics Insights alarms than the quota, and honours a raised quota', () => {
    const many = {
      alarms: { mode: 'fleet' as const },
      targets: Array.from({ length: 30 }, (_, i) => ({
        name: `r${i}`,
        host: `r${i}.example.com`,
        port: 587,
        checks: ['smtp' as const],
        // Each its own thresholds: its own group, so 2 insights alarms each.
        thresholds: { warnDays: 10 + i },
      })),
    };
    expect(planConfig(validateConfig(many)).estimate.insightsAlarms).toBe(60);
    expect(() => planConfig(validateConfig({ ...many, alarms: { mode: 'fleet', insightsQuota: 50 } }))).toThrow(
      /needs 60 Metrics Insights alarms, more than the account's quota of 50 per region; ask AWS for a higher quota and set alarms.insightsQuota, or set metrics: aggregate/,
    );
  });

  it('auto picks per-target alarms for a small fleet and fleet alarms once they would be many; per-target refuses what cannot fit a stack', () => {
    const relays = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `r${i}`, host: `r${i}.example.com`, port: 587 }));
    // 62 endpoints × (smtp Success + tls Success, certificate, DH) = 248 alarms: still per target.
    expect(plan({ targets: relays(62) }).alarmMode).toBe('per-target');
    expect(plan({ targets: relays(63) }).alarmMode).toBe('fleet');
    // The issue's config: 150 SMTP targets and 50 domains.
    const domains = Array.from({ length: 50 }, (_, i) => `d${i}.example.org`);
    const big = plan({ targets: relays(150), domains });
    expect(big.alarmMode).toBe('fleet');
    expect(big.estimate.resources).toBeLessThan(100);
    expect(() => plan({ alarms: { mode: 'per-target' }, targets: relays(150), domains })).toThrow(
      /alarms.mode per-target makes 700 alarms, about \d+ resources, more than the 500 a CloudFormation stack holds; set alarms.mode to fleet \(or auto\)/,
    );
  });

  it('cuts shards by work, input size and (fleet) half a group, each shard carrying its metric settings', () => {
    const p = plan({
      alarms: { mode: 'fleet' },
      targets: Array.from({ length: 450 }, (_, i) => ({ name: `r${i}`, host: `r${i}.example.com`, port: 587 })),
    });
    const smtp = p.shards.filter((s) => s.check === 'smtp');
    expect(smtp.map((s) => s.specs.length)).toEqual([200, 200, 50]);
    expect(smtp.map((s) => s.metrics?.group)).toEqual(['smtp-5m-g1', 'smtp-5m-g1', 'smtp-5m-g2']);
    expect(p.alarmGroups.filter((g) => g.check === 'smtp').map((g) => g.targets)).toEqual([400, 50]);
    // The certificate alarm is on the 5-minute smtp check, so tls does not publish CertDaysToExpiry.
    expect(p.shards.find((s) => s.check === 'tls')!.metrics).toMatchObject({ omit: ['CertDaysToExpiry'] });
    expect(smtp[0]!.metrics).toEqual({ mode: 'default', interval: '5m', group: 'smtp-5m-g1' });
    expect(p.capacity.tls).toEqual({ concurrency: 8, memoryMb: 1024 });
    expect(p.shards.find((s) => s.check === 'tls')!.concurrency).toBe(8);
    expect(smtp[0]!.concurrency).toBe(16);
  });

  it('fleet mode leaves ses-account on classic alarms: its metrics keep (Check, Target)', () => {
    const p = plan({ alarms: { mode: 'fleet' }, targets: [{ ses: { region: 'eu-west-1', account: true } }] });
    const account = p.shards.find((s) => s.check === 'ses-account')!;
    expect(account.metrics).toEqual({ mode: 'default', interval: '6h' });
    expect(p.alarmGroups.some((g) => g.check === 'ses-account')).toBe(false);
    expect(p.estimate.perTargetAlarms).toBe(2);
  });
});
