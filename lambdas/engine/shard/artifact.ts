/**
 * Shards out of the template (issue #20): the schedule's input is a reference (shard ID,
 * check kind, SHA-256 and length of the shard's JSON), and the shard itself is a file of
 * the function's shard layer (lib/probe-function.ts), mounted read-only at /opt.
 *
 * Why a layer and not S3 or the state table: the read at cold start is a local file of a
 * few kilobytes (no network call, no IAM grant, nothing to fail between two runs); the
 * layer is an asset of its own, so a config change publishes a new layer version without
 * re-bundling the code; and `cdk synth` stays offline.
 *
 * The hash is checked before the specs are used: a stale or mismatched artifact (a layer
 * from another deployment, a truncated file) fails the invocation, which lands in the
 * dead-letter queue, instead of probing the wrong targets.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { MailprobeError } from '../errors.js';

/** Where Lambda extracts the shard layer (/opt is the layers' root). */
export const SHARD_ARTIFACT_DIR = '/opt/mailprobe-shards';
/** The folder inside the layer's asset, so that the files land in SHARD_ARTIFACT_DIR. */
export const SHARD_ARTIFACT_FOLDER = 'mailprobe-shards';
/**
 * One shard is at most MAX_SHARD_INPUT_BYTES (lib/config/defaults.ts, 240 KB) of specs plus
 * its settings; a file past this cap is not ours, and is refused before it is read in full.
 */
export const MAX_SHARD_ARTIFACT_BYTES = 4 * 1024 * 1024;
/** Shard IDs are `<check>-<interval>-<n>` (lib/config/shard.ts): no separators, no `..`. */
const SHARD_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The schedule's input: what the function needs to find its shard, and to know it is the right one. */
export interface ShardReference {
  readonly version: 1;
  readonly shard: string;
  readonly check: string;
  readonly artifact: { readonly sha256: string; readonly bytes: number };
}

export class ShardArtifactError extends MailprobeError {
  override readonly name = 'ShardArtifactError';
  readonly code = 'INVALID_EVENT';
}

/** The file's bytes and its reference: the synth side writes the one and schedules the other. */
export function shardArtifact(shard: { readonly shard: string; readonly check: string }): {
  readonly body: string;
  readonly reference: ShardReference;
} {
  if (!SHARD_ID.test(shard.shard))
    throw new ShardArtifactError(`shard ID ${JSON.stringify(shard.shard)} is not a file name`);
  const body = JSON.stringify(shard);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return {
    body,
    reference: {
      version: 1,
      shard: shard.shard,
      check: shard.check,
      artifact: { sha256, bytes: Buffer.byteLength(body) },
    },
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parsed shards by hash: a warm function reads each of its shards once. Keyed by content, so never stale. */
const cache = new Map<string, unknown>();

export interface LoadShardOptions {
  /**
   * @default $MAILPROBE_SHARD_DIR, else SHARD_ARTIFACT_DIR (the variable lets a test or a
   * local run of the bundle point at a synthesized layer asset; the stack does not set it)
   */
  readonly dir?: string;
}

/**
 * The shard an event stands for: a reference is resolved from the artifact and checked;
 * anything else (an inline shard, as in tests and older deployments) is returned as is,
 * for parseShardEvent to validate.
 */
export async function loadShardEvent(event: unknown, options: LoadShardOptions = {}): Promise<unknown> {
  if (!isRecord(event) || !('artifact' in event)) return event;
  const { shard, check, artifact } = event;
  if (event['version'] !== 1 || typeof shard !== 'string' || typeof check !== 'string' || !isRecord(artifact)) {
    throw new ShardArtifactError('a shard reference holds version 1, shard, check and artifact');
  }
  const { sha256, bytes } = artifact;
  if (!SHARD_ID.test(shard)) throw new ShardArtifactError(`shard ID ${JSON.stringify(shard)} is not a file name`);
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) {
    throw new ShardArtifactError('artifact.sha256 must be 64 lowercase hex digits');
  }
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 2 || bytes > MAX_SHARD_ARTIFACT_BYTES) {
    throw new ShardArtifactError(`artifact.bytes must be an integer up to ${MAX_SHARD_ARTIFACT_BYTES}`);
  }
  const cached = cache.get(sha256);
  if (cached !== undefined) return cached;

  const path = join(options.dir ?? process.env['MAILPROBE_SHARD_DIR'] ?? SHARD_ARTIFACT_DIR, `${shard}.json`);
  const body = await readCapped(path, bytes);
  const actual = createHash('sha256').update(body).digest('hex');
  if (actual !== sha256) {
    throw new ShardArtifactError(
      `shard ${shard}: ${path} has SHA-256 ${actual}, the schedule expects ${sha256}; the function's shard layer is not the one this schedule was deployed with`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ShardArtifactError(`shard ${shard}: ${path} is not JSON`);
  }
  // The hash matched, so this is what synth wrote; still, the file must be the shard it is named for.
  if (!isRecord(parsed) || parsed['shard'] !== shard || parsed['check'] !== check) {
    throw new ShardArtifactError(`shard ${shard}: ${path} holds another shard`);
  }
  cache.set(sha256, parsed);
  return parsed;
}

/** Reads at most `expected` + 1 bytes: a file longer than the reference says is refused without reading it all. */
async function readCapped(path: string, expected: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ShardArtifactError(
      `shard artifact ${path} cannot be opened (${code ?? String(err)}); the function has no shard layer for this schedule`,
    );
  }
  try {
    const buffer = Buffer.alloc(expected + 1);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    if (read !== expected) {
      throw new ShardArtifactError(
        `shard artifact ${path} is ${read > expected ? 'longer' : `${read} bytes, shorter`} than the ${expected} bytes the schedule expects`,
      );
    }
    return buffer.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/** Tests: forget what warm invocations read. */
export function clearShardCache(): void {
  cache.clear();
}
