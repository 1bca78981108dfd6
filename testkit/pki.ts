/**
 * Certificates generated at test time (never a bundled PEM that silently expires):
 * CAs, leaves and the broken variants a probe must recognise, built with @peculiar/x509
 * on Node's WebCrypto. EC P-256 by default because it is generated in microseconds;
 * RSA keys are cached per size because a 2048-bit key costs ~100 ms.
 */
import * as crypto from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { promisify } from 'node:util';

installReflectMetadataShim();
// Imported only after the shim: tsyringe checks for Reflect.getMetadata when it loads.
const x509 = await import('@peculiar/x509');
// The library types WebCrypto with the DOM lib, which this Node-only project does not load.
x509.cryptoProvider.set(crypto.webcrypto as never);

/**
 * @peculiar/x509 resolves its algorithm providers through tsyringe, which refuses to load
 * without a Reflect metadata polyfill, and none is a dependency of this repository.
 * tsyringe only calls these three functions for constructor metadata, so a WeakMap is
 * enough. Installed only when no real polyfill is present.
 */
function installReflectMetadataShim(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect['getMetadata'] === 'function') return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const own = (target: object): Map<unknown, unknown> => {
    let entries = store.get(target);
    if (entries === undefined) store.set(target, (entries = new Map()));
    return entries;
  };
  reflect['defineMetadata'] = (key: unknown, value: unknown, target: object): void => {
    own(target).set(key, value);
  };
  reflect['getOwnMetadata'] = (key: unknown, target: object): unknown => store.get(target)?.get(key);
  reflect['getMetadata'] = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const entries = store.get(t);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };
}

export type KeySpec =
  { readonly type: 'rsa'; readonly bits: number } | { readonly type: 'ec'; readonly curve: 'P-256' };
export type SignatureHash = 'SHA-256' | 'SHA-1';

/** A certificate with its private key, usable as a server credential or as an issuer. */
export interface Issued {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** Distinguished name, e.g. `CN=mailprobe test root`. */
  readonly subject: string;
  readonly x509: crypto.X509Certificate;
  readonly key: KeySpec;
  readonly privateKey: crypto.KeyObject;
  readonly publicKey: crypto.KeyObject;
}

export interface CaOptions {
  readonly commonName: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** @default { type: 'ec', curve: 'P-256' } */
  readonly key?: KeySpec;
}

export interface CertificateOptions {
  /** @default the first DNS name, else `mailprobe test leaf` */
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** @default one hour ago (tolerates clock skew between generation and use) */
  readonly notBefore?: Date;
  /** @default 90 days from now */
  readonly notAfter?: Date;
  /** @default { type: 'ec', curve: 'P-256' } */
  readonly key?: KeySpec;
  /** @default 'SHA-256' */
  readonly signatureHash?: SignatureHash;
  /** Issue a CA certificate (an intermediate) instead of a server certificate. @default false */
  readonly isCa?: boolean;
}

const DAY_MS = 86_400_000;
const EC_P256: KeySpec = { type: 'ec', curve: 'P-256' };

export function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * DAY_MS);
}

const generateKeyPair = promisify(crypto.generateKeyPair);
const rsaKeyCache = new Map<number, Promise<crypto.KeyPairKeyObjectResult>>();

async function newKeyPair(spec: KeySpec): Promise<crypto.KeyPairKeyObjectResult> {
  if (spec.type === 'ec') return generateKeyPair('ec', { namedCurve: 'prime256v1' });
  let cached = rsaKeyCache.get(spec.bits);
  if (cached === undefined) {
    cached = generateKeyPair('rsa', { modulusLength: spec.bits });
    rsaKeyCache.set(spec.bits, cached);
  }
  return cached;
}

/** WebCrypto binds the hash to RSA keys at import, so the key is imported per signature. */
function webAlgorithm(
  spec: KeySpec,
  hash: SignatureHash,
): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams {
  return spec.type === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash }
    : ({ name: 'ECDSA', namedCurve: 'P-256', hash } as webcrypto.EcKeyImportParams);
}

