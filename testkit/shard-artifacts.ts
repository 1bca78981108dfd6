/**
 * The shards a synthesized stack schedules: each schedule's input is a reference
 * (lambdas/engine/shard/artifact.ts); this reads the shard behind it from the layer assets
 * in the cloud assembly, through the loader the functions use, hash check included.
 */
import { join } from 'node:path';
import { Stage, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { loadShardEvent, SHARD_ARTIFACT_FOLDER, type ShardReference } from '../lambdas/engine/shard/artifact.js';
import type { ShardEvent } from '../lambdas/engine/shard/event.js';

type Resource = { Properties: Record<string, unknown> };

/** The shard of every schedule of a stack already synthesized into `template`. */
export async function scheduledShards(stack: Stack, template: Template): Promise<ShardEvent[]> {
  const outdir = Stage.of(stack)!.outdir;
  const layers = Object.values(template.findResources('AWS::Lambda::LayerVersion')) as Resource[];
  const dirs = layers.map((l) => {
    const key = String((l.Properties['Content'] as { S3Key: string }).S3Key).replace(/\.zip$/, '');
    return join(outdir, `asset.${key}`, SHARD_ARTIFACT_FOLDER);
  });
  const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as Resource[];
  const shards: ShardEvent[] = [];
  for (const s of schedules) {
    const ref = JSON.parse((s.Properties['Target'] as { Input: string }).Input) as ShardReference;
    let found: unknown;
    for (const dir of dirs) {
      found = await loadShardEvent(ref, { dir }).catch(() => undefined);
      if (found !== undefined) break;
    }
    if (found === undefined) throw new Error(`no layer of the stack holds shard ${ref.shard}`);
    shards.push(found as ShardEvent);
  }
  return shards;
}
