/**
 * What `mailprobe run --explain-alerts` prints: the message a probe function would publish
 * for a result, without AWS. A local run has no history, so the result is shown as a
 * change from ok (the message the first failing runs would send after the hold count).
 */
import type { BaseResult } from '../result.js';
import type { AlertLinks, AlertMessage } from './format.js';
import { SNS_MAX_MESSAGE_BYTES, formatAlert } from './format.js';

export interface ExplainOptions {
  /** Applied to every string; pass the same redaction as the CLI's output. */
  readonly redact: (text: string) => string;
  readonly now: number;
  readonly links?: AlertLinks;
}

/** The message for `result`, or undefined when an ok result would send nothing. */
export function alertFor(result: BaseResult, options: ExplainOptions): AlertMessage | undefined {
  if (result.status === 'ok') return undefined;
  const startedAt = Date.parse(result.startedAt);
  return formatAlert(
    result,
    {
      kind: 'raised',
      previousStatus: 'ok',
      ...(Number.isFinite(startedAt) ? { failingSince: startedAt } : {}),
    },
    { redact: options.redact, now: options.now, ...(options.links === undefined ? {} : { links: options.links }) },
  );
}

/** A human-readable rendering: subject, attributes, size, the e-mail text and the JSON body. */
export function explainAlert(result: BaseResult, options: ExplainOptions): string {
  const who = `${result.check} ${result.name === undefined ? result.target : `${result.name} (${result.target})`}`;
  const message = alertFor(result, options);
  if (message === undefined) {
    return `No alert for ${options.redact(who)}: it is ok (a recovery is sent only after a failure was announced).\n`;
  }
  const attrs = Object.entries(message.input.MessageAttributes)
    .map(([name, value]) => `${name}=${value.StringValue ?? ''}`)
    .join(' ');
  return [
    `=== Alert for ${options.redact(who)} ===`,
    `Subject: ${message.subject}`,
    `Attributes: ${attrs}`,
    `Size: ${message.bytes} of ${SNS_MAX_MESSAGE_BYTES} bytes${message.omittedFindings > 0 ? `, ${message.omittedFindings} findings left out` : ''}`,
    '',
    '--- e-mail ---',
    message.text,
    '',
    '--- JSON (https, sqs, lambda, email-json) ---',
    JSON.stringify(message.json, null, 2),
    '',
  ].join('\n');
}
