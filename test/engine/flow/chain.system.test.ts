/**
 * The flow check end to end against mail servers we did not write: Debian's Postfix as the
 * submission relay (AUTH over STARTTLS, OpenDKIM signing), a second Postfix as the MX, and
 * Dovecot (Maildir, IMAP over TLS) as the mailbox; SPF, DKIM and DMARC records in a loopback
 * DNS zone that the probe's own verifier (mailauth) queries. Each scenario is one chain
 * configuration and asserts its exact finding codes; the settle step is proven across two
 * runs 15 minutes apart through the real state stores (the state file and dynalite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowCheckSpec } from '../../../lambdas/engine/checks.js';
import type { Clock } from '../../../lambdas/engine/deadline.js';
import { runFlowCheck, type FlowResult } from '../../../lambdas/engine/flow/check.js';
import { readFlowLog } from '../../../lambdas/engine/flow/log-store.js';
import { createToken, TOKEN_HEADER } from '../../../lambdas/engine/flow/token.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { buildTestMessage } from '../../../lambdas/engine/smtp/message.js';
import { DynamoStateStore } from '../../../lambdas/engine/state/dynamodb.js';
import { FileStateStore } from '../../../lambdas/engine/state/file.js';
import type { StateStore } from '../../../lambdas/engine/state/types.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startMailChain, type ChainOptions, type MailChain } from '../../../testkit/system/mail-chain.js';
import { startOpendkim, type OpendkimInstance } from '../../../testkit/system/opendkim.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';

const requirements = systemRequirements('postfix', 'dovecot', 'doveadm', 'opendkim');

const SENDER_DOMAIN = 'send.example.test';
const FROM = `probe@${SENDER_DOMAIN}`;
const PASSWORD_ENV = 'MAILPROBE_FLOW_TEST_PASSWORD';
const key = Buffer.alloc(32, 7);

/** Waits for something the daemons do on their own schedule (no sleeping a fixed time in assertions). */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const codes = (result: FlowResult) => result.findings.map((f) => f.code).sort();

