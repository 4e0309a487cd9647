// Conversation and message schemas: storage rows mapped to API shapes.
import * as v from 'valibot';

export const Channel = v.picklist(['playground', 'crisp']);
export type Channel = v.InferOutput<typeof Channel>;

export const MessageRole = v.picklist(['visitor', 'bot', 'operator']);
export type MessageRole = v.InferOutput<typeof MessageRole>;

export const HandoffReason = v.picklist([
  'no_answer',
  'asked_for_human',
  'frustration',
  'error',
  'quota',
]);
export type HandoffReason = v.InferOutput<typeof HandoffReason>;

export const Message = v.object({
  id: v.string(),
  conversationId: v.string(),
  role: MessageRole,
  content: v.string(),
  fingerprint: v.nullable(v.string()),
  handoffReason: v.nullable(HandoffReason),
  /** How a bot reply was made (see src/answers/provenance.ts); null for other roles. */
  provenance: v.nullable(v.record(v.string(), v.unknown())),
  createdAt: v.string(),
});
export type Message = v.InferOutput<typeof Message>;

export const Conversation = v.object({
  id: v.string(),
  chatbotId: v.string(),
  channel: Channel,
  /** The playground conversationId or the Crisp session_id. */
  externalId: v.string(),
  websiteId: v.nullable(v.string()),
  botState: v.picklist(['bot', 'human']),
  mutedUntil: v.nullable(v.string()),
  /** The bot's history starts here (a resolved Crisp conversation starts afresh). */
  historySince: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type Conversation = v.InferOutput<typeof Conversation>;

export const ConversationWithMessages = v.object({
  ...Conversation.entries,
  messages: v.array(Message),
});
export type ConversationWithMessages = v.InferOutput<typeof ConversationWithMessages>;
