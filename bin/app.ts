/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. The config path comes from the
 * context (`-c config=path`), else `mailprobe.config.yaml` (or .yml, .json). Without
 * either it stops as the CLI does (exit 2): falling back to the example would deploy
 * probes of smtp.example.com and subscribe oncall@example.com (issue #24). The example
 * synthesizes with `-c config=mailprobe.config.example.yaml`.
 */
import { existsSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { isUserFacing } from '../lambdas/engine/errors.js';
import { loadConfig } from '../lib/config/load.js';
import { PlanError, planConfig } from '../lib/config/plan.js';
import { MailProbeStack } from '../lib/mail-probe-stack.js';
import { measureAssembly, templateLimitProblems } from '../lib/template-limits.js';

const app = new App();
const fromContext = app.node.tryGetContext('config') as string | undefined;
const configPath =
  fromContext ??
  ['mailprobe.config.yaml', 'mailprobe.config.yml', 'mailprobe.config.json'].find((p) => existsSync(p)) ??
  'mailprobe.config.yaml';

try {
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'MailProbe';
  // The stack name prefixes every alarm name: the plan checks them against the 255-character limit.
  const plan = planConfig(loadConfig(configPath), { alarmNamePrefix: stackName });
  new MailProbeStack(app, stackName, {
    plan,
    description: `mailprobe: mail transport security probes (${configPath})`,
    env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Synthesize here rather than at exit, so that a limit CDK enforces is reported like a config error.
  const problems = templateLimitProblems(measureAssembly(app.synth()));
  // CloudFormation would refuse the template at deploy time; say so now, with the fix.
  if (problems.length > 0) throw new PlanError(problems);
} catch (err) {
  if (isUserFacing(err)) {
    // A clear message and exit status 2 (a configuration error), not a stack trace.
    console.error(`mailprobe: ${err.message}`);
    process.exit(2);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/Number of resources .* is greater than allowed maximum/.test(message)) {
    console.error(
      `mailprobe: ${message.split('\n')[0]}; set alarms.mode to fleet or metrics to aggregate, or split the targets over two deployments`,
    );
    process.exit(2);
  }
  throw err;
}
