/**
 * The `ses-account` check: is sending enabled, how much of the 24-hour quota is used,
 * does the account look sandboxed, are the configured identities verified and is their
 * DKIM verified. Read-only SES v1 calls (SES_ACCOUNT_IAM_ACTIONS), all under the
 * check's deadline; API failures become findings, never exceptions.
 */
import {
  GetAccountSendingEnabledCommand,
  GetIdentityDkimAttributesCommand,
  GetIdentityVerificationAttributesCommand,
  GetSendQuotaCommand,
  SESClient,
} from '@aws-sdk/client-ses';
import type { SesAccountCheckSpec } from '../checks.js';
import type { ProbeContext } from '../context.js';
import { baseResult, type BaseResult } from '../result.js';
import type { IdentityAnswers, SesIdentityStatus, SesQuota } from './account-eval.js';
import {
  DEFAULT_QUOTA_WARN_PERCENT,
  accountFindings,
  domainOf,
  identityStatuses,
  isSandboxQuota,
  quotaOf,
} from './account-eval.js';
import type { SesApiFailure } from './api-errors.js';
import { apiFailureFindings, classifySesError } from './api-errors.js';

export type { SesIdentityStatus, SesQuota } from './account-eval.js';
export type { SesApiFailure } from './api-errors.js';
export { SES_ACCOUNT_IAM_ACTIONS } from './api-errors.js';

export interface SesAccountResult extends BaseResult {
  readonly check: 'ses-account';
  /** The region (also the target). */
  readonly region: string;
  /** null when GetAccountSendingEnabled failed. */
  readonly sendingEnabled: boolean | null;
  /** null when GetSendQuota failed. Metric `QuotaUsedPercent` comes from `quota.usedPercent`. */
  readonly quota: SesQuota | null;
  /** Quota of exactly 200/day at 1/s, the sandbox's; null without a quota. */
  readonly sandboxSuspected: boolean | null;
  readonly identities: readonly SesIdentityStatus[];
  /** The SES calls that failed, for the log line; each also yields a finding. */
  readonly apiErrors: readonly SesApiFailure[];
}

export interface SesAccountDeps {
  /** An SES client for spec.region; one is created when absent. */
  readonly client?: SESClient;
}

/** One client per region, reused by a warm Lambda (connection reuse, credentials cached). */
const clients = new Map<string, SESClient>();

export function sesClientFor(region: string): SESClient {
  let client = clients.get(region);
  if (client === undefined) {
    client = new SESClient({ region });
    clients.set(region, client);
  }
  return client;
}

/** GetIdentityVerificationAttributes and GetIdentityDkimAttributes take at most 100 identities. */
export const IDENTITIES_PER_CALL = 100;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

class CallDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  /** Rejects when the deadline passes, so a call whose transport ignores the signal still ends. */
  readonly expired: Promise<never>;

  constructor(timeoutMs: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener('abort', () => {
        const err = new Error('the ses-account check reached its deadline');
        err.name = 'AbortError';
        reject(err);
      });
    });
    this.expired.catch(() => undefined);
    this.timer = setTimeout(() => this.controller.abort(), Math.max(0, timeoutMs));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

export async function runSesAccountCheck(
  spec: SesAccountCheckSpec,
  ctx: ProbeContext,
  deps: SesAccountDeps = {},
): Promise<SesAccountResult> {
  const startedMs = ctx.clock.now();
  const client = deps.client ?? sesClientFor(spec.region);
  const deadline = new CallDeadline(spec.timeoutMs ?? ctx.timeoutMs);
  const failures: SesApiFailure[] = [];

  /** One SES call: its answer, or undefined with the failure recorded. */
  async function call<T>(operation: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    if (deadline.signal.aborted) {
      failures.push(classifySesError(operation, abortError()));
      return undefined;
    }
    try {
      return await Promise.race([send(deadline.signal), deadline.expired]);
    } catch (err) {
      failures.push(classifySesError(operation, deadline.signal.aborted ? abortError() : err));
      return undefined;
    }
  }

  const configured = [...new Set(spec.identities ?? [])];
  // Ask for the domains of address identities too: a verified domain covers its addresses.
  const asked = [...new Set([...configured, ...configured.map(domainOf).filter((d): d is string => d !== undefined)])];

  try {
    // One call at a time: SES throttles its non-sending API actions at about one request
    // per second per account (docs.aws.amazon.com/ses/latest/dg/quotas.html), shared with
    // every other client of the account; the SDK's retries absorb the occasional burst.
    const enabled = await call('GetAccountSendingEnabled', (abortSignal) =>
      client.send(new GetAccountSendingEnabledCommand({}), { abortSignal }),
    );
    const quotaResponse = await call('GetSendQuota', (abortSignal) =>
      client.send(new GetSendQuotaCommand({}), { abortSignal }),
    );
    const verification = await mergedChunks(asked, async (Identities) => {
      const out = await call('GetIdentityVerificationAttributes', (abortSignal) =>
        client.send(new GetIdentityVerificationAttributesCommand({ Identities }), { abortSignal }),
      );
      return out && (out.VerificationAttributes ?? {});
    });
    const dkim = await mergedChunks(asked, async (Identities) => {
      const out = await call('GetIdentityDkimAttributes', (abortSignal) =>
        client.send(new GetIdentityDkimAttributesCommand({ Identities }), { abortSignal }),
      );
      return out && (out.DkimAttributes ?? {});
    });

    const sendingEnabled = enabled?.Enabled ?? null;
    const quota = quotaResponse ? quotaOf(quotaResponse) : null;
    const answers: IdentityAnswers = {
      ...(verification ? { verification } : {}),
      ...(dkim ? { dkim } : {}),
    };
    const identities = identityStatuses(configured, answers);
    const findings = [
      ...accountFindings({
        region: spec.region,
        sendingEnabled,
        quota,
        identities,
        quotaWarnPercent: spec.quotaWarnPercent ?? DEFAULT_QUOTA_WARN_PERCENT,
      }),
      ...apiFailureFindings(failures, spec.region),
    ];
    return {
      ...baseResult(spec, findings, startedMs, ctx.clock),
      region: spec.region,
      sendingEnabled,
      quota,
      sandboxSuspected: quota ? isSandboxQuota(quota) : null,
      identities,
      apiErrors: failures,
    };
  } finally {
    deadline.dispose();
  }
}

/** Runs `fetch` per chunk of 100 identities, in turn; the merged map, or undefined when any chunk failed. */
async function mergedChunks<T>(
  identities: readonly string[],
  fetch: (chunk: string[]) => Promise<Record<string, T> | undefined>,
): Promise<Record<string, T> | undefined> {
  if (identities.length === 0) return undefined;
  const merged: Record<string, T> = {};
  let complete = true;
  // Every chunk is asked even after a failure, so each failed call is recorded.
  for (const chunk of chunks(identities, IDENTITIES_PER_CALL)) {
    const part = await fetch(chunk);
    if (part === undefined) complete = false;
    else Object.assign(merged, part);
  }
  return complete ? merged : undefined;
}

function abortError(): Error {
  const err = new Error('the ses-account check reached its deadline');
  err.name = 'AbortError';
  return err;
}
