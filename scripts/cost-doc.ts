/**
 * Rewrites the README's cost table from the cost model: `npx tsx scripts/cost-doc.ts --write`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withCostTable } from '../lib/cost/table.js';

if (process.argv.includes('--write')) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, withCostTable(readFileSync(path, 'utf8')));
}
