/**
 * The DKIM selectors of an SES domain identity: SES Easy DKIM signs with three selectors, the
 * identity's DKIM tokens, published as `<token>._domainkey.<domain>` CNAMEs to
 * `<token>.dkim.amazonses.com` (docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html).
 * Read at run time, so a token SES rotates is followed without a redeploy. Loaded only for
 * checks that ask for it: the SES client is of no use to a domain without SES.
 */
import { GetIdentityDkimAttributesCommand, type SESClient } from '@aws-sdk/client-ses';
import { sesClientFor } from '../ses/account.js';

export interface SesSelectors {
  readonly selectors: readonly string[];
  /** SES's own view: Success, Pending, Failed, TemporaryFailure, NotStarted. */
  readonly status?: string;
  readonly enabled?: boolean;
}

/** Tokens are 32 lower-case base32 characters today; accept any DNS-label-safe token, no more than SES's three (plus head-room). */
const TOKEN = /^[a-z0-9]{1,63}$/;
const MAX_TOKENS = 8;

export async function sesDkimSelectors(
  domain: string,
  region: string,
  signal: AbortSignal,
  client: SESClient = sesClientFor(region),
): Promise<SesSelectors> {
  const out = await client.send(new GetIdentityDkimAttributesCommand({ Identities: [domain] }), {
    abortSignal: signal,
  });
  const attributes = out.DkimAttributes?.[domain];
  const tokens = (attributes?.DkimTokens ?? []).map((t) => t.toLowerCase()).filter((t) => TOKEN.test(t));
  return {
    selectors: [...new Set(tokens)].slice(0, MAX_TOKENS),
    ...(attributes?.DkimVerificationStatus !== undefined ? { status: attributes.DkimVerificationStatus } : {}),
    ...(attributes?.DkimEnabled !== undefined ? { enabled: attributes.DkimEnabled } : {}),
  };
}
