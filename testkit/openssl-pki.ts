/**
 * Certificates @peculiar/x509 on WebCrypto cannot make (WebCrypto knows P-256/384/521
 * only, and always writes a subject): made with the openssl command at test time, in a
 * temporary directory removed afterwards. openssl is installed by
 * scripts/install-system-deps.sh.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface OpensslChain {
  readonly root: PemPair;
  readonly intermediate: PemPair;
  readonly leaf: PemPair;
}

export interface OpensslChainOptions {
  /** Curve of the intermediate's key, e.g. `secp224r1`. @default prime256v1 */
  readonly intermediateCurve?: string;
  /** The leaf's subject, `/` for an empty one (RFC 5280 §4.1.2.6). @default /CN=localhost */
  readonly leafSubject?: string;
  /** @default subjectAltName=DNS:localhost,IP:127.0.0.1 (critical when the subject is empty) */
  readonly leafSan?: string;
}

function run(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** root (P-256) → intermediate → leaf (P-256), each signed with SHA-256. */
export function opensslChain(options: OpensslChainOptions = {}): OpensslChain {
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-openssl-'));
  try {
    const subject = options.leafSubject ?? '/CN=localhost';
    const san = options.leafSan ?? `subjectAltName=${subject === '/' ? 'critical,' : ''}DNS:localhost,IP:127.0.0.1`;
    writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    writeFileSync(
      join(dir, 'leaf.ext'),
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n${san}\n`,
    );
    const key = (name: string, curve: string) =>
      run(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', `${name}.key`]);
    key('root', 'prime256v1');
    key('int', options.intermediateCurve ?? 'prime256v1');
    key('leaf', 'prime256v1');
    run(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'root.key',
      '-subj',
      '/CN=openssl test root',
      '-days',
      '90',
      '-sha256',
      '-out',
      'root.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    run(dir, ['req', '-new', '-key', 'int.key', '-subj', '/CN=openssl test intermediate', '-out', 'int.csr']);
    run(dir, [
      'x509',
      '-req',
      '-in',
      'int.csr',
      '-CA',
      'root.pem',
      '-CAkey',
      'root.key',
      '-CAcreateserial',
      '-days',
      '90',
      '-sha256',
      '-extfile',
      'ca.ext',
      '-out',
      'int.pem',
    ]);
    run(dir, ['req', '-new', '-key', 'leaf.key', '-subj', subject, '-out', 'leaf.csr']);
    run(dir, [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'int.pem',
      '-CAkey',
      'int.key',
      '-CAcreateserial',
      '-days',
      '90',
      '-sha256',
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.pem',
    ]);
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return {
      root: { certPem: read('root.pem'), keyPem: read('root.key') },
      intermediate: { certPem: read('int.pem'), keyPem: read('int.key') },
      leaf: { certPem: read('leaf.pem'), keyPem: read('leaf.key') },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
