// Conversation and message schemas: storage rows mapped to API shapes, and the admin routes' shapes.
import * as v from 'valibot';
import { limitQuery } from '../http/params.ts';

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
  /** How a bot reply was made (`Provenance`, src/answers/model.ts); null for other roles. */
  provenance: v.nullable(v.record(v.string(), v.unknown())),
  createdAt: v.string(),
});
export type Message = v.InferOutput<typeof Message>;

/** A message as the prompt's history holds it. */
export type HistoryTurn = Pick<Message, 'role' | 'content'>;

/** Who answers: the bot, or a human (the bot is muted). */
export const BotOwner = v.picklist(['bot', 'human']);

export const Conversation = v.object({
  id: v.string(),
  chatbotId: v.string(),
  channel: Channel,
  /** The playground conversationId or the Crisp session_id. */
  externalId: v.string(),
  websiteId: v.nullable(v.string()),
  botState: BotOwner,
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

// ---------------------------------------------------------------------------------------------
// Admin API (Crisp conversations).

/** The state the admin API shows: `human` until `until` (null = until resumed or resolved). */
export const BotState = v.object({
  state: BotOwner,
  /** Until when a human owns it (ISO); null with `human` means until resumed or resolved. */
  until: v.nullable(v.string()),
});
export type BotState = v.InferOutput<typeof BotState>;

export const ConversationSummary = v.object({
  sessionId: v.string(),
  websiteId: v.nullable(v.string()),
  bot: BotState,
  historySince: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type ConversationSummary = v.InferOutput<typeof ConversationSummary>;

/** The most conversations one page of the list holds (and its default size). */
export const CONVERSATIONS_PAGE_MAX = 200;

export const ConversationListQuery = v.object({
  /** Conversations per page, 1–200 (default 200). */
  limit: limitQuery(CONVERSATIONS_PAGE_MAX),
  /** The `nextCursor` of the previous page. */
  cursor: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,400}$/, 'a cursor'))),
});

/** A list is `{"items": [...]}`; a field beside it is allowed (docs/notes/contract.md, Shapes). */
export const ConversationList = v.object({
  items: v.array(ConversationSummary),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: v.nullable(v.string()),
});

export const ConversationDetail = v.object({
  ...ConversationSummary.entries,
  messages: v.array(v.omit(Message, ['conversationId'])),
});

export const PauseBody = v.optional(
  v.strictObject({
    /** Hours to keep the bot away; absent = until resumed. */
    hours: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(24 * 365))),
  }),
);
