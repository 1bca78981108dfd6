/**
 * The shard loader: a reference resolves to the file synth wrote, and anything that is not
 * exactly that file (another hash, a truncated or grown file, a path out of the folder, a
 * missing layer) fails the invocation instead of probing the wrong targets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clearShardCache,
  loadShardEvent,
  MAX_SHARD_ARTIFACT_BYTES,
  ShardArtifactError,
  shardArtifact,
} from '../../../lambdas/engine/shard/artifact.js';

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-shard-artifact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => clearShardCache());

const shard = (id: string, hosts: string[]) => ({
  version: 1,
  shard: id,
  check: 'smtp',
  specs: hosts.map((host) => ({ check: 'smtp', host, port: 25 })),
});

function write(s: { shard: string; check: string }) {
  const { body, reference } = shardArtifact(s);
  writeFileSync(join(dir, `${s.shard}.json`), body);
  return reference;
}

describe('loadShardEvent', () => {
  it('resolves a reference to its shard, and passes an inline shard through', async () => {
    const a = shard('smtp-5m-1', ['a.example', 'b.example']);
    const ref = write(a);
    expect(JSON.stringify(ref)).not.toContain('a.example');
    expect(await loadShardEvent(ref, { dir })).toEqual(a);
    expect(await loadShardEvent(a, { dir })).toBe(a);
  });

  it('refuses a file whose content is not the one the schedule was deployed with', async () => {
    const ref = write(shard('smtp-5m-2', ['old.example']));
    // Same length, other targets: only the hash tells them apart.
    writeFileSync(join(dir, 'smtp-5m-2.json'), JSON.stringify(shard('smtp-5m-2', ['new.example'])));
    await expect(loadShardEvent(ref, { dir })).rejects.toThrow(/SHA-256 .* the schedule expects/);
  });

  it('refuses a longer or a shorter file without trusting its length', async () => {
    const ref = write(shard('smtp-5m-3', ['x.example']));
    writeFileSync(join(dir, 'smtp-5m-3.json'), 'x'.repeat(ref.artifact.bytes * 100));
    await expect(loadShardEvent(ref, { dir })).rejects.toThrow(/longer than/);
    writeFileSync(join(dir, 'smtp-5m-3.json'), '{}');
    await expect(loadShardEvent(ref, { dir })).rejects.toThrow(/shorter than/);
  });

  it('refuses a file that hashes right but is another shard', async () => {
    const other = shard('smtp-5m-4', ['y.example']);
    const { body, reference } = shardArtifact(other);
    writeFileSync(join(dir, 'smtp-5m-5.json'), body);
    await expect(loadShardEvent({ ...reference, shard: 'smtp-5m-5' }, { dir })).rejects.toThrow(/holds another shard/);
    await expect(loadShardEvent({ ...reference, check: 'tls' }, { dir })).rejects.toThrow(ShardArtifactError);
  });

  it('refuses references that leave the folder, bad hashes and sizes, and a missing layer', async () => {
    const ref = write(shard('smtp-5m-6', ['z.example']));
    for (const bad of ['../etc/passwd', 'a/b', '', '.hidden', 'x'.repeat(200)]) {
      await expect(loadShardEvent({ ...ref, shard: bad }, { dir })).rejects.toThrow(/not a file name/);
    }
    await expect(loadShardEvent({ ...ref, artifact: { ...ref.artifact, sha256: 'AB' } }, { dir })).rejects.toThrow(
      /64 lowercase hex/,
    );
    for (const bytes of [MAX_SHARD_ARTIFACT_BYTES + 1, -1, 1.5, '10']) {
      await expect(loadShardEvent({ ...ref, artifact: { ...ref.artifact, bytes } }, { dir })).rejects.toThrow(
        /artifact.bytes/,
      );
    }
    await expect(loadShardEvent({ ...ref, version: 2 }, { dir })).rejects.toThrow(/version 1/);
    await expect(loadShardEvent(ref, { dir: join(dir, 'absent') })).rejects.toThrow(/no shard layer/);
  });

  it('reads a shard once per warm function, keyed by content', async () => {
    const a = shard('smtp-5m-7', ['warm.example']);
    const ref = write(a);
    expect(await loadShardEvent(ref, { dir })).toEqual(a);
    rmSync(join(dir, 'smtp-5m-7.json'));
    expect(await loadShardEvent(ref, { dir })).toEqual(a);
  });
});
