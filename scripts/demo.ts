/**
 * `npm run demo`: mailprobe working on a fresh machine with no AWS account and no internet.
 * Starts on 127.0.0.1 a good STARTTLS relay, one with an expired certificate, one with
 * 1024-bit DHE, and an MTA-STS domain (DNS, HTTPS policy, MX), writes a config for them and
 * runs `mailprobe run` on it: the same command, engine and verdicts as the deployed probes.
 */
import https from 'node:https';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { main } from '../bin/cli/main.js';
import { startDnsServer } from '../testkit/dns-server.js';
import { createTestPki, dhParamsPem } from '../testkit/pki.js';
import { startSmtpServer } from '../testkit/smtp-servers.js';

// The weak-DH relay is weak on purpose: Node's SecurityWarning about it is not news here.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'SecurityWarning') console.warn(warning);
});

const dir = join(process.cwd(), '.tmp', 'demo');
mkdirSync(dir, { recursive: true });

const pki = await createTestPki({ rootName: 'mailprobe demo' });
const names = { dnsNames: ['localhost', 'mx.demo.test'], ipAddresses: ['127.0.0.1'] };
const goodLeaf = await pki.issueLeaf(names);
const good = await startSmtpServer({ credentials: pki.credentials(goodLeaf) });
const expired = await startSmtpServer({ credentials: pki.credentials(await pki.expired()) });
// DHE suites need an RSA certificate (there are no DHE-ECDSA suites in TLS 1.2).
const rsaLeaf = await pki.issueLeaf({ ...names, key: { type: 'rsa', bits: 2048 } });
const weakDh = await startSmtpServer({
  credentials: pki.credentials(rsaLeaf),
  tls: { dhparam: dhParamsPem(1024), ciphers: 'ECDHE+AESGCM:DHE+AESGCM:@SECLEVEL=0' },
});

const policyLeaf = await pki.issueLeaf({ dnsNames: ['mta-sts.demo.test'], ipAddresses: [] });
const policy = 'version: STSv1\r\nmode: enforce\r\nmx: mx.demo.test\r\nmax_age: 604800\r\n';
const web = https.createServer(pki.credentials(policyLeaf), (req, res) => {
  if (req.url === '/.well-known/mta-sts.txt') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(policy);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
const dns = await startDnsServer({
  'demo.test': { MX: [{ priority: 10, exchange: 'mx.demo.test' }] },
  'mx.demo.test': { A: ['127.0.0.1'] },
  '_mta-sts.demo.test': { TXT: ['v=STSv1; id=20261123'] },
  'mta-sts.demo.test': { A: ['127.0.0.1'] },
  '_smtp._tls.demo.test': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@demo.test'] },
  'legacy.test': { MX: [{ priority: 10, exchange: 'mx.demo.test' }] },
  '_mta-sts.legacy.test': { TXT: ['v=STSv1; id=1'] },
  'mta-sts.legacy.test': { A: ['127.0.0.1'] },
});

const config = `# Written by npm run demo: servers on 127.0.0.1 started by scripts/demo.ts.
targets:
  - name: relay-good
    host: 127.0.0.1
    port: ${good.port}
    tls: starttls
  - name: relay-expired
    host: 127.0.0.1
    port: ${expired.port}
    tls: starttls
    checks: [smtp]
  - name: relay-weak-dh
    host: 127.0.0.1
    port: ${weakDh.port}
    tls: starttls
    checks: [tls]
domains:
  - demo.test
  - legacy.test
`;
const configPath = join(dir, 'mailprobe.config.yaml');
const caPath = join(dir, 'demo-ca.pem');
writeFileSync(configPath, config);
writeFileSync(caPath, pki.caPem);

const argv = [
  'run',
  '--config',
  configPath,
  '--ca-file',
  caPath,
  '--dns-server',
  `127.0.0.1:${dns.port}`,
  '--allow-private',
  '--policy-port',
  String((web.address() as AddressInfo).port),
  '--mx-port',
  String(good.port),
  ...process.argv.slice(2),
];
console.log(`$ mailprobe ${argv.join(' ')}\n`);
const code = await main(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
console.log(`\n(exit status ${code}: 1 because the demo includes broken servers on purpose)`);

await Promise.all([good.close(), expired.close(), weakDh.close(), dns.close()]);
web.closeAllConnections();
await new Promise<void>((resolve) => web.close(() => resolve()));
