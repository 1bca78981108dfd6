/**
 * Publishing one alert to SNS with retries. Resolves with the outcome and never rejects:
 * a failed alert must not fail the probe run whose results and metrics already stand.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { AlertMessage } from './format.js';
import type { Backoff } from '../aws-retry.js';
import { errorFacts, withRetries } from '../aws-retry.js';

import type { Log } from '../log.js';

/** The engine's log (log.ts), as the alert path receives it. Never receives a message body. */
export type AlertLog = Log;

export interface PublishOptions extends Backoff {
  readonly client: Pick<SNSClient, 'send'>;
  readonly topicArn: string;
  readonly log?: AlertLog;
}

export type PublishOutcome =
  | { readonly ok: true; readonly messageId?: string; readonly attempts: number }
  | { readonly ok: false; readonly error: string; readonly attempts: number };

/** What publishing needs of a message; the TLS-RPT receivers' report alerts have this shape too. */
export type PublishableMessage = Pick<AlertMessage, 'subject' | 'input'>;

/** Publishes one alert with retries; resolves with the outcome, never rejects. */
export async function publishAlert(message: PublishableMessage, options: PublishOptions): Promise<PublishOutcome> {
  let attempts = 0;
  try {
    const out = await withRetries(
      (attempt) => {
        attempts = attempt;
        return options.client.send(new PublishCommand({ TopicArn: options.topicArn, ...message.input }));
      },
      options,
      (err, attempt, willRetry) => {
        const facts = errorFacts(err);
        options.log?.({
          level: willRetry ? 'warn' : 'error',
          msg: willRetry ? 'alert publish failed, retrying' : 'alert publish failed',
          attempt,
          error: facts.name,
          ...(facts.status === undefined ? {} : { httpStatus: facts.status }),
          errorMessage: facts.message,
          subject: message.subject,
        });
      },
    );
    return { ok: true, attempts, ...(out.MessageId === undefined ? {} : { messageId: out.MessageId }) };
  } catch (err) {
    return { ok: false, error: errorFacts(err).name, attempts };
  }
}

/** A `Notify` for processAlerts that publishes to the topic with these retries. */
export function snsNotifier(options: PublishOptions): (message: AlertMessage) => Promise<boolean> {
  return async (message) => (await publishAlert(message, options)).ok;
}
