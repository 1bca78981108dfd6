/**
 * `alerting.format: chatbot`: the SNS publish request carries the Chatbot custom
 * notification where Chatbot reads it (HTTPS, and `default` for any other protocol without
 * its own key), keeps the text for e-mail and the result JSON for SQS and Lambda, and stays
 * within SNS's 256 KiB whatever the result holds.
 */
import { describe, expect, it } from 'vitest';
import type { AlertableResult } from '../../../lambdas/engine/alerts/alert-facts.js';
import { CHATBOT_LIMITS, chatbotAlert, chatbotNotification } from '../../../lambdas/engine/alerts/chatbot.js';
import { SNS_MAX_MESSAGE_BYTES, formatAlert } from '../../../lambdas/engine/alerts/format.js';
import { finding } from '../../../lambdas/engine/findings.js';
import { DocumentedChatbotNotification } from '../../../testkit/chatbot-schema.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const OPTIONS = { redact: (s: string) => s, now: NOW };
const RAISED = { kind: 'raised', previousStatus: 'ok' } as const;

const result = (overrides: Partial<AlertableResult> = {}): AlertableResult => ({
  check: 'smtp',
  target: 'smtp.example.com:587',
  name: 'relay-eu',
  status: 'critical',
  startedAt: '2026-11-23T11:59:58.000Z',
  durationMs: 320,
  findings: [finding('AUTH_FAILED', '535 5.7.8 Authentication credentials invalid', { stage: 'auth' })],
  ...overrides,
});

type Envelope = Record<string, string>;
const envelopeOf = (message: { input: { Message: string } }) => JSON.parse(message.input.Message) as Envelope;
const bytesOf = (input: { Subject: string; Message: string; MessageAttributes: Record<string, unknown> }) =>
  Buffer.byteLength(input.Subject) +
  Buffer.byteLength(input.Message) +
  Object.entries(input.MessageAttributes).reduce(
    (n, [k, v]) =>
      n +
      Buffer.byteLength(k) +
      Buffer.byteLength((v as { DataType?: string }).DataType ?? '') +
      Buffer.byteLength((v as { StringValue?: string }).StringValue ?? ''),
    0,
  );

describe('chatbotAlert', () => {
  it('puts the documented payload in default and https, the same facts as the text alert in the other keys', () => {
    const text = formatAlert(result(), RAISED, OPTIONS);
    const chat = chatbotAlert(result(), RAISED, OPTIONS, 'smtp#relay-eu#raised#2026-11-23T11:59:58.000Z');
    const envelope = envelopeOf(chat);
    const plain = envelopeOf(text);

    expect(Object.keys(envelope).sort()).toEqual(Object.keys(plain).sort());
    expect(envelope['https']).toBe(envelope['default']);
    const payload: unknown = JSON.parse(envelope['default']!);
    expect(DocumentedChatbotNotification.safeParse(payload).error?.issues ?? []).toEqual([]);
    expect(payload).toEqual(chatbotNotification(text, 'smtp#relay-eu#raised#2026-11-23T11:59:58.000Z'));
    expect(payload).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: {
        title: ':red_circle: [CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED',
        description: '*AUTH_FAILED* (critical): `535 5.7.8 Authentication credentials invalid`',
      },
    });
    // People and machines that are not Chatbot get what they got before.
    for (const key of ['email', 'email-json', 'sqs', 'lambda', 'sms']) expect(envelope[key]).toBe(plain[key]);
    expect(chat.input.Subject).toBe(text.input.Subject);
    expect(chat.input.MessageAttributes).toEqual(text.input.MessageAttributes);
    expect(chat.bytes).toBe(bytesOf(chat.input));
  });

  it('stays within the SNS limit with thousands of long findings, the payload still documented', () => {
    const findings = Array.from({ length: 3_000 }, (_, i) =>
      finding('CERT_CHAIN_EXTRA', `extra certificate ${i}: ${'é'.repeat(300)}`),
    );
    const chat = chatbotAlert(result({ findings }), RAISED, OPTIONS, 'id-1');
    expect(chat.bytes).toBe(bytesOf(chat.input));
    expect(chat.bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(chat.omittedFindings).toBeGreaterThan(0);
    const payload = JSON.parse(envelopeOf(chat)['default']!) as { content: { description: string } };
    expect(DocumentedChatbotNotification.safeParse(payload).success).toBe(true);
    expect(payload.content.description.length).toBeLessThanOrEqual(CHATBOT_LIMITS.descriptionChars + 40);
  });

  it('honours a smaller maxBytes, as the text alert does', () => {
    const findings = Array.from({ length: 200 }, (_, i) =>
      finding('CERT_CHAIN_EXTRA', `extra ${i} ${'x'.repeat(200)}`),
    );
    const chat = chatbotAlert(result({ findings }), RAISED, { ...OPTIONS, maxBytes: 20_000 }, 'id-2');
    expect(chat.bytes).toBeLessThanOrEqual(20_000);
    expect(chat.bytes).toBe(bytesOf(chat.input));
  });
});
