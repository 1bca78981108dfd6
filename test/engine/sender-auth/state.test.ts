/**
 * Change detection of sender-auth through the real stores, never an object carried between
 * two calls: the CLI's state file (`mailprobe sender-auth --state`) and the probe Lambda's
 * DynamoDB table (dynalite), with the DNS zone edited between runs an hour apart.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/engine/context.js';
import { runSenderAuthChecks } from '../../../lambdas/engine/run/sender-auth.js';
import type { ShardEvent } from '../../../lambdas/engine/shard/event.js';
import { createProbeHandler } from '../../../lambdas/handlers/probe.js';
import { cli } from '../../../testkit/cli-in-process.js';
import { startDnsServer, type DnsTestServer, type Zone } from '../../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';
import { KEYS, split255 } from '../../../testkit/sender-auth-zones.js';

/** The domain as it was, and after a week of DNS edits nobody announced. */
const BEFORE: Zone = {
  'corp.example': {
    TXT: ['v=spf1 include:_spf.corp.example -all'],
    MX: [{ priority: 10, exchange: 'mx.corp.example' }],
  },
  '_spf.corp.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  '_dmarc.corp.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@corp.example'] },
  's1._domainkey.corp.example': { TXT: [split255(`v=DKIM1; k=rsa; p=${KEYS.rsa2048}`)] },
  's2._domainkey.corp.example': { TXT: [`v=DKIM1; k=ed25519; p=${KEYS.ed25519}`] },
  'mx.corp.example': { A: ['192.0.2.25'] },
  'mail.vendor.example': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
};
const AFTER: Zone = {
  ...BEFORE,
  'corp.example': {
    TXT: ['v=spf1 include:_spf.corp.example include:mail.vendor.example -all'],
    MX: [{ priority: 10, exchange: 'mx.corp.example' }],
  },
  '_dmarc.corp.example': { TXT: ['v=DMARC1; p=none; rua=mailto:d@corp.example'] },
  's1._domainkey.corp.example': { TXT: [split255(`v=DKIM1; k=rsa; p=${KEYS.rsa2048b}`)] },
  's2._domainkey.corp.example': { TXT: ['v=DKIM1; k=ed25519; p='] },
};

let dns: DnsTestServer;
let dir: string;
beforeAll(async () => {
  dns = await startDnsServer(BEFORE);
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-sa-state-'));
});
afterAll(async () => {
  await dns.close();
  rmSync(dir, { recursive: true, force: true });
});

type Change = { code: string; message: string; before: unknown; after: unknown };
const codesOf = (changes: readonly Change[] | undefined) => (changes ?? []).map((c) => c.code).sort();
const EXPECTED = ['DKIM_KEY_REMOVED', 'DKIM_KEY_ROTATED', 'DMARC_POLICY_WEAKENED', 'SPF_CHANGED'];

describe('sender-auth --state (the CLI state file)', () => {
  it('reports each silent DNS edit once, on the run after it, with the diff', async () => {
    dns.setZone(BEFORE);
    const state = join(dir, 'cli.json');
    const argv = [
      'sender-auth',
      'corp.example',
      '--dkim-selector',
      's1',
      '--dkim-selector',
      's2',
      '--dns-server',
      dns.server,
      '--state',
      state,
      '--json',
    ];
    const first = JSON.parse((await cli(argv)).stdout) as { results: { status: string; changes?: Change[] }[] };
    expect(first.results[0]?.status).toBe('ok');
    expect(first.results[0]?.changes).toEqual([]);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as { targets: Record<string, { state: { facts: unknown } }> };
    expect(saved.targets['sender-auth#corp.example']?.state.facts).toEqual({
      senderAuth: {
        spf: {
          'corp.example': 'v=spf1 include:_spf.corp.example -all',
          '_spf.corp.example': 'v=spf1 ip4:192.0.2.0/24 -all',
        },
        dmarc: { p: 'reject', pct: 100, record: 'v=DMARC1; p=reject; rua=mailto:d@corp.example' },
        dkim: { s1: expect.stringMatching(/^[0-9a-f]{64}$/), s2: expect.stringMatching(/^[0-9a-f]{64}$/) },
      },
    });

    // A resolver failure on the keys is not a removal: nothing is reported, the facts are kept.
    dns.setZone({ ...BEFORE, 's1._domainkey.corp.example': 'SERVFAIL', 's2._domainkey.corp.example': 'SERVFAIL' });
    const flaky = JSON.parse((await cli(argv)).stdout) as { results: { changes?: Change[] }[] };
    expect(flaky.results[0]?.changes).toEqual([]);

    dns.setZone(AFTER);
    const second = JSON.parse((await cli(argv)).stdout) as { results: { changes?: Change[] }[] };
    const changes = second.results[0]?.changes ?? [];
    expect(codesOf(changes)).toEqual(EXPECTED);
    const spf = changes.find((c) => c.code === 'SPF_CHANGED')!;
    expect(spf.message).toContain('+mail.vendor.example "v=spf1 ip4:198.51.100.0/24 -all"');
    expect(spf.message).toContain(
      '~corp.example "v=spf1 include:_spf.corp.example -all" -> "v=spf1 include:_spf.corp.example include:mail.vendor.example -all"',
    );
    expect(changes.find((c) => c.code === 'DMARC_POLICY_WEAKENED')?.message).toBe(
      'The DMARC policy was weakened: p=reject pct=100 -> p=none pct=100.',
    );
    expect(changes.find((c) => c.code === 'DKIM_KEY_REMOVED')?.message).toContain('"s2" was revoked (empty p=)');

    const third = JSON.parse((await cli(argv)).stdout) as { results: { changes?: Change[] }[] };
    expect(third.results[0]?.changes).toEqual([]);
  });
});

