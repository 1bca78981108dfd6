/**
 * CloudFormation's per-template quotas, measured on the synthesized templates (issue #20):
 * a fleet's template can pass every per-construct check and still be refused at deploy
 * time, so `cdk synth` (bin/app.ts) and `mailprobe plan` measure what CDK uploads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CFN_MAX_RESOURCES_PER_STACK } from './config/defaults.js';
import type { Plan } from './config/plan.js';
import { MailProbeStack } from './mail-probe-stack.js';

/**
 * "Template body size in an Amazon S3 object: 1 MB". Counted as 1,000,000 bytes, not
 * 1,048,576: AWS does not say which, and the decimal reading is the one that cannot be wrong.
 */
export const CFN_MAX_TEMPLATE_BYTES = 1_000_000;
export const CFN_MAX_OUTPUTS = 200;
export const CFN_MAX_PARAMETERS = 200;

export interface StackSize {
  readonly stack: string;
  /** The template as minified JSON (what CDK uploads), in bytes. */
  readonly bytes: number;
  readonly resources: number;
  readonly outputs: number;
  readonly parameters: number;
}

export function measureAssembly(assembly: CloudAssembly): StackSize[] {
  return assembly.stacks.map((s) => {
    const t = s.template as { Resources?: object; Outputs?: object; Parameters?: object };
    return {
      stack: s.stackName,
      bytes: Buffer.byteLength(JSON.stringify(t)),
      resources: Object.keys(t.Resources ?? {}).length,
      outputs: Object.keys(t.Outputs ?? {}).length,
      parameters: Object.keys(t.Parameters ?? {}).length,
    };
  });
}

/** One line per quota a template exceeds, each with its fix. */
export function templateLimitProblems(sizes: readonly StackSize[]): string[] {
  const problems: string[] = [];
  const fix =
    'split the targets over two deployments (two config files, two stack names), or raise defaults.functionTimeoutSeconds or defaults.concurrency for fewer, larger shards';
  for (const s of sizes) {
    if (s.bytes > CFN_MAX_TEMPLATE_BYTES) {
      problems.push(
        `stack ${s.stack}: the template is ${s.bytes} bytes, more than the ${CFN_MAX_TEMPLATE_BYTES} CloudFormation accepts; ${fix}`,
      );
    }
    if (s.resources > CFN_MAX_RESOURCES_PER_STACK) {
      problems.push(
        `stack ${s.stack}: ${s.resources} resources, more than the ${CFN_MAX_RESOURCES_PER_STACK} a CloudFormation stack holds; set alarms.mode to fleet (or auto), or ${fix}`,
      );
    }
    if (s.outputs > CFN_MAX_OUTPUTS) {
      problems.push(`stack ${s.stack}: ${s.outputs} outputs, more than CloudFormation's ${CFN_MAX_OUTPUTS}; ${fix}`);
    }
    if (s.parameters > CFN_MAX_PARAMETERS) {
      problems.push(
        `stack ${s.stack}: ${s.parameters} parameters, more than CloudFormation's ${CFN_MAX_PARAMETERS}; ${fix}`,
      );
    }
  }
  return problems;
}

/**
 * The plan synthesized offline as `bin/app.ts` would, without bundling (inline code for the
 * probe functions; the sizes differ from the bundled ones by a few hundred bytes per function).
 */
export function synthSizes(plan: Plan, stackName = 'MailProbe'): StackSize[] {
  const outdir = mkdtempSync(join(tmpdir(), 'mailprobe-plan-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    new MailProbeStack(app, stackName, {
      plan,
      code: () => lambda.Code.fromInline('export const handler = async () => ({});'),
    });
    return measureAssembly(app.synth());
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
