/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. The config path comes from the
 * context (`-c config=path`), else `mailprobe.config.yaml` when present, else the
 * commented example, so a fresh clone synthesizes offline with no setup.
 */
import { existsSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig } from '../lib/config/load.js';
import { PlanError, planConfig } from '../lib/config/plan.js';
import { MailProbeStack } from '../lib/mail-probe-stack.js';

const app = new App();
const fromContext = app.node.tryGetContext('config') as string | undefined;
const configPath =
  fromContext ??
  ['mailprobe.config.yaml', 'mailprobe.config.yml', 'mailprobe.config.json'].find((p) => existsSync(p)) ??
  'mailprobe.config.example.yaml';

try {
  const plan = planConfig(loadConfig(configPath));
  new MailProbeStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'MailProbe', {
    plan,
    description: `mailprobe: mail transport security probes (${configPath})`,
    env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
} catch (err) {
  if (err instanceof ConfigError || err instanceof PlanError) {
    // A clear message and exit status 2 (a configuration error), not a stack trace.
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
