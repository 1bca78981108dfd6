/** The CLI's JSON state file: versions like the table, atomic replacement, bad files refused. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore, StateFileError } from '../../../lambdas/engine/state/file.js';
import { keyId, type TargetState } from '../../../lambdas/engine/state/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-state-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = { check: 'tls', target: 'relay' };
const state = (status: TargetState['status']): TargetState => ({
  check: 'tls',
  target: 'relay',
  status,
  since: 1,
  updatedAt: 2,
  runs: [{ at: 2, status, codes: 0 }],
});

describe('FileStateStore', () => {
  it('versions each target: a writer from an old version loses, as in DynamoDB', async () => {
    const path = join(dir, 'versions.json');
    const a = new FileStateStore(path);
    const b = new FileStateStore(path);
    expect(await a.save([{ key, expected: 'absent', state: state('ok') }])).toEqual([{ kind: 'saved', version: 1 }]);
    expect(await b.save([{ key, expected: 'absent', state: state('critical') }])).toEqual([{ kind: 'conflict' }]);
    const loaded = await b.load([key]);
    expect(loaded.states.get(keyId(key))).toEqual({ version: 1, state: state('ok') });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('treats one unreadable target as no history and keeps the others', async () => {
    const path = join(dir, 'corrupt.json');
    writeFileSync(
      path,
      JSON.stringify({
        kind: 'mailprobe-state',
        schema: 1,
        targets: { 'tls#relay': { version: 3, state: { check: 'tls', target: 'relay', status: 'on fire' } } },
      }),
    );
    const loaded = await new FileStateStore(path).load([key]);
    expect(loaded.corrupt).toEqual([{ key, reason: 'status must be ok, warning or critical' }]);
    expect(loaded.states.get(keyId(key))).toEqual({ version: 3 });
  });

  it('refuses a file that is not a state file, naming it, and never writes it', () => {
    const path = join(dir, 'package.json');
    writeFileSync(path, '{"name": "not-state"}');
    expect(() => new FileStateStore(path)).toThrowError(StateFileError);
    expect(() => new FileStateStore(path)).toThrowError(path);
    expect(readFileSync(path, 'utf8')).toBe('{"name": "not-state"}');
  });

  it('reports a write into a missing directory as failed, without throwing', async () => {
    const store = new FileStateStore(join(dir, 'no-such-dir', 's.json'));
    const [out] = await store.save([{ key, expected: 'absent', state: state('ok') }]);
    expect(out).toMatchObject({ kind: 'failed', error: expect.stringContaining('cannot write it') });
  });
});
