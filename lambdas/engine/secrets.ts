/**
 * SMTP credentials: where they come from (Secrets Manager or an environment variable)
 * and how they are kept out of every log line, error message and result.
 *
 * A secret is fetched once and cached (DESIGN.md: "once per invocation"): the Lambda
 * handler calls clearCredentialCache() at the start of each invocation, so a rotated
 * secret is picked up on the next run; the TTL bounds staleness for long CLI runs.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CredentialSource, Credentials } from './checks.js';
import { MailprobeError } from './errors.js';

export type CredentialErrorCode =
  /** The secret does not exist (or is scheduled for deletion). */
  | 'SECRET_NOT_FOUND'
  /** IAM or the KMS key policy refuses GetSecretValue / Decrypt. */
  | 'SECRET_ACCESS_DENIED'
  /** The secret is not JSON with string `username` and `password`. */
  | 'SECRET_INVALID'
  /** Throttling, network or service error: temporary. */
  | 'SECRET_UNAVAILABLE'
  /** `passwordEnv` names a variable that is unset or empty. */
  | 'PASSWORD_ENV_UNSET';

/**
 * Why credentials could not be resolved. The message names the secret ARN or variable
 * and what to do; it never contains the secret value, and no `cause` is attached that
 * could (a JSON SyntaxError quotes the text it failed on).
 */
export class CredentialError extends MailprobeError {
  override readonly name = 'CredentialError';
  readonly code: CredentialErrorCode;
  /** The secret ARN or environment variable name (never a value). */
  readonly source: string;
  /** The AWS error name, e.g. `AccessDeniedException`, when one caused this. */
  readonly awsErrorName?: string;

  constructor(code: CredentialErrorCode, source: string, message: string, awsErrorName?: string) {
    super(message, { context: { code, source, ...(awsErrorName !== undefined ? { awsErrorName } : {}) } });
    this.code = code;
    this.source = source;
    if (awsErrorName !== undefined) this.awsErrorName = awsErrorName;
  }
}

export function isCredentialError(err: unknown): err is CredentialError {
  return err instanceof CredentialError;
}

export interface CredentialDeps {
  readonly secretsManager?: SecretsManagerClient;
  readonly env?: NodeJS.ProcessEnv;
  /** Aborts the GetSecretValue call (the check's deadline). */
  readonly abortSignal?: AbortSignal;
  /** Milliseconds since the epoch, for the cache TTL. @default Date.now */
  readonly now?: () => number;
}

/** How long a fetched secret is reused when nothing clears the cache. */
export const CREDENTIAL_CACHE_TTL_MS = 5 * 60_000;

interface CacheEntry {
  readonly fetchedAt: number;
  readonly value: Promise<Credentials>;
  /** Set once the fetch succeeded, for callers that must not wait or call the API. */
  resolved?: Credentials;
}

const cache = new Map<string, CacheEntry>();
export const SECRETS_CONNECT_TIMEOUT_MS = 3_000;
export const SECRETS_REQUEST_TIMEOUT_MS = 5_000;
/** Clients by region ('' for the SDK's default region); they live as long as a warm Lambda. */
const clients = new Map<string, SecretsManagerClient>();

/** Forget every cached secret: call at the start of each Lambda invocation and in tests. */
export function clearCredentialCache(): void {
  cache.clear();
}

/** The region of a Secrets Manager ARN, so a secret in another region is read from there. */
function regionOfArn(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[0] === 'arn' && parts[2] === 'secretsmanager' && parts[3] ? parts[3] : undefined;
}

/** The SDK is loaded on first use: a CLI run without a secret never pays its import (~150 ms). */
const secretsManagerSdk = () => import('@aws-sdk/client-secrets-manager');

async function clientFor(arn: string, deps: CredentialDeps): Promise<SecretsManagerClient> {
  if (deps.secretsManager) return deps.secretsManager;
  const region = regionOfArn(arn) ?? '';
  let client = clients.get(region);
  if (client === undefined) {
    const { SecretsManagerClient } = await secretsManagerSdk();
    // Bounded network: the SDK sets no connection or request timeout by default, and a VPC
    // without a route to Secrets Manager would otherwise hang the probe until the Lambda dies.
    client = new SecretsManagerClient({
      ...(region === '' ? {} : { region }),
      maxAttempts: 2,
      requestHandler: { connectionTimeout: SECRETS_CONNECT_TIMEOUT_MS, requestTimeout: SECRETS_REQUEST_TIMEOUT_MS },
    });
    clients.set(region, client);
  }
  return client;
}

/** Parses `{ "username": "…", "password": "…" }`; errors say which field is wrong, never its value. */
export function parseCredentialSecret(text: string, arn: string): Credentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialError(
      'SECRET_INVALID',
      arn,
      `Secret ${arn} is not valid JSON. Store it as {"username": "…", "password": "…"} (key/value pairs in the console).`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CredentialError(
      'SECRET_INVALID',
      arn,
      `Secret ${arn} is not a JSON object with "username" and "password".`,
    );
  }
  const record = parsed as Record<string, unknown>;
  const missing = ['username', 'password'].filter((key) => typeof record[key] !== 'string' || record[key] === '');
  if (missing.length > 0) {
    throw new CredentialError(
      'SECRET_INVALID',
      arn,
      `Secret ${arn} lacks a non-empty string ${missing.map((k) => `"${k}"`).join(' and ')}; it needs {"username": "…", "password": "…"}.`,
    );
  }
  return { username: record.username as string, password: record.password as string };
}

