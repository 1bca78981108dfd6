/**
 * The CLI's lazy dispatch (bin/cli/main.ts): every command has a loader and a --help,
 * --version reads the package's own version, and the user's mistakes are one line, exit 2.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, NON_PROBE_COMMANDS } from '../../bin/cli/args.js';
import { COMMANDS } from '../../bin/cli/main.js';
import { UsageError } from '../../bin/cli/args.js';
import { ConfigError } from '../../lib/config/load.js';
import { PlanError } from '../../lib/config/shard.js';
import { ProbeError, isUserFacing } from '../../lambdas/engine/errors.js';
import { SesPresetError } from '../../lambdas/engine/ses/presets.js';
import { packageVersion } from '../../bin/cli/version.js';
import { cli } from '../../testkit/cli-in-process.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const commands = Object.keys(COMMAND_OPTIONS) as (keyof typeof COMMAND_OPTIONS)[];

describe('mailprobe --version', () => {
  it('prints the package version and the Node version', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await cli([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`mailprobe ${pkg.version} (node ${process.version})\n`);
    }
    expect(packageVersion()).toBe(pkg.version);
  });

  it('says unknown rather than guessing when no package.json named mailprobe is above', () => {
    expect(packageVersion(new URL('file:///'))).toBe('unknown');
  });
});

describe('options a command does not take', () => {
  it('cost --timeout is a usage error, not silently accepted (issue 24)', async () => {
    const run = await cli(['cost', '--timeout', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mailprobe: unknown option --timeout \(see mailprobe cost --help\)\n$/);
  });
});

describe('every command', () => {
  it.each(commands)('%s has a loader that resolves to a runner and a --help of its own', async (command) => {
    const runner = await COMMANDS[command]();
    expect(typeof runner).toBe('function');
    const help = await cli([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.startsWith(`mailprobe ${command}`)).toBe(true);
    expect(help.stdout).toContain('Exit status: 0 ');
    // Probe options are listed for the commands that run checks only (issue 24).
    expect(help.stdout.includes('--timeout MS')).toBe(!NON_PROBE_COMMANDS.has(command));
    if (!NON_PROBE_COMMANDS.has(command)) expect(help.stdout).toContain('Exit status: 0 nothing critical');
  });

  it('has a loader for exactly the commands args.ts parses', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual([...commands].sort());
  });
});

describe('user errors', () => {
  it('are one line on stderr and exit 2, recognised by their userFacing flag without loading their modules', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^mailprobe: unknown command "frobnicate": expected one of smtp, tls, /);
    expect(unknown.stderr.trimEnd().split('\n')).toHaveLength(1);
    const preset = await cli(['ses', 'xx-nowhere-9']);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toMatch(/^mailprobe: .*xx-nowhere-9/);
    // The four kinds the user fixes say so themselves; an engine failure does not.
    const users = [
      new UsageError('u'),
      new ConfigError('c', ['p']),
      new PlanError(['p']),
      new SesPresetError('SES_UNKNOWN_REGION', 'x', 'm'),
    ];
    expect(users.map(isUserFacing)).toEqual([true, true, true, true]);
    expect(isUserFacing(new ProbeError('DNS_ERROR', 'm'))).toBe(false);
  });
});
