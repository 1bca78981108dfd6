/**
 * The result contract as a schema users can read and validate against without this
 * repository's source: `schema/mailprobe.result.schema.json` is generated from it
 * (`npx tsx scripts/gen-schema.ts`). The fields every result shares are exact; each check's
 * details (timings, tls, policy, mx, …) are open, since fields are only ever added.
 *
 * It lives in lib/, not in the engine: the Lambdas never validate their own output, and
 * zod stays out of their bundles.
 */
import { z } from 'zod';
import { FINDINGS, type FindingCode } from '../lambdas/engine/findings.js';
import type { CheckKind } from '../lambdas/engine/result.js';

const CHECKS = [
  'smtp',
  'tls',
  'mta-sts',
  'ses-account',
  'dane',
  'flow',
  'sender-auth',
] as const satisfies readonly CheckKind[];
// Fails to compile when a kind is added to CheckKind and not here.
type Missing = Exclude<CheckKind, (typeof CHECKS)[number]>;
const everyKindListed: [Missing] extends [never] ? true : Missing = true;
void everyKindListed;

const CODES = Object.keys(FINDINGS) as [FindingCode, ...FindingCode[]];
const Severity = z.enum(['info', 'warning', 'critical']);

const Finding = z.looseObject({
  code: z.enum(CODES).describe('A stable identifier: alarms, dashboards and runbooks depend on it.'),
  severity: Severity,
  message: z.string().describe('What the probe saw, for a person.'),
  hint: z.string().describe('What to do about it.'),
});

const Change = z.looseObject({
  code: z.enum(CODES),
  severity: Severity,
  message: z.string(),
  hint: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});

export const ResultSchema = z
  .looseObject({
    check: z.enum(CHECKS),
    target: z.string().describe('`host:port`, a domain or a region.'),
    name: z.string().optional().describe("The target's name from the config."),
    status: z.enum(['ok', 'warning', 'critical']).describe('The worst severity among the findings.'),
    startedAt: z.iso.datetime(),
    durationMs: z.number().int().nonnegative(),
    findings: z.array(Finding).describe('Worst first: the first finding decided the status.'),
    findingsOmitted: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Findings left out to keep the result under 32 KiB (lists anywhere in a result may carry such a `<list>Omitted` count).',
      ),
    changes: z.array(Change).optional().describe('With state: what changed since the last run, reported once.'),
  })
  .describe('One result of one check (one JSON log line in the Lambda, one entry of the CLI’s --json).');

const ResultsDocument = z
  .object({
    version: z.literal(1),
    results: z.array(ResultSchema),
  })
  .describe('The results of a run (exit status 0, or 1 when any result is critical).');

const ErrorDocument = z
  .object({
    version: z.literal(1),
    error: z.looseObject({
      type: z.string().describe('UsageError, ConfigError, PlanError, …'),
      message: z.string().describe('What to fix, in one line (the same line goes to stderr).'),
      problems: z.array(z.string()).optional().describe('Every problem of a config file, one line each.'),
      exitCode: z.literal(2),
    }),
  })
  .describe('A usage or configuration error (exit status 2).');

export const ResultDocumentSchema = z
  .union([ResultsDocument, ErrorDocument])
  .describe('What `mailprobe … --json` prints.');