function awsErrorName(err: unknown): string {
  if (err instanceof Error) return err.name;
  return 'UnknownError';
}

/** Maps an SDK failure to a CredentialError whose message says what to do. */
function secretsManagerError(err: unknown, arn: string): CredentialError {
  const name = awsErrorName(err);
  switch (name) {
    case 'ResourceNotFoundException':
      return new CredentialError(
        'SECRET_NOT_FOUND',
        arn,
        `Secret ${arn} was not found (ResourceNotFoundException). Check the ARN and the region it names.`,
        name,
      );
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'DecryptionFailure':
      return new CredentialError(
        'SECRET_ACCESS_DENIED',
        arn,
        `Access to secret ${arn} was denied (${name}). Grant secretsmanager:GetSecretValue on it, and kms:Decrypt if it uses a customer-managed key.`,
        name,
      );
    case 'InvalidRequestException':
      return new CredentialError(
        'SECRET_NOT_FOUND',
        arn,
        `Secret ${arn} cannot be read (InvalidRequestException): it is probably scheduled for deletion. Restore it or point the target at another secret.`,
        name,
      );
    case 'AbortError':
      return new CredentialError(
        'SECRET_UNAVAILABLE',
        arn,
        `Reading secret ${arn} was aborted by the check's deadline.`,
        name,
      );
    default:
      return new CredentialError(
        'SECRET_UNAVAILABLE',
        arn,
        `Secret ${arn} could not be read (${name}). Secrets Manager is unreachable or throttling; it may clear by itself.`,
        name,
      );
  }
}

/** GetSecretValue for one ARN; any failure becomes a CredentialError naming the ARN, never a value. */
async function getSecretValue(arn: string, deps: Pick<CredentialDeps, 'secretsManager' | 'abortSignal'>) {
  try {
    const { GetSecretValueCommand } = await secretsManagerSdk();
    return await (
      await clientFor(arn, deps)
    ).send(new GetSecretValueCommand({ SecretId: arn }), deps.abortSignal ? { abortSignal: deps.abortSignal } : {});
  } catch (err) {
    throw secretsManagerError(err, arn);
  }
}

async function fetchSecret(arn: string, deps: CredentialDeps): Promise<Credentials> {
  const output = await getSecretValue(arn, deps);
  const text =
    output.SecretString ?? (output.SecretBinary ? Buffer.from(output.SecretBinary).toString('utf8') : undefined);
  if (text === undefined) {
    throw new CredentialError(
      'SECRET_INVALID',
      arn,
      `Secret ${arn} has no value (neither SecretString nor SecretBinary).`,
    );
  }
  return parseCredentialSecret(text, arn);
}

/**
 * The plain string value of a secret (the flow token key), never cached: the flow function
 * reads it once per invocation, and a rotated key must apply to the next run at once.
 * Errors are CredentialErrors that name the ARN, never the value.
 *
 * @throws CredentialError
 */
export async function readSecretString(
  arn: string,
  deps: Pick<CredentialDeps, 'secretsManager' | 'abortSignal'> = {},
): Promise<string> {
  const output = await getSecretValue(arn, deps);
  if (output.SecretString === undefined || output.SecretString === '') {
    throw new CredentialError('SECRET_INVALID', arn, `Secret ${arn} has no SecretString.`);
  }
  return output.SecretString;
}

function fromEnv(source: { username: string; passwordEnv: string }, env: NodeJS.ProcessEnv): Credentials {
  const password = env[source.passwordEnv];
  if (password === undefined || password === '') {
    throw new CredentialError(
      'PASSWORD_ENV_UNSET',
      source.passwordEnv,
      `Environment variable ${source.passwordEnv} is ${password === undefined ? 'not set' : 'empty'}; set it to the SMTP password.`,
    );
  }
  return { username: source.username, password };
}

/**
 * Resolves a CredentialSource. `{ secretArn }` reads the JSON secret (cached; a failed
 * read is not cached, so the next check retries); `{ username, passwordEnv }` reads
 * the variable from `deps.env` (default process.env).
 *
 * @throws CredentialError
 */
export async function resolveCredentials(source: CredentialSource, deps: CredentialDeps = {}): Promise<Credentials> {
  const now = deps.now ?? Date.now;
  if ('passwordEnv' in source) return fromEnv(source, deps.env ?? process.env);
  const arn = source.secretArn;
  const cached = cache.get(arn);
  if (cached && now() - cached.fetchedAt < CREDENTIAL_CACHE_TTL_MS) return cached.value;
  const value = fetchSecret(arn, deps);
  const entry: CacheEntry = { fetchedAt: now(), value };
  cache.set(arn, entry);
  value.then(
    (credentials) => {
      entry.resolved = credentials;
    },
    () => {
      if (cache.get(arn)?.value === value) cache.delete(arn);
    },
  );
  return value;
}

/** Credentials already read in this invocation, without waiting or calling any API. */
export function cachedCredentials(
  source: CredentialSource,
  env: NodeJS.ProcessEnv = process.env,
): Credentials | undefined {
  if ('passwordEnv' in source) {
    const password = env[source.passwordEnv];
    return password ? { username: source.username, password } : undefined;
  }
  return cache.get(source.secretArn)?.resolved;
}

// Masking lives in mask.ts (no AWS SDK), so the SMTP session can mask replies at reception.
export { credentialSecrets, MASK, maskResultText, maskSecrets, redact } from './mask.js';
