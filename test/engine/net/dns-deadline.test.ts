/**
 * DNS that never answers must not outlive the check's deadline (issue 10 item 18): the
 * resolver's queries are cancelled at the deadline, and the CLI process exits by itself
 * once its result is printed, long before c-ares would give up on its own.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../../lambdas/engine/deadline.js';
import { DnsError, DnsResolver } from '../../../lambdas/engine/net/resolver.js';
import { resolveHost } from '../../../lambdas/engine/smtp/session.js';
import { startDnsServer, type DnsTestServer } from '../../../testkit/dns-server.js';

let dns: DnsTestServer;

beforeAll(async () => {
  dns = await startDnsServer({ 'relay.example.test': 'TIMEOUT' });
});
afterAll(async () => {
  await dns.close();
});

/** Resolves with 'still pending' if `work` has not settled within `ms`. */
function settledWithin<T>(work: Promise<T>, ms: number): Promise<T | 'still pending'> {
  return Promise.race([
    work,
    new Promise<'still pending'>((resolve) => setTimeout(() => resolve('still pending'), ms)),
  ]);
}

describe('cancelling lookups', () => {
  it('an aborted lookup rejects at once, although c-ares alone would wait 3 s × 2 tries', async () => {
    const resolver = new DnsResolver({ server: dns.server, timeoutMs: 3_000, tries: 2 });
    const controller = new AbortController();
    const lookup = resolver.addresses('relay.example.test', { signal: controller.signal });
    const caught = lookup.catch((err: unknown) => err);
    setTimeout(() => controller.abort(), 50);
    const outcome = await settledWithin(caught, 2_500);
    expect(outcome).toBeInstanceOf(DnsError);
    expect((outcome as DnsError).kind).toBe('TIMEOUT');
  });

  it('resolveHost cancels its lookup at the check’s deadline: DNS_ERROR', async () => {
    const resolver = new DnsResolver({ server: dns.server, timeoutMs: 3_000, tries: 2 });
    await expect(resolveHost('relay.example.test', resolver, new Deadline(200))).rejects.toMatchObject({
      code: 'DNS_ERROR',
      stage: 'resolve',
    });
  });
});

describe('the CLI process', () => {
  it.each([
    ['smtp', 'relay.example.test:2525', 'DNS_ERROR'],
    ['tls', 'relay.example.test:465', 'DNS_ERROR'],
    // The DNSSEC validator's own UDP/TCP queries: the MX lookup never answers.
    ['dane', 'relay.example.test', 'DANE_DNS_ERROR'],
  ])(
    '%s exits by itself after --timeout with a silent DNS server, before c-ares’ own 9 s would end',
    async (command, target, code) => {
      // The result is printed at the 1 s deadline. Without cancellation the process then lives
      // on until c-ares gives up (3 s, then 6 s: about 8 s more); the guard, started when the
      // result appears, kills it well before that, so a process that needed it fails the test.
      const guardMs = 5_000;
      const child = spawn(
        process.execPath,
        ['bin/mailprobe.mjs', command, target, '--dns-server', dns.server, '--timeout', '1000', '--json'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let guard: NodeJS.Timeout | undefined;
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        guard ??= setTimeout(() => child.kill('SIGKILL'), guardMs);
      });
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      clearTimeout(guard);
      expect(exit.signal).toBeNull();
      expect(exit.code).toBe(1);
      const doc = JSON.parse(stdout) as { results: { findings: { code: string }[] }[] };
      expect(doc.results[0]?.findings[0]?.code).toBe(code);
    },
    30_000,
  );
});
