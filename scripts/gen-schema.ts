/**
 * Writes schema/mailprobe.config.schema.json from the config's zod schema, so editors
 * complete and check the config file with the very rules `cdk deploy` and `mailprobe run`
 * apply, and schema/mailprobe.result.schema.json from the result contract (lib/result-schema.ts).
 * `npx tsx scripts/gen-schema.ts` rewrites them; `--check` exits 1 when one is stale
 * (test/lib/config/load.test.ts and test/lib/result-schema.test.ts run the same comparison).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { ConfigSchema } from '../lib/config/schema.js';
import { ResultDocumentSchema } from '../lib/result-schema.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../schema/mailprobe.config.schema.json', import.meta.url));
export const RESULT_SCHEMA_PATH = fileURLToPath(new URL('../schema/mailprobe.result.schema.json', import.meta.url));

/** Formatted with the repository's Prettier settings, so `prettier --check .` accepts the committed file. */
export async function renderJsonSchema(): Promise<string> {
  const schema = z.toJSONSchema(ConfigSchema, { target: 'draft-2020-12', io: 'input' });
  // No $id: the file is referenced by path (`# yaml-language-server: $schema=./schema/…` or `"$schema"` in JSON).
  const doc = { ...schema, title: 'mailprobe configuration' };
  const options = (await resolveConfig(SCHEMA_PATH)) ?? {};
  return format(JSON.stringify(doc), { ...options, parser: 'json' });
}

/** The result contract: what `--json` prints and what each Lambda log line holds. */
export async function renderResultJsonSchema(): Promise<string> {
  const schema = z.toJSONSchema(ResultDocumentSchema, { target: 'draft-2020-12', io: 'output' });
  const doc = { ...schema, title: 'mailprobe results' };
  const options = (await resolveConfig(RESULT_SCHEMA_PATH)) ?? {};
  return format(JSON.stringify(doc), { ...options, parser: 'json' });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, rendered] of [
    [SCHEMA_PATH, await renderJsonSchema()],
    [RESULT_SCHEMA_PATH, await renderResultJsonSchema()],
  ] as const) {
    if (process.argv.includes('--check')) {
      const current = readFileSync(path, 'utf8');
      if (current !== rendered) {
        console.error(`${path} is out of date: run npx tsx scripts/gen-schema.ts`);
        process.exit(1);
      }
    } else {
      writeFileSync(path, rendered);
      console.log(`wrote ${path}`);
    }
  }
}
