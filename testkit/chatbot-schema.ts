/**
 * The AWS Chatbot (Amazon Q Developer in chat applications) custom-notification schema as
 * documented (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html,
 * "Event schema"), written out as the tests' own oracle: strict, so an undocumented field fails.
 */
import { z } from 'zod';

export const DocumentedChatbotNotification = z.strictObject({
  version: z.literal('1.0'),
  source: z.literal('custom'),
  id: z.string().optional(),
  content: z.strictObject({
    textType: z.literal('client-markdown').optional(),
    title: z.string().optional(),
    description: z.string(),
    nextSteps: z.array(z.string()).optional(),
    keywords: z.array(z.string()).optional(),
  }),
  metadata: z
    .strictObject({
      threadId: z.string().optional(),
      summary: z.string().optional(),
      eventType: z.string().optional(),
      relatedResources: z.array(z.string()).optional(),
      additionalContext: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});
