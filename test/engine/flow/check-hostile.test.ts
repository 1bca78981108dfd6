/**
 * The flow check against a hostile path, end to end: the probe sends to a loopback relay
 * that signs the message (mailauth's DKIM signer) and delivers a mangled copy into a real
 * Dovecot — 50 MB appended, a 500-hop Received chain, malformed MIME — or the mailbox is a
 * tiny hostile IMAP server (a 1 GB literal, one byte at a time). Each run ends within its
 * caps and deadline with the finding that says what happened, and the send is kept.
 * (pollImap's own bounds are tested in imap.test.ts, the Received parser's in received.test.ts.)
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FlowCheckSpec } from '../../../lambdas/engine/checks.js';
import { runFlowCheck, type FlowResult } from '../../../lambdas/engine/flow/check.js';
import { readFlowLog } from '../../../lambdas/engine/flow/log-store.js';
import { MAX_HOPS } from '../../../lambdas/engine/flow/received.js';
import { DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { createContext, type ProbeContext } from '../../../lambdas/engine/context.js';
import { FileStateStore } from '../../../lambdas/engine/state/file.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';
import { createTestPki, type TestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';
import { startDovecot, type DovecotInstance } from '../../../testkit/system/dovecot.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';

const requirements = systemRequirements('dovecot', 'doveadm');

const DOMAIN = 'send.example.test';
const FROM = `probe@${DOMAIN}`;
const PASSWORD_ENV = 'MAILPROBE_FLOW_HOSTILE_PASSWORD';
const key = Buffer.alloc(32, 11);
const TLS_HOP = (i: number) =>
  `Received: from hop${i}.example.test (hop${i}.example.test [127.0.0.1]) by hop${i + 1}.example.test with ESMTPS (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384) id h${i}; Sat, 05 Dec 2026 14:00:00 +0000`;

const codes = (result: FlowResult) => result.findings.map((f) => f.code).sort();

describe.skipIf(requirements.skip)(requirements.title('flow check on a hostile path'), () => {
  requirements.enforce();

  let pki: TestPki;
  let dovecot: DovecotInstance;
  let dns: DnsTestServer;
  let relay: RunningSmtp;
  let ctx: ProbeContext;
  let stateDir: string;
  let dkimKey: string;
  /** What the relay does with each accepted message; set per test. */
  let deliver: (raw: Buffer) => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    pki = await createTestPki();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    dkimKey = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const p = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    dns = await startDnsServer({
      [DOMAIN]: { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      [`_dmarc.${DOMAIN}`]: { TXT: ['v=DMARC1; p=reject'] },
      [`s1._domainkey.${DOMAIN}`]: { TXT: [[`v=DKIM1; k=rsa; p=`, ...(p.match(/.{1,250}/g) ?? [])]] },
    });
    dovecot = await startDovecot({ tls: pki.credentials() });
    relay = await startSmtpServer({ credentials: pki.credentials(), onMessage: (raw) => deliver(raw) });
    ctx = createContext({ resolver: new DnsResolver({ server: dns.server }), extraCa: [pki.caPem], timeoutMs: 10_000 });
    stateDir = mkdtempSync(join(tmpdir(), 'mailprobe-flow-hostile-'));
  }, 60_000);
  afterAll(async () => {
    await relay?.close();
    await dovecot?.stop();
    await dns?.close();
    if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    deliver = () => Promise.resolve();
  });

  /** The relay signs what it received, as a DKIM-signing MTA would, and stores `shape(signed)`. */
  function relayDelivers(shape: (signed: Buffer) => Buffer | string): void {
    deliver = async (raw) => {
      const signer = { signingDomain: DOMAIN, selector: 's1', privateKey: dkimKey, canonicalization: 'relaxed/simple' };
      // mailauth 4.13 reads `signatureData` only; its type file still wants the fields at the top.
      const { signatures, errors } = await dkimSign(raw, { ...signer, signatureData: [signer] });
      if (errors.length > 0 || !signatures.startsWith('DKIM-Signature:')) throw errors[0] ?? new Error('not signed');
      dovecot.save(shape(Buffer.concat([Buffer.from(signatures), raw])));
    };
  }

  function spec(name: string, imapPort = dovecot.imapsPort): FlowCheckSpec {
    return {
      check: 'flow',
      name,
      via: { host: '127.0.0.1', port: relay.port, tls: 'starttls' },
      from: FROM,
      to: 'probe@in.example.test',
      receive: {
        imap: { host: '127.0.0.1', port: imapPort, auth: { username: dovecot.user, passwordEnv: PASSWORD_ENV } },
      },
      warnSeconds: 60,
      maxSeconds: 120,
      waitSeconds: 10,
    };
  }

  const run = (flow: FlowCheckSpec) =>
    runFlowCheck(flow, ctx, {
      key,
      store: new FileStateStore(join(stateDir, 'state.json')),
      credentials: { env: { [PASSWORD_ENV]: dovecot.password } },
      pollIntervalMs: 200,
    });

  it('counts a message grown to 50 MB as arrived, reads only the cap, and says its verdicts are missing', async () => {
    relayDelivers((signed) =>
      Buffer.concat([signed, Buffer.alloc(50 * 1024 * 1024, 'all work and no play makes jack a dull boy\r\n')]),
    );
    const result = await run(spec('big'));
    expect(codes(result)).toEqual(['FLOW_MESSAGE_UNVERIFIABLE']);
    expect(result.findings[0]!.message).toMatch(/larger than the read cap/);
    expect(result.delivered).toBe(1);
    expect(result.latest!.truncated).toBe(true);
    expect(result.latest!.verdicts).toEqual({});
  }, 90_000);

  it('reads the newest hops of a 500-hop Received chain and still verifies the signature', async () => {
    relayDelivers((signed) =>
      [...Array.from({ length: 500 }, (_, i) => TLS_HOP(499 - i)), signed.toString('utf8')].join('\r\n'),
    );
    const result = await run(spec('looped'));
    expect(codes(result)).toEqual(['FLOW_MESSAGE_UNVERIFIABLE']);
    expect(result.findings[0]!.message).toMatch(/Received chain has 500 fields; only the newest 100 were read/);
    expect(result.latest!.hops).toHaveLength(MAX_HOPS);
    expect(result.latest!.hopsDropped).toBe(500 - MAX_HOPS);
    expect(result.latest!.verdicts).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass' });
  });

  it('survives malformed MIME (no boundary, NUL bytes, bare CR/LF, a 100 KB header line) with exact verdicts', async () => {
    relayDelivers((signed) => {
      const text = signed.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = text
        .slice(0, split)
        .replace(/Content-Type: text\/plain; charset=us-ascii/, 'Content-Type: multipart/mixed; boundary=');
      return [
        TLS_HOP(0),
        head,
        `X-Garbage: ${'\u0000\r'.repeat(10)}${'x'.repeat(100 * 1024)}`,
        'this line has no colon and is not a header',
        '',
        '--never-declared\r\nContent-Type: text/plain\r\n\nbare LF part\r--',
      ].join('\r\n');
    });
    const result = await run(spec('malformed'));
    expect(result.delivered).toBe(1);
    expect(result.arrivals).toHaveLength(1);
    // The signature covers the original body, which the relay replaced: DKIM fails, SPF carries DMARC.
    expect(codes(result)).toEqual(['FLOW_DKIM_FAIL']);
    expect(result.latest!.verdicts).toMatchObject({ spf: 'pass', dmarc: 'pass' });
  });

  describe('a hostile IMAP server', () => {
    let server: tls.Server | undefined;
    const timers: NodeJS.Timeout[] = [];
    afterAll(() => {
      timers.forEach(clearInterval);
      server?.close();
    });

    async function hostileImap(script: (socket: tls.TLSSocket) => void): Promise<number> {
      server?.close();
      server = tls.createServer(pki.credentials(), (socket) => {
        socket.on('error', () => undefined);
        script(socket);
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return (server.address() as net.AddressInfo).port;
    }

    async function expectReceiveFailedAndKept(name: string, port: number) {
      const result = await run({ ...spec(name, port), timeoutMs: 2_000 });
      expect(codes(result)).toEqual(['FLOW_RECEIVE_FAILED']);
      expect(result.send.accepted).toBe(true);
      // Not lost, not delivered: whether it arrived is unknown, so the send waits for the next run.
      expect(result.waiting).toBe(1);
      const log = await readFlowLog(new FileStateStore(join(stateDir, 'state.json')), name);
      expect(log.pending.map((p) => p.token)).toEqual([result.send.token]);
      return result;
    }

    it('announcing a 1 GB literal: refused at the announcement, FLOW_RECEIVE_FAILED', async () => {
      const port = await hostileImap((socket) => {
        socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
        socket.once('data', () => {
          socket.write('* CAPABILITY {1073741824}\r\n');
          socket.write('x'.repeat(4096));
        });
      });
      const result = await expectReceiveFailedAndKept('literal', port);
      expect(result.findings[0]!.message).toMatch(/IMAP/);
    });

    it('dripping one byte at a time: cut at the deadline, FLOW_RECEIVE_FAILED', async () => {
      const port = await hostileImap((socket) => {
        const greeting = '* OK ready, very slowly\r\n';
        let i = 0;
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write(greeting[i % greeting.length]!);
          i += 1;
        }, 50);
        timers.push(timer);
      });
      const result = await expectReceiveFailedAndKept('drip', port);
      expect(result.findings[0]!.message).toMatch(/deadline|timed? ?out/i);
    });
  });
});