describe.skipIf(requirements.skip)(requirements.title('system: flow through Postfix, Postfix and Dovecot'), () => {
  requirements.enforce();

  let pki: TestPki;
  let dkim: OpendkimInstance;
  let dns: DnsTestServer;
  let ctx: ProbeContext;

  beforeAll(async () => {
    pki = await createTestPki();
    dkim = await startOpendkim({ domain: SENDER_DOMAIN });
    dns = await startDnsServer({
      [SENDER_DOMAIN]: { TXT: [`v=spf1 ip4:127.0.0.1 -all`] },
      [`_dmarc.${SENDER_DOMAIN}`]: { TXT: ['v=DMARC1; p=reject'] },
      [dkim.recordName]: { TXT: [dkim.dnsRecord] },
    });
    ctx = createContext({
      resolver: new DnsResolver({ server: dns.server }),
      extraCa: [pki.caPem],
      timeoutMs: 15_000,
    });
  }, 60_000);
  afterAll(async () => {
    await dns?.close();
    await dkim?.stop();
  });

  function spec(chain: MailChain, name: string, over: Partial<FlowCheckSpec> = {}): FlowCheckSpec {
    const auth = { username: chain.dovecot.user, passwordEnv: PASSWORD_ENV };
    return {
      check: 'flow',
      name,
      via: { host: '127.0.0.1', port: chain.submitPort, tls: 'starttls', auth },
      from: FROM,
      to: chain.recipient,
      receive: { imap: { host: '127.0.0.1', port: chain.dovecot.imapsPort, auth } },
      warnSeconds: 60,
      maxSeconds: 120,
      waitSeconds: 30,
      ...over,
    };
  }

  function deps(chain: MailChain, store: StateStore) {
    return {
      key,
      store,
      credentials: { env: { [PASSWORD_ENV]: chain.dovecot.password } },
      pollIntervalMs: 250,
    };
  }

  /** One chain per scenario, started for its block and stopped after it. */
  function withChain(options: Omit<ChainOptions, 'tls'>): { chain: () => MailChain; store: () => StateStore } {
    let chain: MailChain | undefined;
    let dir: string | undefined;
    let store: StateStore | undefined;
    beforeAll(async () => {
      chain = await startMailChain({ tls: pki.credentials(), milter: dkim.milter, ...options });
      dir = mkdtempSync(join(tmpdir(), 'mailprobe-flow-state-'));
      store = new FileStateStore(join(dir, 'state.json'));
    }, 90_000);
    afterAll(async () => {
      await chain?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });
    return { chain: () => chain!, store: () => store! };
  }

  describe('a healthy path', () => {
    const s = withChain({});

    it('delivers, signed and verified, every hop over TLS; a forged token in the mailbox is ignored', async () => {
      const chain = s.chain();
      // Someone who does not hold the key cannot make a message count as arrived.
      const forged = createToken(Buffer.alloc(32, 8), 'healthy', Date.now());
      chain.dovecot.save(
        buildTestMessage({
          from: FROM,
          to: chain.recipient,
          target: 'forged',
          date: new Date(),
          headers: [[TOKEN_HEADER, forged.value]],
        }).data,
      );
      const progress: number[] = [];
      const result = await runFlowCheck(spec(chain, 'healthy'), ctx, {
        ...deps(chain, s.store()),
        onProgress: (ms) => progress.push(ms),
      });
      expect(result.findings, chain.log()).toEqual([]);
      expect(result.status).toBe('ok');
      expect(result.send.accepted).toBe(true);
      expect(result.delivered).toBe(1);
      expect(result.arrivals).toHaveLength(1);
      const latest = result.latest!;
      expect(latest.token).toBe(result.send.token);
      expect(latest.folder).toBe('inbox');
      expect(result.deliveryMs).toBe(latest.latencyMs);
      expect(latest.hops.map((h) => [h.by, h.transport])).toEqual([
        ['submit.example.test', 'tls'],
        ['mx.example.test', 'tls'],
      ]);
      for (const hop of latest.hops) expect(hop.tlsVersion).toMatch(/^TLSv1\.[23]$/);
      expect(latest.verdicts).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass' });
      expect(result.waiting).toBe(0);
      // The forged message was read and cleaned away with ours; nothing is left to search again.
      expect(chain.dovecot.count('INBOX')).toBe(0);
    });
  });

  describe('a hop in clear text', () => {
    const s = withChain({ mxWithoutTls: true });

    it('reports the MX hop that carried the message without TLS', async () => {
      const result = await runFlowCheck(spec(s.chain(), 'clear'), ctx, deps(s.chain(), s.store()));
      expect(codes(result), s.chain().log()).toEqual(['FLOW_HOP_CLEAR_TEXT']);
      expect(result.latest!.hops.map((h) => [h.by, h.transport])).toEqual([
        ['submit.example.test', 'tls'],
        ['mx.example.test', 'none'],
      ]);
      expect(result.delivered).toBe(1);
    });
  });

  describe('delivered to Junk', () => {
    const s = withChain({ deliverToJunk: true });

    it('finds the message in the folder marked \\Junk and reports it as spam, not as lost', async () => {
      const result = await runFlowCheck(spec(s.chain(), 'junk'), ctx, deps(s.chain(), s.store()));
      expect(codes(result), s.chain().log()).toEqual(['FLOW_SPAM']);
      expect(result.latest!.folder).toBe('junk');
      expect(result.delivered).toBe(1);
    });
  });

  describe('lost on the way', () => {
    const s = withChain({ mxDiscards: true });

    it('declares the message lost once maxSeconds has passed without it', async () => {
      const result = await runFlowCheck(
        spec(s.chain(), 'lost', { maxSeconds: 2, warnSeconds: 1, waitSeconds: 3 }),
        ctx,
        deps(s.chain(), s.store()),
      );
      expect(codes(result), s.chain().log()).toEqual(['FLOW_NOT_DELIVERED']);
      expect(result.status).toBe('critical');
      expect(result.delivered).toBe(0);
      expect(result.send.accepted).toBe(true);
      expect(result.lost.map((l) => l.token)).toEqual([result.send.token]);
      // The relay's queue id is kept with the loss: where an operator starts looking.
      expect(result.findings[0]!.message).toMatch(/the relay had answered: 250/);
    });
  });

  describe('a body changed in transit', () => {
    // The MX rewrites a line of the signed body (as a footer-adding list or scanner would).
    const s = withChain({ mxBodyRewrite: [[/^It needs no action/, 'It needs some action and cannot be deleted.']] });

    it("fails DKIM on the probe's own verification while SPF and DMARC (aligned SPF) still pass", async () => {
      const result = await runFlowCheck(spec(s.chain(), 'altered'), ctx, deps(s.chain(), s.store()));
      expect(codes(result), s.chain().log()).toEqual(['FLOW_DKIM_FAIL']);
      const { verdicts } = result.latest!;
      expect(verdicts.spf).toBe('pass');
      expect(verdicts.dmarc).toBe('pass');
      // mailauth's word for a body hash mismatch (RFC 6376 §6.1.3 leaves the name to the verifier).
      expect(verdicts.dkim).toBe('neutral');
      expect(result.findings[0]!.message).toMatch(/^DKIM neutral: body hash did not verify \(checked by the probe\)/);
    });
  });

  describe('settling across runs 15 minutes apart', () => {
    const s = withChain({ holdOnSubmit: true });
    const QUARTER_HOUR = 15 * 60_000;
    /** The scheduled runs' clocks: run 1 a quarter of an hour before run 2 (now). */
    const clockAt = (offsetMs: number): Clock => ({ now: () => Date.now() - offsetMs });
    let db: RunningDynalite | undefined;
    let stateDir: string | undefined;
    let delivered = 0;

    beforeAll(async () => {
      db = await startDynalite();
      await db.createTable('flow-state');
      stateDir = mkdtempSync(join(tmpdir(), 'mailprobe-flow-settle-'));
    });
    afterAll(async () => {
      await db?.close();
      if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
    });

    async function twoRuns(name: string, store: () => StateStore, over: Partial<FlowCheckSpec>) {
      const chain = s.chain();
      const flow = spec(chain, name, { waitSeconds: 0, ...over });
      // Run 1: the relay holds the message, so the run ends with it pending.
      const run1 = await runFlowCheck(flow, { ...ctx, clock: clockAt(QUARTER_HOUR) }, deps(chain, store()));
      expect(run1.findings, chain.log()).toEqual([]);
      expect(run1.waiting).toBe(1);
      expect(run1.arrivals).toEqual([]);
      // Between the runs the queue is released and the message reaches the mailbox.
      chain.release();
      delivered += 1;
      await waitFor('the released message in the mailbox', () => chain.dovecot.count('INBOX') >= delivered);
      // Run 2 starts from what the store holds (a fresh store object), not from run 1's memory.
      const run2 = await runFlowCheck(flow, { ...ctx, clock: clockAt(0) }, deps(chain, store()));
      const log = await readFlowLog(store(), name);
      return { run1, run2, log };
    }

    function expectSettled(run1: FlowResult, run2: FlowResult, log: Awaited<ReturnType<typeof readFlowLog>>) {
      expect(run2.arrivals.map((a) => a.token)).toEqual([run1.send.token]);
      const latency = run2.latest!.latencyMs;
      // Sent on run 1's clock, stored by Dovecot at the real time: a quarter of an hour and the delivery.
      expect(latency).toBeGreaterThanOrEqual(QUARTER_HOUR - 1_000);
      expect(latency).toBeLessThan(QUARTER_HOUR + 120_000);
      expect(run2.delivered).toBe(1);
      // Run 2's own message is held in turn: pending, settled by the run after.
      expect(run2.waiting).toBe(1);
      expect(log.pending.map((p) => p.token)).toEqual([run2.send.token]);
      expect(log.latenciesMs).toEqual([latency]);
    }

    it('through the state file: the message from run 1 settles as delivered in run 2', async () => {
      const path = join(stateDir!, 'state.json');
      const { run1, run2, log } = await twoRuns('settle-file', () => new FileStateStore(path), {
        warnSeconds: 1_200,
        maxSeconds: 1_800,
      });
      expect(codes(run2), s.chain().log()).toEqual([]);
      expectSettled(run1, run2, log);
    });

    it('through DynamoDB (dynalite): the same, and late past warnSeconds (FLOW_DELAYED)', async () => {
      const store = () =>
        new DynamoStateStore({ client: db!.client, tableName: 'flow-state', clock: { now: () => Date.now() } });
      const { run1, run2, log } = await twoRuns('settle-dynamo', store, { warnSeconds: 120, maxSeconds: 1_800 });
      expect(codes(run2), s.chain().log()).toEqual(['FLOW_DELAYED']);
      expect(run2.status).toBe('warning');
      expectSettled(run1, run2, log);
    });
  });
});