async function importKeys(
  subjectPublic: crypto.KeyObject,
  subjectSpec: KeySpec,
  signer: crypto.KeyObject,
  signerSpec: KeySpec,
  hash: SignatureHash,
): Promise<{ publicKey: webcrypto.CryptoKey; signingKey: webcrypto.CryptoKey }> {
  const subtle = crypto.webcrypto.subtle;
  const spki = subjectPublic.export({ format: 'der', type: 'spki' });
  const pkcs8 = signer.export({ format: 'der', type: 'pkcs8' });
  const publicKey = (await subtle.importKey('spki', spki, webAlgorithm(subjectSpec, hash), true, [
    'verify',
  ])) as webcrypto.CryptoKey;
  const signingKey = (await subtle.importKey('pkcs8', pkcs8, webAlgorithm(signerSpec, hash), false, [
    'sign',
  ])) as webcrypto.CryptoKey;
  return { publicKey, signingKey };
}

let serial = 0;
function nextSerial(): string {
  // Unique per process and positive (leading nibble below 8), as RFC 5280 §4.1.2.2 requires.
  serial += 1;
  return `1${crypto.randomBytes(7).toString('hex')}${serial.toString(16).padStart(4, '0')}`;
}

interface BuildParams {
  readonly subject: string;
  readonly keySpec: KeySpec;
  /** Absent: self-signed. */
  readonly issuer?: Issued;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly hash: SignatureHash;
  readonly isCa: boolean;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** Certify this existing key instead of a new one (cross-signing). */
  readonly existingKey?: crypto.KeyPairKeyObjectResult;
}

async function build(p: BuildParams): Promise<Issued> {
  const pair = p.existingKey ?? (await newKeyPair(p.keySpec));
  const signerKey = p.issuer?.privateKey ?? pair.privateKey;
  const signerSpec = p.issuer?.key ?? p.keySpec;
  const { publicKey, signingKey } = await importKeys(pair.publicKey, p.keySpec, signerKey, signerSpec, p.hash);
  const issuerSpki = (p.issuer?.publicKey ?? pair.publicKey).export({ format: 'der', type: 'spki' });

  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(p.isCa, undefined, true),
    new x509.KeyUsagesExtension(
      p.isCa
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(new Uint8Array(issuerSpki)),
  ];
  if (!p.isCa) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
  const altNames = [
    ...p.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...p.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: p.subject,
    issuer: p.issuer?.subject ?? p.subject,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: webAlgorithm(signerSpec, p.hash),
    publicKey,
    signingKey,
    extensions,
  });
  const certPem = cert.toString('pem') + '\n';
  return {
    certPem,
    keyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    subject: p.subject,
    x509: new crypto.X509Certificate(certPem),
    key: p.keySpec,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
  };
}

/** A self-signed root CA. */
export function createCa(options: CaOptions): Promise<Issued> {
  return build({
    subject: `CN=${options.commonName}`,
    keySpec: options.key ?? EC_P256,
    notBefore: options.notBefore ?? daysFromNow(-1),
    notAfter: options.notAfter ?? daysFromNow(3650),
    hash: 'SHA-256',
    isCa: true,
    dnsNames: [],
    ipAddresses: [],
  });
}

function leafParams(options: CertificateOptions): Omit<BuildParams, 'issuer'> {
  const dnsNames = options.dnsNames ?? [];
  return {
    subject: `CN=${options.commonName ?? dnsNames[0] ?? 'mailprobe test leaf'}`,
    keySpec: options.key ?? EC_P256,
    notBefore: options.notBefore ?? new Date(Date.now() - 3_600_000),
    notAfter: options.notAfter ?? daysFromNow(90),
    hash: options.signatureHash ?? 'SHA-256',
    isCa: options.isCa ?? false,
    dnsNames,
    ipAddresses: options.ipAddresses ?? [],
  };
}

/** A certificate signed by `issuer`: a server certificate, or an intermediate CA with `isCa`. */
export function issueCertificate(issuer: Issued, options: CertificateOptions = {}): Promise<Issued> {
  return build({ ...leafParams(options), issuer });
}

/**
 * A cross-certificate: `ca`'s subject and key, signed by `issuer`. Servers often still
 * send one (e.g. an expired cross-sign to an old root) although clients build their path
 * to the self-signed root in their store instead.
 */
export function crossSign(
  ca: Issued,
  issuer: Issued,
  options: Pick<CertificateOptions, 'notBefore' | 'notAfter'> = {},
): Promise<Issued> {
  return build({
    ...leafParams({ ...options, isCa: true }),
    subject: ca.subject,
    keySpec: ca.key,
    issuer,
    existingKey: { publicKey: ca.publicKey, privateKey: ca.privateKey },
  });
}

