/**
 * The same alert in the custom-notification format of AWS Chatbot (Amazon Q Developer in
 * chat applications), which drops free-form SNS messages: a topic mapped to a Slack or
 * Teams channel must carry `{ version: '1.0', source: 'custom', content, metadata }`
 * (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html).
 *
 * Built from the rendered alert (already redacted and capped), never from the raw result.
 * Text from outside (a server's reply inside a finding message) is shown as inline code with
 * backticks, control and bidi characters removed, so it cannot format, link or reorder the
 * channel's text; hints are mailprobe's own words.
 */
import type { BaseResult } from '../result.js';
import type { AlertMessage, AlertTransition, FormatOptions } from './format.js';
import { SNS_MAX_MESSAGE_BYTES, formatAlert } from './format.js';

/** Conservative caps under what chat platforms display without folding. */
export const CHATBOT_LIMITS = {
  titleChars: 250,
  descriptionChars: 4_000,
  nextSteps: 5,
  stepChars: 300,
  keywords: 10,
  keywordChars: 50,
  summaryChars: 250,
} as const;

export interface ChatbotNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps: readonly string[];
    readonly keywords: readonly string[];
  };
  readonly metadata: {
    /** One thread per target: its raise, reminders and resolution read as one conversation. */
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly relatedResources: readonly string[];
    readonly additionalContext: Readonly<Record<string, string>>;
  };
}

const ICON: Readonly<Record<string, string>> = {
  critical: ':red_circle:',
  warning: ':warning:',
  ok: ':white_check_mark:',
};

// C0/C1 controls, and the bidi overrides/isolates that reorder text on screen (CVE-2021-42574's trick).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Outside text as inline code: no markdown, links or mentions can come out of it. */
export function quoted(text: string, max = CHATBOT_LIMITS.stepChars): string {
  const clean = clip(text.replace(UNSAFE, ' ').replace(/`/g, "'").replace(/\s+/g, ' ').trim(), max);
  return clean === '' ? '' : `\`${clean}\``;
}

interface JsonFinding {
  readonly code?: unknown;
  readonly severity?: unknown;
  readonly message?: unknown;
  readonly hint?: unknown;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

export function chatbotNotification(message: AlertMessage, id: string): ChatbotNotification {
  const json = message.json;
  const status = str(json['status']);
  const check = str(json['check']);
  const target = str(json['target']);
  const name = str(json['name']);
  const transition = str(json['transition']) || 'status';
  const findings = (Array.isArray(json['findings']) ? json['findings'] : []) as JsonFinding[];
  const changes = (Array.isArray(json['changes']) ? json['changes'] : []) as JsonFinding[];
  const shown = [...changes, ...findings].filter((f) => str(f.code) !== '');

  const lines = shown.map((f) => `*${str(f.code)}* (${str(f.severity)}): ${quoted(str(f.message))}`);
  let description = '';
  for (const line of lines) {
    if (description.length + line.length + 1 > CHATBOT_LIMITS.descriptionChars) {
      description += `\n…and ${lines.length - description.split('\n').length} more`;
      break;
    }
    description = description === '' ? line : `${description}\n${line}`;
  }
  if (description === '') description = status === 'ok' ? 'No findings: the check passes again.' : 'No findings.';

  const hints = [...new Set(shown.map((f) => str(f.hint)).filter((h) => h !== ''))];
  const codes = [...new Set(shown.map((f) => str(f.code)))];
  return {
    version: '1.0',
    source: 'custom',
    id,
    content: {
      textType: 'client-markdown',
      title: clip(`${ICON[status] ?? ''} ${message.subject}`.trim(), CHATBOT_LIMITS.titleChars),
      description,
      nextSteps: hints.slice(0, CHATBOT_LIMITS.nextSteps).map((h) => clip(h, CHATBOT_LIMITS.stepChars)),
      keywords: [check, status, ...codes]
        .filter((k) => k !== '')
        .slice(0, CHATBOT_LIMITS.keywords)
        .map((k) => clip(k, CHATBOT_LIMITS.keywordChars)),
    },
    metadata: {
      threadId: `${check}#${target}`,
      summary: clip(message.subject, CHATBOT_LIMITS.summaryChars),
      eventType: transition,
      relatedResources: [target],
      additionalContext: {
        check,
        target,
        ...(name === '' ? {} : { name }),
        status,
        previousStatus: str(json['previousStatus']),
      },
    },
  };
}

/**
 * How the probes' change notifications are published (config `alerting.format`). `chatbot`:
 * the message for HTTPS subscribers and for every protocol without its own key is the
 * custom notification, so a topic mapped to a Slack or Teams channel shows it; e-mail keeps
 * the text, SMS the subject, SQS, Lambda and email-json the result JSON.
 */
export type AlertFormat = 'text' | 'chatbot';
export const ALERT_FORMATS: readonly AlertFormat[] = ['text', 'chatbot'];

/** SNS envelope keys that carry the Chatbot payload: Chatbot subscribes over HTTPS; `default` covers the rest. */
const CHATBOT_KEYS = ['default', 'https'] as const;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** The message with the Chatbot payload in the envelope's `default` and `https` keys. */
export function withChatbotPayload(message: AlertMessage, id: string): AlertMessage {
  const envelope = JSON.parse(message.input.Message) as Record<string, string>;
  const payload = JSON.stringify(chatbotNotification(message, id));
  for (const key of CHATBOT_KEYS) envelope[key] = payload;
  const body = JSON.stringify(envelope);
  return {
    ...message,
    input: { ...message.input, Message: body },
    bytes: message.bytes - utf8(message.input.Message) + utf8(body),
  };
}

/**
 * formatAlert, then the Chatbot payload in place of the JSON for HTTPS and default, within
 * `maxBytes`: when the two together do not fit, the alert is rendered again with less room
 * (fewer findings, as formatAlert drops the least severe first), until they do.
 */
export function chatbotAlert(
  result: BaseResult,
  transition: AlertTransition,
  options: FormatOptions,
  id: string,
): AlertMessage {
  const max = options.maxBytes ?? SNS_MAX_MESSAGE_BYTES;
  let budget = max;
  // The payload is capped (CHATBOT_LIMITS), so a few rounds always settle; each one shrinks the budget by the overshoot.
  for (let round = 0; round < 8; round++) {
    const message = withChatbotPayload(formatAlert(result, transition, { ...options, maxBytes: budget }), id);
    if (message.bytes <= max) return message;
    budget -= message.bytes - max;
  }
  throw new RangeError(`a Chatbot alert cannot fit in ${max} bytes`);
}
