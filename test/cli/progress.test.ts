/**
 * `mailprobe run`'s live progress (issue 24): on a terminal each result is printed as it
 * completes with a status line naming the check running longest; in a pipe nothing changes.
 * The terminal is a real pseudo-terminal (util-linux `script`), the CLI a real process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Progress } from '../../bin/cli/progress.js';
import { finding } from '../../lambdas/engine/findings.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import {
  startScriptedSmtp,
  startSmtpServer,
  type RunningScripted,
  type RunningSmtp,
} from '../../testkit/smtp-servers.js';

const BIN = fileURLToPath(new URL('../../bin/mailprobe.mjs', import.meta.url));
const hasScript = await new Promise<boolean>((resolve) => execFile('script', ['--version'], (err) => resolve(!err)));

describe('Progress', () => {
  it('prints each result as it completes and names the slowest running check', () => {
    let out = '';
    let now = 1_000;
    const progress = new Progress(
      { write: (t: string) => (out += t), isTTY: true, columns: 200 },
      2,
      () => now,
      60_000,
    );
    progress.onStart({ check: 'smtp', name: 'tarpit', host: '127.0.0.1', port: 2525 }, 0);
    now += 100;
    progress.onStart({ check: 'smtp', name: 'good', host: '127.0.0.1', port: 2526 }, 1);
    now += 48;
    progress.onResult(
      {
        check: 'smtp',
        target: '127.0.0.1:2526',
        name: 'good',
        status: 'ok',
        startedAt: '',
        durationMs: 48,
        findings: [],
      },
      1,
    );
    now += 9_852;
    expect(progress.statusLine()).toBe('1/2 done; running 1: slowest smtp tarpit (10.0 s)');
    progress.onResult(
      {
        check: 'smtp',
        target: '127.0.0.1:2525',
        name: 'tarpit',
        status: 'critical',
        startedAt: '',
        durationMs: 10_000,
        findings: [finding('GREETING_TIMEOUT', 'no greeting')],
      },
      0,
    );
    progress.finish();
    expect(out).toContain('OK    smtp good  48 ms\n');
    expect(out).toContain('CRIT  smtp tarpit  10000 ms  GREETING_TIMEOUT\n');
    expect(out.indexOf('smtp good')).toBeLessThan(out.indexOf('smtp tarpit  10000'));
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });

  it('is off for a pipe', () => {
    expect(Progress.for({ write: () => true }, 3)).toBeUndefined();
    expect(Progress.for({ write: () => true, isTTY: true }, 0)).toBeUndefined();
  });
});

describe.skipIf(!hasScript)('mailprobe run in a pseudo-terminal', () => {
  let pki: TestPki;
  let good: RunningSmtp;
  let tarpit: RunningScripted;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    pki = await createTestPki();
    good = await startSmtpServer({ credentials: pki.credentials() });
    tarpit = await startScriptedSmtp({ greeting: undefined });
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-progress-'));
    writeFileSync(join(dir, 'ca.pem'), pki.caPem);
    config = join(dir, 'mailprobe.config.yaml');
    writeFileSync(
      config,
      [
        'defaults:',
        '  timeoutMs: 4000',
        'targets:',
        `  - { name: tarpit, host: 127.0.0.1, port: ${tarpit.port}, tls: starttls, checks: [smtp] }`,
        `  - { name: good, host: 127.0.0.1, port: ${good.port}, tls: starttls, checks: [smtp] }`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await Promise.all([good.close(), tarpit.close()]);
  });

  const runIn = (terminal: boolean): Promise<string> =>
    new Promise((resolve) => {
      const command = `${process.execPath} ${BIN} run --config ${config} --ca-file ${join(dir, 'ca.pem')}`;
      const [file, args] = terminal
        ? (['script', ['-qefc', command, '/dev/null']] as const)
        : ([process.execPath, [BIN, 'run', '--config', config, '--ca-file', join(dir, 'ca.pem')]] as const);
      execFile(file, [...args], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (_err, stdout) =>
        resolve(stdout),
      );
    });

  it('shows the good relay at once, the tarpit as still running, then the same final table', async () => {
    const tty = await runIn(true);
    const lines = tty.split(/\r?\n/);
    const goodLine = lines.findIndex((l) => /OK {4}smtp good {2}\d+ ms/.test(l));
    const tarpitLine = lines.findIndex((l) => /CRIT {2}smtp tarpit {2}\d+ ms {2}GREETING_TIMEOUT/.test(l));
    expect(goodLine).toBeGreaterThanOrEqual(0);
    expect(tarpitLine).toBeGreaterThan(goodLine);
    expect(tty).toMatch(/1\/2 done; running 1: slowest smtp tarpit \(\d+\.\d s\)/);
    expect(tty).toMatch(/2 checks: 1 ok, 0 warning, 1 critical/);
    // In a pipe the output is the table alone, as before.
    const piped = await runIn(false);
    expect(piped).not.toContain('done; running');
    expect(piped).toMatch(/^STATUS\s+CHECK/);
  });
});
