/**
 * CloudFormation's per-template quotas, measured on the synthesized templates (issue #20):
 * a fleet's template can pass every per-construct check and still be refused at deploy
 * time, so `cdk synth` (bin/app.ts) and `mailprobe plan` measure what CDK uploads.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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

/**
 * Every template of the assembly: each stack's, and the nested stacks' it references (issue #20
 * item 3: a split fleet's schedules are in nested templates, each under the same quotas).
 */
/**
 * Every template of the assembly: each stack's, and the nested stacks' it references (issue #20
 * item 3: a split fleet's schedules are in nested templates, each under the same quotas).
 */
export function measureAssembly(assembly: CloudAssembly): StackSize[] {
  const files = assetFiles(assembly.directory);
  return assembly.stacks.flatMap((s) => [
    sizeOf(s.stackName, s.template as Template, Buffer.byteLength(JSON.stringify(s.template))),
    ...nestedSizes(assembly.directory, files, s.stackName, s.template as Template),
  ]);
}

interface Template {
  Resources?: Record<string, { Type?: string; Properties?: { TemplateURL?: unknown } }>;
  Outputs?: object;
  Parameters?: object;
}

function sizeOf(stack: string, t: Template, bytes: number): StackSize {
  return {
    stack,
    bytes,
    resources: Object.keys(t.Resources ?? {}).length,
    outputs: Object.keys(t.Outputs ?? {}).length,
    parameters: Object.keys(t.Parameters ?? {}).length,
  };
}

/**
 * The assembly's file assets by hash, from its asset manifests: a nested stack's TemplateURL
 * names its template by hash (the `aws:asset:path` metadata is there only when the CLI asks).
 */
function assetFiles(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(directory).filter((f) => f.endsWith('.assets.json'))) {
    const manifest = JSON.parse(readFileSync(join(directory, name), 'utf8')) as {
      files?: Record<string, { source?: { path?: string } }>;
    };
    for (const [hash, f] of Object.entries(manifest.files ?? {})) {
      if (f.source?.path !== undefined) files.set(hash, f.source.path);
    }
  }
  return files;
}

/**
 * A nested template is uploaded as the file CDK wrote (a file asset), so its bytes are the
 * file's; lib/shard-stacks.ts has CDK write it without indentation.
 */
function nestedSizes(directory: string, files: Map<string, string>, parent: string, t: Template): StackSize[] {
  return Object.entries(t.Resources ?? {}).flatMap(([logicalId, r]) => {
    if (r.Type !== 'AWS::CloudFormation::Stack') return [];
    const hash = /\/([0-9a-f]{64})\.json"/.exec(JSON.stringify(r.Properties?.TemplateURL))?.[1];
    const file = hash !== undefined ? files.get(hash) : undefined;
    // `MailProbesShardStacksShards3NestedStack…Resource<hash>` → `MailProbesShardStacksShards3`.
    const name = `${parent}/${logicalId.replace(/NestedStack\w*NestedStackResource[0-9A-F]{8}$/, '')}`;
    // A nested stack whose template is not in this assembly cannot be measured: say so, never pass it silently.
    if (file === undefined) throw new Error(`${name}: nested template not found in ${directory}`);
    const body = readFileSync(join(directory, file));
    const nested = JSON.parse(body.toString('utf8')) as Template;
    return [sizeOf(name, nested, body.length), ...nestedSizes(directory, files, name, nested)];
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
