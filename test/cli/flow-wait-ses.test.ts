/**
 * `mailprobe flow --wait-ses`: the CLI sends through a loopback relay with the deployment's
 * key (Secrets Manager, aws-sdk-client-mock); the relay plays SES (the message into the S3
 * stand-in, then the deployed receiver's handler with a receipt event) a moment later; the
 * receiver logs the arrival in the state table (dynalite); the CLI, polling that table, reports
 * it delivered with SES's verdicts. The SDK reaches dynalite through AWS_ENDPOINT_URL_DYNAMODB.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_INCOMING_PREFIX } from '../../lambdas/engine/flow/ses-event.js';
import { createFlowReceiverHandler } from '../../lambdas/handlers/flow-receiver.js';
import { ResultDocumentSchema } from '../../lib/result-schema.js';
import { cli } from '../../testkit/cli-in-process.js';
import { startDnsServer, type DnsTestServer } from '../../testkit/dns-server.js';
import { startDynalite, type RunningDynalite } from '../../testkit/dynalite.js';
import { fakeAws, type FakeAws } from '../../testkit/fixtures/tlsrpt/fake-aws.js';
import { createTestPki, type TestPki } from '../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../testkit/smtp-servers.js';

const KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailprobe/flow-key-AbCdEf';
const KEY_TEXT = 'Xk4Pq9Lm2Wv7Nz0Rb5Tc8Hy3Jd6Fs1Ga4Ue9Wo2Ti7Qr5Xy0Ln3Mb8Vc1Sk6Dh4E';
const TABLE = 'deployed-state';
const RECIPIENT = 'flow@in.example.com';

const sm = mockClient(SecretsManagerClient);

describe('mailprobe flow --wait-ses', () => {
  let pki: TestPki;
  let relay: RunningSmtp;
  let dns: DnsTestServer;
  let db: RunningDynalite;
  let aws: FakeAws;
  let dir: string;
  let caFile: string;
  const saved: Record<string, string | undefined> = {};
  const awsEnv = (endpoint: string) => ({
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'eu-west-1',
  });

  beforeAll(async () => {
    pki = await createTestPki();
    dns = await startDnsServer({});
    db = await startDynalite();
    await db.createTable(TABLE);
    aws = fakeAws();
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-wait-ses-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caPem);
    // The SDK reads these from the process (the CLI passes no endpoint of its own).
    for (const [name, value] of Object.entries(awsEnv(db.endpoint))) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    sm.on(GetSecretValueCommand, { SecretId: KEY_ARN }).resolves({ SecretString: KEY_TEXT });
    const receiver = createFlowReceiverHandler({
      s3: aws.s3,
      dynamodb: db.client,
      secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
      env: { FLOW_BUCKET: 'flows', FLOW_KEY_SECRET_ARN: KEY_ARN, STATE_TABLE_NAME: TABLE },
      writeLine: () => {},
    });
    let n = 0;
    relay = await startSmtpServer({
      credentials: pki.credentials(),
      // SES takes a moment: the CLI is already polling the table when the arrival is logged.
      onMessage: (raw) => {
        const id = `ses-cli-${++n}`;
        setTimeout(() => {
          aws.objects.set(`${FLOW_INCOMING_PREFIX}${id}`, { body: raw });
          const at = new Date().toISOString();
          void receiver({
            Records: [
              {
                eventSource: 'aws:ses',
                eventVersion: '1.0',
                ses: {
                  mail: { timestamp: at, source: 'probe@send.example.test', messageId: id, destination: [RECIPIENT] },
                  receipt: {
                    timestamp: at,
                    recipients: [RECIPIENT],
                    spamVerdict: { status: 'PASS' },
                    virusVerdict: { status: 'PASS' },
                    spfVerdict: { status: 'PASS' },
                    dkimVerdict: { status: 'PASS' },
                    dmarcVerdict: { status: 'PASS' },
                    action: {
                      type: 'Lambda',
                      functionArn: 'arn:aws:lambda:eu-west-1:1:function:r',
                      invocationType: 'Event',
                    },
                  },
                },
              },
            ],
          });
        }, 500);
      },
    });
  }, 60_000);
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    sm.restore();
    await relay?.close();
    await dns?.close();
    await db?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("waits in the deployment's table and reports the arrival with SES's verdicts", async () => {
    const run = await cli([
      'flow',
      '--via',
      `127.0.0.1:${relay.port}`,
      '--tls',
      'starttls',
      '--from',
      'probe@send.example.test',
      '--to',
      RECIPIENT,
      '--wait-ses',
      'eu-west-1',
      '--table',
      TABLE,
      '--key-secret',
      KEY_ARN,
      '--max-wait',
      '30',
      '--ca-file',
      caFile,
      '--dns-server',
      dns.server,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    const doc = ResultDocumentSchema.parse(JSON.parse(run.stdout));
    if (!('results' in doc)) throw new Error(run.stdout);
    const result = doc.results[0] as Record<string, unknown>;
    expect(result).toMatchObject({ check: 'flow', status: 'ok', delivered: 1, findings: [] });
    expect(String(result['name'])).toMatch(/^cli-[0-9a-f]{8}$/);
    expect(result['latest']).toMatchObject({
      source: 'ses',
      verdicts: { spf: 'pass', dkim: 'pass', dmarc: 'pass', spam: 'pass', virus: 'pass' },
    });
    expect(run.stdout).not.toContain(KEY_TEXT);
  }, 60_000);

  it('refuses a key secret that is not a key, naming the option and never the value', async () => {
    sm.on(GetSecretValueCommand, { SecretId: `${KEY_ARN}-short` }).resolves({ SecretString: 'tooshort' });
    const run = await cli([
      'flow',
      '--via',
      `127.0.0.1:${relay.port}`,
      '--from',
      'probe@send.example.test',
      '--to',
      RECIPIENT,
      '--wait-ses',
      'eu-west-1',
      '--table',
      TABLE,
      '--key-secret',
      `${KEY_ARN}-short`,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--key-secret: the flow key has \d+ bytes, at least 32/);
    expect(run.stderr).not.toContain('tooshort');
  });

  it('mailprobe run skips SES-received flows (only the deployment sees their arrivals) and says where to run them', async () => {
    const config = join(dir, 'ses-flow.json');
    writeFileSync(
      config,
      JSON.stringify({
        targets: [{ name: 'relay', host: '127.0.0.1', port: relay.port, tls: 'starttls' }],
        flows: [
          {
            name: 'to-ses',
            via: 'relay',
            from: 'probe@send.example.test',
            to: RECIPIENT,
            receive: { ses: { region: 'eu-west-1' } },
          },
        ],
      }),
    );
    const before = relay.messages.length;
    const run = await cli(['run', '--config', config, '--only', 'to-ses', '--ca-file', caFile, '--json']);
    expect(run.stderr).toContain('skipped to-ses: SES-received flows run deployed');
    expect(run.stderr).toContain('mailprobe flow --wait-ses');
    // Nothing was sent: the relay accepted no message.
    expect(relay.messages.length).toBe(before);
  });
});