describe('the sender-auth Lambda with its DynamoDB state (dynalite), runs an hour apart', () => {
  const cw = mockClient(CloudWatchClient);
  const sns = mockClient(SNSClient);
  let db: RunningDynalite;
  beforeAll(async () => {
    db = await startDynalite();
    await db.createTable('sa-state');
  });
  afterAll(() => db.close());
  beforeEach(() => {
    cw.reset();
    sns.reset();
    cw.on(PutMetricDataCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });

  const shard = (): ShardEvent => ({
    version: 1,
    shard: 'sender-auth-1h-1',
    check: 'sender-auth',
    schedule: 'rate(1 hour)',
    specs: [{ check: 'sender-auth', name: 'corp', domain: 'corp.example', dkimSelectors: ['s1', 's2'] }],
    thresholds: DEFAULT_THRESHOLDS,
    allowPrivate: false,
    concurrency: 4,
    dnsServer: dns.server,
  });

  it('the weakened policy, the new include and the key changes reach the log line and one SNS notice, once', async () => {
    const start = Date.parse('2026-12-01T09:00:00Z');
    let now = start;
    const invoke = async () => {
      const lines: string[] = [];
      const handler = createProbeHandler('sender-auth', runSenderAuthChecks, {
        cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
        sns: new SNSClient({ region: 'eu-west-1' }),
        dynamodb: db.client,
        env: {
          METRIC_NAMESPACE: 'MailProbe',
          STATE_TABLE_NAME: 'sa-state',
          ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
        },
        writeLine: (line) => lines.push(line),
        context: { clock: { now: () => now }, timeoutMs: 10_000 },
        publisher: { sleep: async () => {}, random: () => 0 },
      });
      const summary = await handler(shard());
      const result = lines
        .map((l) => JSON.parse(l) as { check?: string; startedAt?: string; changes?: Change[] })
        .find((l) => l.check === 'sender-auth' && l.startedAt);
      return { summary, result };
    };
    dns.setZone(BEFORE);
    const first = await invoke();
    expect(first.result?.changes).toEqual([]);
    expect(first.result?.startedAt).toBe('2026-12-01T09:00:00.000Z');
    dns.setZone(AFTER);
    now = start + 3600_000;
    const second = await invoke();
    expect(codesOf(second.result?.changes)).toEqual(EXPECTED);
    // The revoked key makes the domain critical at once (a change, not a flap to wait out): one message, with the changes in it.
    expect(second.summary.alerts).toMatchObject({ sent: 1, changes: 4 });
    const notices = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(notices.map((n) => n.Subject)).toEqual([
      expect.stringMatching(/^\[CRITICAL\] sender-auth corp \(corp\.example\)/),
    ]);
    const email = (JSON.parse(notices.at(-1)!.Message!) as Record<string, string>)['email']!;
    expect(email).toContain('DMARC_POLICY_WEAKENED');
    expect(email).toContain('p=reject pct=100 -> p=none pct=100');
    // The posture as facts, beside the findings.
    expect(email).toMatch(/SPF: 2 of 10 DNS lookups, 0 of 2 void lookups/);
    expect(email).toMatch(/DMARC policy: p=none/);
    expect(email).toMatch(/DKIM keys: s1: rsa 2048, s2: revoked/);
    now = start + 2 * 3600_000;
    const third = await invoke();
    expect(third.result?.changes).toEqual([]);
    expect(third.summary.alerts).toMatchObject({ sent: 0, changes: 0 });
    // Success per target, what the alarm reads: ok, then critical twice (the revoked key).
    const success = cw
      .commandCalls(PutMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricData ?? [])
      .filter((d) => d.MetricName === 'Success');
    expect(success.map((d) => [d.Dimensions?.find((x) => x.Name === 'Target')?.Value, d.Value])).toEqual([
      ['corp', 1],
      ['corp', 0],
      ['corp', 0],
    ]);
  });
});
