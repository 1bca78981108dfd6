/**
 * `mailprobe`: the engine the Lambdas run, from a terminal. Same checks, same results.
 * Exit status: 0 no result critical, 1 some result critical, 2 usage or configuration error.
 *
 * This file loads only the argument parser and the help text. Each command's code (and the
 * SDK clients, YAML and zod behind it) is imported when that command runs: `mailprobe smtp`
 * starts at the speed of `swaks`, not of everything the CLI can do.
 */
import { parseCommandLine, type Command } from './args.js';
import type { CommandRunner, Io } from './io.js';
// Errors the user fixes carry `userFacing` (engine/errors.ts): one line, exit 2, never a stack
// trace, recognised without loading the modules that define them (config loading pulls in YAML and zod).
import { isUserFacing } from '../../lambdas/engine/errors.js';
import { HELP, commandHelp } from './help.js';

export type { CommandRunner, Io } from './io.js';

/**
 * Every command, loaded on demand. A new command is one line here (its module in
 * bin/cli/<command>.ts exporting an async runner), plus its options in args.ts and its
 * text in help.ts.
 */
export const COMMANDS: Record<Command, () => Promise<CommandRunner>> = {
  smtp: async () => (await import('./probe.js')).probeCommand,
  tls: async () => (await import('./probe.js')).probeCommand,
  'mta-sts': async () => (await import('./probe.js')).probeCommand,
  ses: async () => (await import('./probe.js')).probeCommand,
  dane: async () => (await import('./probe.js')).probeCommand,
  'sender-auth': async () => (await import('./probe.js')).probeCommand,
  run: async () => (await import('./run.js')).runCommand,
  'ses-smtp-password': async () => (await import('./ses-smtp-password.js')).sesSmtpPassword,
  cost: async () => (await import('./cost.js')).costCommand,
  plan: async () => (await import('./plan.js')).planCommand,
  tlsrpt: async () => (await import('./tlsrpt.js')).tlsrptCommand,
  flow: async () => (await import('./flow.js')).flowCommand,
};

/** `{"version": 1, "error": {…}}`: what --json prints for a usage or configuration error (exit 2). */
export function usageErrorDocument(err: Error): { version: 1; error: Record<string, unknown> } {
  const problems = (err as { problems?: unknown }).problems;
  return {
    version: 1,
    error: {
      type: err.name,
      message: err.message.split('\n')[0],
      ...(Array.isArray(problems) ? { problems } : {}),
      exitCode: 2,
    },
  };
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      const { packageVersion } = await import('./version.js');
      io.stdout.write(`mailprobe ${packageVersion()} (node ${process.version})\n`);
      return 0;
    }
    const parsed = parseCommandLine(argv);
    if (parsed === 'help') {
      io.stdout.write(HELP);
      return 0;
    }
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(parsed.command));
      return 0;
    }
    const run = await COMMANDS[parsed.command]();
    return await run(parsed, io);
  } catch (err) {
    if (isUserFacing(err)) {
      io.stderr.write(`mailprobe: ${err.message}\n`);
      // A script that asked for JSON gets JSON on stdout even for its own mistake.
      if (argv.includes('--json')) io.stdout.write(`${JSON.stringify(usageErrorDocument(err))}\n`);
      return 2;
    }
    throw err;
  }
}
