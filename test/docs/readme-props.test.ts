/**
 * The README's props table of `MailProbes` lists every prop the construct takes, so a new
 * prop cannot ship undocumented (issue #24: "the README documents every new flag and prop").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const source = readFileSync(new URL('../../lib/mail-probes.ts', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function propsOf(interfaceName: string): string[] {
  const start = source.indexOf(`export interface ${interfaceName} {`);
  expect(start).toBeGreaterThanOrEqual(0);
  const body = source.slice(start, source.indexOf('\n}\n', start));
  return [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]!);
}

describe('README: Use the construct in your own app', () => {
  it('has a row for every MailProbesProps prop', () => {
    const props = propsOf('MailProbesProps');
    expect(props.length).toBeGreaterThan(20);
    const section = readme.slice(readme.indexOf('### Props'), readme.indexOf('## Set up and test'));
    const missing = props.filter((p) => !section.includes(`| \`${p}\` |`));
    expect(missing).toEqual([]);
  });

  it('documents alerting.format in the configuration reference', () => {
    const section = readme.slice(readme.indexOf('## Configuration reference'), readme.indexOf('## Metrics and alarms'));
    expect(section).toMatch(/\| `alerting\.format` \| `text` \\\| `chatbot`/);
  });
});
