/**
 * A user's own CDK app: its own stack and SNS topic, and mailprobe's MailProbes with typed
 * props next to them. README.md says how to install it from a clone (`npm pack`, then
 * `npm install` here) and synthesize it: the probe functions ship prebundled in the package,
 * so synth needs neither esbuild nor Docker.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { MailProbes } from 'mailprobe';

const app = new App();
const stack = new Stack(app, 'OwnApp', { env: { account: '123456789012', region: 'eu-west-1' } });

// The team's existing on-call topic: mailprobe's alarms and change notifications go here.
const onCall = new sns.Topic(stack, 'OnCall', { displayName: 'On-call', enforceSSL: true });

new MailProbes(stack, 'Probes', {
  config: {
    targets: [
      { name: 'relay', host: 'smtp.example.com', port: 587 },
      { name: 'ses-eu', ses: { region: 'eu-west-1', ports: [587] } },
    ],
    domains: ['example.com'],
    alerting: { email: ['oncall@example.com'] },
    // The HTTPS rua receiver for the domains' TLS-RPT reports (also prebundled in the package).
    tlsRpt: { https: true },
  },
  alertTopic: onCall,
  functionTimeout: Duration.minutes(2),
});

app.synth();
