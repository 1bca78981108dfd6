/**
 * Writes schema/mailprobe.config.schema.json from the zod schema, so editors complete
 * and check the config file with the very rules `cdk deploy` and `mailprobe run` apply.
 * `npx tsx scripts/gen-schema.ts` rewrites it; `--check` exits 1 when it is stale
 * (test/lib/config/load.test.ts runs the same comparison).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { ConfigSchema } from '../lib/config/schema.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../schema/mailprobe.config.schema.json', import.meta.url));

/** Formatted with the repository's Prettier settings, so `prettier --check .` accepts the committed file. */
export async function renderJsonSchema(): Promise<string> {
  const schema = z.toJSONSchema(ConfigSchema, { target: 'draft-2020-12', io: 'input' });
  // No $id: the file is referenced by path (`# yaml-language-server: $schema=./schema/…` or `"$schema"` in JSON).
  const doc = { ...schema, title: 'mailprobe configuration' };
  const options = (await resolveConfig(SCHEMA_PATH)) ?? {};
  return format(JSON.stringify(doc), { ...options, parser: 'json' });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rendered = await renderJsonSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(SCHEMA_PATH, 'utf8');
    if (current !== rendered) {
      console.error(`${SCHEMA_PATH} is out of date: run npx tsx scripts/gen-schema.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_PATH, rendered);
    console.log(`wrote ${SCHEMA_PATH}`);
  }
}
