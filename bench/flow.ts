/**
 * The mail flow: the CLI's end-to-end time against the loopback chain (Postfix submission
 * with OpenDKIM → Postfix MX → Dovecot, as test/cli/flow.test.ts uses), and what one
 * flow every 15 minutes costs a month once deployed (lib/cost/flow.ts).
 *
 * End to end is `mailprobe flow … --imap … --json` from spawn to exit: Node start, the send
 * (STARTTLS, AUTH), Postfix's two hops, the IMAP polls (every 2 s) and the verification
 * (SPF, DKIM, DMARC against a loopback DNS server). The delivery latency the CLI reports is
 * printed apart: the rest is the CLI's own time. Needs postfix, dovecot and opendkim (and
 * root, for Postfix); the cost part runs anywhere.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../lib/config/load.js';
import { planConfig } from '../lib/config/plan.js';
import { flowTargetCosts } from '../lib/cost/flow.js';
import { startDnsServer } from '../testkit/dns-server.js';
import { createTestPki } from '../testkit/pki.js';
import { startMailChain } from '../testkit/system/mail-chain.js';
import { startOpendkim } from '../testkit/system/opendkim.js';
import { systemRequirements } from '../testkit/system/requirements.js';
import { ensureBuiltCli, median, REPO, round, timeCommand } from './tools.js';

const RUNS = Number(process.env.BENCH_FLOW_RUNS ?? 5);
const DOMAIN = 'send.example.test';
const BUILT_CLI = join(REPO, 'dist/cli/mailprobe.mjs');
const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;

/** The monthly cost of one 15-minute flow, per receiving path. */
export function flowMonthlyCost(): Record<string, number> {
  const imap = { imap: { host: 'imap.example.com', auth: { secretArn: ARN('mailbox') } } };
  const flow = { name: 'f', from: 'probe@example.com', to: 'probe@example.net' };
  const targets = [
    { name: 'relay', host: 'relay.example.com', port: 587, auth: { secretArn: ARN('relay') } },
    { ses: { region: 'us-east-1', ports: [587], auth: { secretArn: ARN('ses') } } },
  ];
  const cost = (f: Record<string, unknown>) =>
    flowTargetCosts(planConfig(validateConfig({ targets, flows: [{ ...flow, ...f }] })))[0]!.usd;
  return {
    'relay -> IMAP': cost({ via: 'relay', receive: imap }),
    'relay -> SES receiving': cost({ via: 'relay', receive: { ses: { region: 'us-east-1' } } }),
    'SES sending -> IMAP': cost({ via: 'ses-us-east-1-587', receive: imap }),
  };
}

async function endToEnd(): Promise<void> {
  const requirements = systemRequirements('postfix', 'dovecot', 'doveadm', 'opendkim');
  if (requirements.missing.length > 0) {
    console.log(`flow end to end: skipped, missing ${requirements.missing.join(', ')}`);
    return;
  }
  ensureBuiltCli();
  const pki = await createTestPki();
  const dkim = await startOpendkim({ domain: DOMAIN });
  const dns = await startDnsServer({
    [DOMAIN]: { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    [`_dmarc.${DOMAIN}`]: { TXT: ['v=DMARC1; p=reject'] },
    [dkim.recordName]: { TXT: [dkim.dnsRecord] },
  });
  const chain = await startMailChain({ tls: pki.credentials(), milter: dkim.milter });
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-bench-flow-'));
  try {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caPem);
    const args = [
      BUILT_CLI,
      'flow',
      '--via',
      `127.0.0.1:${chain.submitPort}`,
      '--user',
      chain.dovecot.user,
      '--password-env',
      'PW',
      '--from',
      `probe@${DOMAIN}`,
      '--to',
      chain.recipient,
      '--imap',
      `127.0.0.1:${chain.dovecot.imapsPort}`,
      '--imap-user',
      chain.dovecot.user,
      '--imap-password-env',
      'PW',
      '--ca-file',
      caFile,
      '--dns-server',
      dns.server,
      '--max-wait',
      '60',
      '--json',
    ];
    const totals: number[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const run = await timeCommand('node', args, { env: { PW: chain.dovecot.password, NODE_EXTRA_CA_CERTS: '' } });
      if (run.code !== 0)
        throw new Error(`mailprobe flow exited ${run.code}: ${run.stderr}${run.stdout}\n${chain.log()}`);
      const result = (JSON.parse(run.stdout) as { results: { deliveryMs?: number }[] }).results[0];
      totals.push(run.ms);
      latencies.push(result?.deliveryMs ?? Number.NaN);
    }
    const figures = {
      runs: RUNS,
      endToEndMs: round(median(totals)),
      deliveryMs: round(median(latencies)),
      allEndToEndMs: totals.map((t) => round(t)),
    };
    console.log(JSON.stringify({ bench: 'flow-end-to-end', ...figures }));
    console.log(
      `flow: mailprobe flow end to end (send, 2 Postfix hops, IMAP, verify) median ${figures.endToEndMs} ms over ${RUNS} runs; the chain's own delivery latency median ${figures.deliveryMs} ms (IMAP INTERNALDATE: whole seconds)`,
    );
  } finally {
    await chain.stop();
    await dkim.stop();
    await dns.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const costs = flowMonthlyCost();
  console.log(JSON.stringify({ bench: 'flow-cost', perMonthUsd: costs }));
  for (const [path, usd] of Object.entries(costs)) {
    console.log(`flow: one flow every 15 minutes (${path}) costs $${usd.toFixed(2)} a month (us-east-1 list prices)`);
  }
  await endToEnd();
}
