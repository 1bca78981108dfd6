import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FINDINGS } from '../../lambdas/engine/findings.js';
import { withTable } from '../../scripts/findings-doc.js';

describe('README findings reference', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('is generated from the catalogue (run `npx tsx scripts/findings-doc.ts --write`)', () => {
    expect(withTable(readme)).toBe(readme);
  });

  it('documents every code with what to do', () => {
    for (const code of Object.keys(FINDINGS)) expect(readme).toContain(`| \`${code}\` |`);
  });
});