/** A self-signed server certificate (not a CA), as found on mail servers that never got a real one. */
export function createSelfSigned(options: CertificateOptions = {}): Promise<Issued> {
  return build(leafParams(options));
}

/** The names the test servers listen under. */
export const LOCALHOST_NAMES: Pick<CertificateOptions, 'dnsNames' | 'ipAddresses'> = {
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
};

/** A server's credentials: its key and the certificates it sends, leaf first. */
export interface ServerCredentials {
  readonly key: string;
  readonly cert: string;
}

export interface TestPki {
  readonly root: Issued;
  readonly intermediate: Issued;
  /** Valid for `localhost` and `127.0.0.1`, issued by the intermediate. */
  readonly leaf: Issued;
  /** The root's PEM, to trust through ProbeContext.extraCa. */
  readonly caPem: string;
  /** Key plus leaf and intermediate: a correctly configured server. `withIntermediate: false` omits it. */
  credentials(leaf?: Issued, options?: { withIntermediate?: boolean; withRoot?: boolean }): ServerCredentials;
  /** A leaf for localhost/127.0.0.1 from the intermediate, with any option overridden. */
  issueLeaf(options?: CertificateOptions): Promise<Issued>;
  expired(): Promise<Issued>;
  expiringInDays(days: number): Promise<Issued>;
  notYetValid(): Promise<Issued>;
  /** Self-signed, for localhost/127.0.0.1, not chaining to the root. */
  selfSigned(): Promise<Issued>;
  /** Valid chain, but for `mail.example.net` only. */
  wrongName(): Promise<Issued>;
  rsa1024(): Promise<Issued>;
  /** Signed by the intermediate with ECDSA-with-SHA1. */
  sha1(): Promise<Issued>;
}

/** root → intermediate → leaf for localhost, plus the broken variants a probe must report. */
export async function createTestPki(options: { rootName?: string } = {}): Promise<TestPki> {
  const root = await createCa({ commonName: options.rootName ?? 'mailprobe test root' });
  const intermediate = await issueCertificate(root, {
    commonName: `${options.rootName ?? 'mailprobe test'} intermediate`,
    isCa: true,
    notAfter: daysFromNow(1825),
  });
  const issueLeaf = (o: CertificateOptions = {}): Promise<Issued> =>
    issueCertificate(intermediate, { ...LOCALHOST_NAMES, ...o });
  const leaf = await issueLeaf();
  return {
    root,
    intermediate,
    leaf,
    caPem: root.certPem,
    credentials: (l = leaf, o = {}) => ({
      key: l.keyPem,
      cert:
        l.certPem +
        (o.withIntermediate === false ? '' : intermediate.certPem) +
        (o.withRoot === true ? root.certPem : ''),
    }),
    issueLeaf,
    expired: () => issueLeaf({ notBefore: daysFromNow(-100), notAfter: daysFromNow(-10) }),
    // Half a day on top, so "N days" stays N whole days however long the test takes.
    expiringInDays: (days) => issueLeaf({ notAfter: new Date(Date.now() + days * DAY_MS + DAY_MS / 2) }),
    notYetValid: () => issueLeaf({ notBefore: daysFromNow(10), notAfter: daysFromNow(100) }),
    selfSigned: () => createSelfSigned({ ...LOCALHOST_NAMES, commonName: 'localhost' }),
    wrongName: () => issueLeaf({ dnsNames: ['mail.example.net'], ipAddresses: [] }),
    rsa1024: () => issueLeaf({ key: { type: 'rsa', bits: 1024 } }),
    sha1: () => issueLeaf({ signatureHash: 'SHA-1' }),
  };
}

// --- DH parameters ---------------------------------------------------------------------

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(value: Buffer): Buffer {
  // A DER INTEGER is two's complement: a leading 1 bit needs a 0x00 in front to stay positive.
  const body = (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/**
 * PKCS#3 DHparams (`SEQUENCE { prime INTEGER, base INTEGER }`) for the RFC 2409/3526 MODP
 * groups Node ships, so DHE test servers start instantly instead of generating primes.
 */
export function dhParamsPem(bits: 1024 | 2048): string {
  const group = crypto.getDiffieHellman(bits === 1024 ? 'modp2' : 'modp14');
  const body = Buffer.concat([derInteger(group.getPrime()), derInteger(group.getGenerator())]);
  const der = Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN DH PARAMETERS-----\n${lines.join('\n')}\n-----END DH PARAMETERS-----\n`;
}
