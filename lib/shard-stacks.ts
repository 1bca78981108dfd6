/**
 * The nested stacks that hold the schedules of a fleet one stack cannot (issue #20 item 3).
 * Nested, not sibling stacks: one `cdk deploy` still deploys everything, each nested template
 * is its own 1 MB and 500 resources, and it counts as one resource in the root. The schedules
 * reference the root's functions, roles and dead-letter queues through the nested stacks'
 * parameters (three per check kind), so no IAM grant leaves the root. (The fleet alarms have
 * alarm stacks of their own: probe-alarms.ts, config/shard-stacks.ts alarmStackLayout.)
 */
import { NestedStack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { CheckKind } from '../lambdas/engine/result.js';
import type { ShardStackLayout } from './config/shard-stacks.js';

/** CDK writes templates with one-space indentation unless told; nested ones are uploaded as written. */
const SUPPRESS_TEMPLATE_INDENTATION = '@aws-cdk/core:suppressTemplateIndentation';

export class ShardStacks extends Construct {
  readonly stacks: readonly NestedStack[];
  private readonly layout: ShardStackLayout;

  constructor(scope: Construct, id: string, layout: ShardStackLayout) {
    super(scope, id);
    // Set before the nested stacks exist: a stack reads it once, when constructed.
    this.node.setContext(SUPPRESS_TEMPLATE_INDENTATION, true);
    this.layout = layout;
    this.stacks = Array.from(
      { length: layout.stacks },
      (_, i) =>
        new NestedStack(this, `Shards${i}`, {
          description: `mailprobe: schedules of shard stack ${i} of ${layout.stacks}`,
        }),
    );
  }

  /** Where the schedules of this shard go: its stack, one construct per check kind inside it. */
  scopeFor(check: CheckKind, shardId: string): Construct {
    const stack = this.stacks[this.layout.stackOf(shardId)]!;
    const id = `Probe-${check}`;
    return stack.node.tryFindChild(id) ?? new Construct(stack, id);
  }
}
