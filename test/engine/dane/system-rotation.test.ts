/**
 * A certificate rotation on a DANE-protected MX, across runs, through the real state store:
 * the probe functions (mta-sts, and smtp with `dane: true`) run hourly against a zone signed
 * at test time with ldns and served by NSD, every lookup going to Unbound (the shard's
 * `dnsServer`), with MX hosts on nodemailer's smtp-server (one certificate per SNI name) and on
 * Postfix with STARTTLS, and the MTA-STS policy on HTTPS; the state is in DynamoDB (dynalite),
 * SNS is the SDK mock (no real implementation runs here).
 *
 * Between the first and the second run the MX hosts get certificates with new keys. One had
 * the new key's TLSA record published in advance (current + next): "rotated, TLSA updated",
 * a change notice and no page. The others did not: "rotated, TLSA not updated" is one
 * critical alert, at once, carrying both halves; the third run sends nothing more.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../../lambdas/engine/checks.js';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/engine/context.js';
import { runMtaStsChecks } from '../../../lambdas/engine/run/mta-sts.js';
import { runSmtpChecks } from '../../../lambdas/engine/run/smtp.js';
import type { SmtpCheckSpec, MtaStsCheckSpec } from '../../../lambdas/engine/checks.js';
import type { ShardEvent } from '../../../lambdas/engine/shard/event.js';
import { createProbeHandler, type ProbeHandlerDeps } from '../../../lambdas/handlers/probe.js';
import { cli } from '../../../testkit/cli-in-process.js';
import { startDynalite, type RunningDynalite } from '../../../testkit/dynalite.js';
import { policy, startHttpsServer, type HttpsTestServer } from '../../../testkit/https-server.js';
import { createTestPki, issueCertificate, type Issued, type TestPki } from '../../../testkit/pki.js';
import { startSmtpServer, type RunningSmtp } from '../../../testkit/smtp-servers.js';
import { scratchDir, stopAll } from '../../../testkit/system/daemon.js';
import { buildZone, startNsd, type NsdInstance, type SignedZone } from '../../../testkit/system/nsd.js';
import { startPostfix, type PostfixInstance } from '../../../testkit/system/postfix.js';
import { systemRequirements } from '../../../testkit/system/requirements.js';
import { startUnbound, type UnboundInstance } from '../../../testkit/system/unbound.js';

const requirements = systemRequirements('nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'postfix');

const ZONE = 'dane.test';
const UPDATED = `updated.${ZONE}`;
const STALE = `stale.${ZONE}`;
const mxOf = (domain: string) => `mx.${domain}`;
const HOUR = 3_600_000;

const spki = (cert: X509Certificate): string =>
  createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

const cw = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);

describe.skipIf(requirements.skip)(
  requirements.title('a DANE MX certificate rotation across hourly runs: NSD, Unbound, dynalite'),
  () => {
    requirements.enforce();
    let pki: TestPki;
    /** The leaves before and after the rotation, per MX host. */
    const before: Record<string, Issued> = {};
    const after: Record<string, Issued> = {};
    let nsd: (NsdInstance & { zones: readonly SignedZone[] }) | undefined;
    let unbound: UnboundInstance | undefined;
    let web: HttpsTestServer | undefined;
    let mx: RunningSmtp | undefined;
    /** Postfix with STARTTLS, the host of the smtp target with dane: true (restarted to rotate). */
    let postfix: PostfixInstance | undefined;
    let db: RunningDynalite | undefined;
    let anchors = '';
    const scratch = scratchDir('dane-rotation');

    /** The MX hosts (one smtp-server, a certificate per SNI name) with the leaves given. */
    const serve = async (leaves: Record<string, Issued>) => {
      await mx?.close();
      mx = await startSmtpServer({
        credentials: pki.credentials(leaves[mxOf(UPDATED)]),
        sniOptions: Object.fromEntries(Object.entries(leaves).map(([name, l]) => [name, pki.credentials(l)])),
      });
    };

    beforeAll(async () => {
      pki = await createTestPki({ rootName: 'mailprobe rotation test' });
      for (const domain of [UPDATED, STALE]) {
        const names = { dnsNames: [mxOf(domain), domain] };
        before[mxOf(domain)] = await issueCertificate(pki.intermediate, names);
        // Renewed with a new key (as certbot and most ACME clients do by default).
        after[mxOf(domain)] = await issueCertificate(pki.intermediate, names);
      }
      const tlsa: Record<string, string[]> = {
        // Current + next: the next key was published before it was deployed.
        [mxOf(UPDATED)]: [spki(before[mxOf(UPDATED)]!.x509), spki(after[mxOf(UPDATED)]!.x509)],
        // Only the key of the day: the rotation leaves the record behind.
        [mxOf(STALE)]: [spki(before[mxOf(STALE)]!.x509)],
      };
      const records = [UPDATED, STALE].flatMap((domain) => [
        `${domain}. IN MX 10 ${mxOf(domain)}.`,
        `${mxOf(domain)}. IN A 127.0.0.1`,
        ...tlsa[mxOf(domain)]!.map((d) => `_25._tcp.${mxOf(domain)}. IN TLSA 3 1 1 ${d}`),
        `_mta-sts.${domain}. IN TXT "v=STSv1; id=20261201"`,
        `mta-sts.${domain}. IN A 127.0.0.1`,
        `_smtp._tls.${domain}. IN TXT "v=TLSRPTv1; rua=mailto:tls@${domain}"`,
      ]);
      const site = await issueCertificate(pki.intermediate, {
        dnsNames: [UPDATED, STALE].map((d) => `mta-sts.${d}`),
      });
      const started = await Promise.all([
        startNsd((dir) => [
          buildZone(dir, {
            origin: ZONE,
            sign: { algorithm: 'ECDSAP256SHA256' },
            records: [`ns.${ZONE}. IN A 127.0.0.1`, ...records],
          }),
        ]),
        startHttpsServer(
          pki.credentials(site),
          policy(`version: STSv1\nmode: enforce\nmx: ${mxOf(UPDATED)}\nmx: ${mxOf(STALE)}\nmax_age: 604800\n`),
        ),
        startDynalite(),
        serve(before),
      ]);
      [nsd, web, db] = started;
      anchors = nsd.zones[0]!.ds.join('\n');
      unbound = await startUnbound({ stubZones: [ZONE], authPort: nsd.port, trustAnchors: nsd.zones[0]!.ds });
    });

    /** Postfix presenting `leaf`, as after a renewal and `postfix reload`. */
    const servePostfix = async (leaf: Issued) => {
      await postfix?.stop();
      postfix = await startPostfix({ hostname: mxOf(STALE), tls: pki.credentials(leaf) });
    };

    afterAll(async () => {
      await stopAll([unbound, nsd, postfix]);
      await Promise.all([web?.close(), mx?.close(), db?.close()]);
      scratch.remove();
    });

    /** One scheduled invocation of a probe function, `offsetMs` after the first. */
    const invoke = async (kind: 'mta-sts' | 'smtp', table: string, offsetMs: number) => {
      const specs: CheckSpec[] =
        kind === 'mta-sts'
          ? [UPDATED, STALE].map((domain): MtaStsCheckSpec => ({ check: 'mta-sts', domain }))
          : [
              {
                check: 'smtp',
                name: 'stale-mx',
                host: mxOf(STALE),
                port: postfix!.port,
                tls: 'starttls',
                dane: true,
              } satisfies SmtpCheckSpec,
            ];
      const shard: ShardEvent = {
        version: 1,
        shard: `${kind}-1h-1`,
        check: kind,
        schedule: 'rate(1 hour)',
        specs,
        thresholds: DEFAULT_THRESHOLDS,
        allowPrivate: true,
        concurrency: 2,
        trustAnchors: anchors,
        // Every lookup and every DNSSEC query of the function go to Unbound (config `dnsServer`).
        dnsServer: unbound!.server,
      };
      const lines: string[] = [];
      const deps: ProbeHandlerDeps = {
        cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
        sns: new SNSClient({ region: 'eu-west-1' }),
        dynamodb: db!.client,
        env: {
          METRIC_NAMESPACE: 'MailProbe',
          STATE_TABLE_NAME: table,
          ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
        },
        writeLine: (line) => lines.push(line),
        context: {
          extraCa: [pki.caPem],
          timeoutMs: 30_000,
          clock: { now: () => Date.now() + offsetMs },
        },
        publisher: { sleep: async () => {}, random: () => 0 },
      };
      // The MTA-STS policy and MX ports point at the test servers (production: 443 and 25).
      const port = mx!.port;
      const handler =
        kind === 'mta-sts'
          ? createProbeHandler(
              'mta-sts',
              (s, ctx, options) =>
                runMtaStsChecks(
                  s,
                  { dnssec: {}, ...ctx },
                  { ...options, deps: { policyPort: web!.port, mxPort: port } },
                ),
              deps,
            )
          : createProbeHandler('smtp', runSmtpChecks, deps);
      const summary = await handler(shard);
      const results = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => 'startedAt' in l) as {
        target: string;
        name?: string;
        status: string;
        findings: { code: string }[];
        changes?: { code: string; severity: string; message: string; after: Record<string, unknown> }[];
      }[];
      return { summary, results };
    };
    /** The CLI's flags for the test zone: Unbound, its trust anchor, the test CA, loopback MX hosts. */
    const commonFlags = (): string[] => {
      const anchorFile = join(scratch.path, 'anchors');
      writeFileSync(anchorFile, `${anchors}\n`);
      const caFile = join(scratch.path, 'ca.pem');
      writeFileSync(caFile, pki.caPem);
      return ['--dns-server', unbound!.server, '--trust-anchor', anchorFile, '--ca-file', caFile, '--allow-private'];
    };
    const published = (): PublishCommandInput[] => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    const emailOf = (m: PublishCommandInput) => (JSON.parse(m.Message!) as Record<string, string>)['email']!;

    it('mta-sts: "rotated, TLSA not updated" is one critical alert at once; "TLSA updated" is a change notice', async () => {
      cw.reset();
      sns.reset();
      cw.on(PutMetricDataCommand).resolves({});
      sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
      const table = 'rotation-mta-sts';
      await db!.createTable(table);
      await serve(before);

      const first = await invoke('mta-sts', table, 0);
      const diag = JSON.stringify(first.results, null, 1).slice(0, 3000);
      // A single TLSA record: the warning that predicts what the rotation will do.
      expect(
        // Logged as each result is ready, so in either order.
        first.results.map((r) => [r.target, r.status, r.findings.map((f) => f.code).join()]).sort(),
        diag,
      ).toEqual([
        [STALE, 'warning', 'DANE_NO_ROLLOVER'],
        [UPDATED, 'ok', ''],
      ]);
      expect(published()).toEqual([]);

      await serve(after);
      const second = await invoke('mta-sts', table, HOUR);
      const stale = second.results.find((r) => r.target === STALE)!;
      const updated = second.results.find((r) => r.target === UPDATED)!;
      expect(stale.status).toBe('critical');
      expect(stale.findings.map((f) => f.code)).toContain('DANE_TLSA_MISMATCH');
      expect(stale.changes?.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'critical']]);
      const newKey = `3 1 1 ${spki(after[mxOf(STALE)]!.x509)}`;
      expect(stale.changes?.[0]?.message).toContain(
        `MX ${mxOf(STALE)}: certificate rotated, TLSA not updated (127.0.0.1).`,
      );
      expect(stale.changes?.[0]?.after).toMatchObject({
        host: mxOf(STALE),
        tlsa: { verdict: 'invalid', updated: false, publish: newKey },
      });
      expect(updated.status).toBe('ok');
      expect(updated.changes?.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'info']]);
      expect(updated.changes?.[0]?.message).toContain(
        `MX ${mxOf(UPDATED)}: certificate rotated, TLSA updated (127.0.0.1).`,
      );

      // One message per domain: the page for stale (with the change in it), the notice for updated.
      const messages = published();
      expect(messages.map((m) => m.Subject).sort()).toEqual([
        `[CHANGED] mta-sts ${UPDATED}: CERT_ROTATED`,
        `[CRITICAL] mta-sts ${STALE}: DANE_TLSA_MISMATCH after CERT_ROTATED`,
      ]);
      const page = messages.find((m) => m.Subject!.startsWith('[CRITICAL]'))!;
      expect(page.MessageAttributes!['transition']).toEqual({ DataType: 'String', StringValue: 'raised' });
      const email = emailOf(page);
      expect(email).toContain('certificate rotated, TLSA not updated');
      expect(email).toContain(`Publish \`_25._tcp.${mxOf(STALE)}. IN TLSA ${newKey}\``);
      expect(email).toMatch(/\[CRITICAL\] DANE_TLSA_MISMATCH: /);

      // The new leaf is what the store now holds for the MX host.
      const item = await db!.client.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: `mta-sts#${STALE}` } } }),
      );
      const fingerprint = after[mxOf(STALE)]!.x509.fingerprint256;
      expect(JSON.stringify(item.Item)).toContain(fingerprint);

      // An hour later: the same certificate, still critical: nothing new to say.
      const third = await invoke('mta-sts', table, 2 * HOUR);
      expect(third.results.every((r) => (r.changes ?? []).length === 0)).toBe(true);
      expect(third.results.find((r) => r.target === STALE)?.status).toBe('critical');
      expect(published()).toHaveLength(2);
    });

    it('smtp with dane: true, against Postfix renewed with a new key: the same single alert for the host', async () => {
      cw.reset();
      sns.reset();
      cw.on(PutMetricDataCommand).resolves({});
      sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
      const table = 'rotation-smtp';
      await db!.createTable(table);
      await servePostfix(before[mxOf(STALE)]!);
      const first = await invoke('smtp', table, 0);
      expect(
        first.results.map((r) => [r.status, r.findings.map((f) => f.code).join()]),
        JSON.stringify(first.results).slice(0, 2000),
      ).toEqual([['warning', 'DANE_NO_ROLLOVER']]);
      // `mailprobe dane` against the same Postfix: the record matches the key of the day.
      const danePostfix = async () => {
        const out = await cli(['dane', STALE, '--mx-port', String(postfix!.port), ...commonFlags(), '--json']);
        const doc = JSON.parse(out.stdout) as {
          results: { findings: { code: string }[]; mx: { endpoints: { matched?: { record: string } }[] }[] }[];
        };
        return { codes: doc.results[0]!.findings.map((f) => f.code), endpoint: doc.results[0]!.mx[0]!.endpoints[0] };
      };
      const matched = await danePostfix();
      expect(matched.codes).toEqual(['DANE_NO_ROLLOVER']);
      expect(matched.endpoint?.matched?.record).toBe(`3 1 1 ${spki(before[mxOf(STALE)]!.x509)}`);
      await servePostfix(after[mxOf(STALE)]!);
      expect((await danePostfix()).codes).toEqual(['DANE_TLSA_MISMATCH', 'DANE_NO_ROLLOVER']);
      const second = await invoke('smtp', table, HOUR);
      expect(second.results[0]?.findings.map((f) => f.code)).toContain('DANE_TLSA_MISMATCH');
      expect(second.results[0]?.changes?.map((c) => [c.code, c.severity])).toEqual([['CERT_ROTATED', 'critical']]);
      expect(second.results[0]?.changes?.[0]?.message).toMatch(/^The leaf certificate changed, TLSA not updated: /);
      await invoke('smtp', table, 2 * HOUR);
      const messages = published();
      expect(messages.map((m) => m.Subject)).toEqual([
        `[CRITICAL] smtp stale-mx (${mxOf(STALE)}:${postfix!.port}): DANE_TLSA_MISMATCH after CERT_ROTATED`,
      ]);
      expect(emailOf(messages[0]!)).toContain(`defer all mail to ${mxOf(STALE)}`);
      expect(emailOf(messages[0]!)).toContain(`IN TLSA 3 1 1 ${spki(after[mxOf(STALE)]!.x509)}`);
    });

    it('mailprobe mta-sts --state shows the rotation with its TLSA verdict', async () => {
      const state = join(scratch.path, 'state.json');
      const argv = () => [
        'mta-sts',
        STALE,
        '--state',
        state,
        ...commonFlags(),
        '--policy-port',
        String(web!.port),
        '--mx-port',
        String(mx!.port),
      ];
      await serve(before);
      const first = await cli(argv());
      expect(first.code, first.stdout + first.stderr).toBe(0);
      await serve(after);
      const second = await cli([...argv(), '--json']);
      expect(second.code).toBe(1);
      const doc = JSON.parse(second.stdout) as { results: { changes?: { code: string; message: string }[] }[] };
      expect(doc.results[0]?.changes?.map((c) => c.code)).toEqual(['CERT_ROTATED']);
      expect(doc.results[0]?.changes?.[0]?.message).toContain('TLSA not updated');
    });
  },
);
