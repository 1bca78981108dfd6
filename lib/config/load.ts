/**
 * Reads and validates the config file. Every problem is reported at once, each as
 * `path: what was expected, what was found`, so a user fixes the file in one pass.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { fileErrorReason } from '../fs-errors.js';
import { closestName } from '../suggest.js';
import { ConfigSchema, type MailProbeConfig } from './schema.js';
import { MailprobeError } from '../../lambdas/engine/errors.js';

export class ConfigError extends MailprobeError {
  override readonly name = 'ConfigError';
  /** The user's to fix: one line, exit 2. */
  override readonly userFacing = true;
  readonly code = 'CONFIG_INVALID';
  /** One line per problem: `targets[2].port: expected 1–65535, got "587a"`. */
  readonly problems: readonly string[];
  readonly source: string;

  constructor(source: string, problems: readonly string[], cause?: unknown) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      cause === undefined ? undefined : { cause },
    );
    this.problems = problems;
    this.source = source;
  }
}

/** Keys that hold a secret in clear text. `passwordEnv` (a variable's name) is not one, but the config has no use for it either. */
const PASSWORD_KEY = /^(password|passwd|pass|pwd|smtp_?password|secret|secret_?key|api_?key|token)$/i;

export const PASSWORD_HINT =
  'plain passwords are not accepted in the config (they would land in git, the CloudFormation template and the schedule input); store {"username","password"} as a JSON secret in AWS Secrets Manager and reference it with auth: { secretArn: "arn:aws:secretsmanager:…" }';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** Finds every password-like key holding a value, wherever it is in the document. */
export function findPlainSecrets(value: unknown, path: PropertyKey[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => findPlainSecrets(item, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  const problems: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    if (PASSWORD_KEY.test(key) && inner !== null && inner !== '' && typeof inner !== 'object') {
      problems.push(`${formatPath([...path, key])}: ${PASSWORD_HINT}`);
    } else {
      problems.push(...findPlainSecrets(inner, [...path, key]));
    }
  }
  return problems;
}

/**
 * A union reports one issue per branch; the most useful one is the branch that got
 * furthest (deepest path), e.g. `targets[0].port` rather than "not an SES preset".
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((branch) => ({
        branch,
        depth: Math.max(0, ...branch.map((i) => i.path.length)),
        typeOnly: branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
      }));
      const informative = branches.filter((b) => !b.typeOnly);
      if (informative.length > 0) {
        const best = informative.reduce((a, b) => (b.depth > a.depth ? b : a));
        // Keys unknown to one branch (e.g. `ses` to an SMTP target) are noise when another branch got deeper.
        out.push(...flattenIssues(best.branch, path));
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = closestName(key, knownKeysAt(path));
        const advice = near === undefined ? 'check the spelling' : `did you mean "${near}"?`;
        out.push(`${formatPath([...path, key])}: unknown key (${advice}; see schema/mailprobe.config.schema.json)`);
      }
      continue;
    }
    out.push(`${formatPath(path)}: ${issue.message}`);
  }
  return out;
}

type JsonSchemaNode = {
  readonly properties?: Record<string, JsonSchemaNode>;
  readonly items?: JsonSchemaNode;
  readonly anyOf?: readonly JsonSchemaNode[];
  readonly oneOf?: readonly JsonSchemaNode[];
};

let configJsonSchema: JsonSchemaNode | undefined;

/** The keys the schema allows at `path` (every branch of a union), to suggest from. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  configJsonSchema ??= z.toJSONSchema(ConfigSchema, { io: 'input' }) as JsonSchemaNode;
  let nodes: JsonSchemaNode[] = [configJsonSchema];
  const expand = (list: JsonSchemaNode[]): JsonSchemaNode[] =>
    list.flatMap((n) => [n, ...expand([...(n.anyOf ?? []), ...(n.oneOf ?? [])])]);
  for (const key of path) {
    nodes = expand(nodes).flatMap((n) => {
      if (typeof key === 'number') return n.items ? [n.items] : [];
      const next = n.properties?.[String(key)];
      return next ? [next] : [];
    });
  }
  return [...new Set(expand(nodes).flatMap((n) => Object.keys(n.properties ?? {})))];
}

export function validateConfig(raw: unknown, source = 'config'): MailProbeConfig {
  const secrets = findPlainSecrets(raw);
  const result = ConfigSchema.safeParse(raw);
  const problems = [...secrets];
  if (!result.success) {
    for (const p of flattenIssues(result.error.issues)) {
      // A password key is already reported with the Secrets Manager hint; "unknown key" would only repeat it.
      if (!secrets.some((s) => s.split(':')[0] === p.split(':')[0])) problems.push(p);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(source, [...new Set(problems)]);
  const config = result.data;
  // A config that checks nothing would deploy a stack that pages nobody about anything.
  if ((config.targets?.length ?? 0) === 0 && (config.domains?.length ?? 0) === 0 && config.tlsRpt === undefined) {
    throw new ConfigError(source, [
      '(root): the config checks nothing: add at least one entry to `targets` (SMTP endpoints or SES presets) or `domains` (see mailprobe.config.example.yaml)',
    ]);
  }
  return config;
}

export type ConfigFormat = 'json' | 'yaml';

export function parseConfigText(text: string, format: ConfigFormat, source = 'config'): MailProbeConfig {
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError(source, [`not valid ${format.toUpperCase()}${where}: ${(err as Error).message}`], err);
  }
  if (raw === null || raw === undefined) raw = {};
  return validateConfig(raw, source);
}

/** Reads `.json`, `.yaml` or `.yml`; throws ConfigError (code CONFIG_INVALID) naming every problem. */
export function loadConfig(path: string): MailProbeConfig {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new ConfigError(path, [`expected a .json, .yaml or .yml file, got "${ext || 'no extension'}"`]);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${fileErrorReason(err)}`], err);
  }
  return parseConfigText(text, ext === '.json' ? 'json' : 'yaml', path);
}
