// Chatbot schemas: the single source of truth for the admin API, storage and docs.
import * as v from 'valibot';
import { BusinessHours } from './business-hours.ts';

const text = (max: number) => v.pipe(v.string(), v.maxLength(max));
/** The request value of a quota limit that removes the chatbot's override (see `limitOrPlan`). */
export const FOLLOW_PLAN = 'plan';
const limit = v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000_000)));
const languageCode = v.pipe(v.string(), v.regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/));

export const LanguageSettings = v.object({
  /** `auto` answers in the visitor's language; a language code (e.g. `en`) forces one. */
  reply: v.optional(v.pipe(v.string(), v.regex(/^(auto|[a-z]{2,3}(-[A-Za-z0-9]{2,8})?)$/)), 'auto'),
  /** Language of the knowledge base; full-text search translates other-language queries into it. Null turns translation off. */
  knowledge: v.optional(v.nullable(languageCode), 'en'),
});

export const HandoffSettings = v.object({
  /** Hours a human operator's message mutes the bot in that conversation (each new one extends it). */
  muteHours: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(24 * 365)), 24),
  /**
   * Crisp assigning the conversation to an operator (`session:set_routing`) mutes the bot too.
   * Off by default: automatic Operator Routing assigns every new conversation before anyone
   * reads it (docs/notes/crisp.md).
   */
  muteOnAssign: v.optional(v.boolean(), false),
  /**
   * An operator typing stops the bot's reply; when no human message follows within this many
   * seconds of their last typing event, the visitor's waiting messages are answered.
   */
  typingGraceSeconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3_600)),
    60,
  ),
  /** Posted to the visitor when the bot hands the conversation to a human. */
  message: v.optional(
    text(2000),
    'Let me bring in a member of our team; they will reply here shortly.',
  ),
  /** Posted when answering failed (LLM or retrieval error). */
  fallbackMessage: v.optional(
    text(2000),
    'Sorry, I could not answer that right now. A member of our team will reply here shortly.',
  ),
  /** Posted once per conversation when the chatbot's message quota is used up. */
  quotaMessage: v.optional(
    text(2000),
    'Our assistant is unavailable at the moment. A member of our team will reply here shortly.',
  ),
  /**
   * The same texts in other languages, by language code, e.g.
   * `{"fr": {"message": "Je transmets votre demande à un collègue."}}`: used when the visitor
   * writes in that language (or `language.reply` fixes it); a missing text falls back to the one
   * above. A PATCH replaces the whole map.
   */
  translations: v.optional(
    v.record(
      languageCode,
      v.partial(
        v.strictObject({
          message: text(2000),
          fallbackMessage: text(2000),
          quotaMessage: text(2000),
        }),
      ),
    ),
    {},
  ),
});

/** A message limit in a request: a number, null (unlimited), or `"plan"` (follow the plan's). */
const limitOrPlan = v.pipe(
  v.union([limit, v.literal(FOLLOW_PLAN)]),
  v.description(
    'Messages per window: a number, null = unlimited, or "plan" = drop this chatbot\'s own limit and follow its plan\'s again (the field is then absent on the chatbot). Absent in a PATCH = unchanged.',
  ),
);

export const QuotaSettings = v.object({
  /** Visitor messages answered per calendar month (UTC); null = unlimited; absent = the plan's. */
  monthlyMessages: v.optional(limit),
  /** Visitor messages answered per day (UTC); null = unlimited; absent = the plan's. */
  dailyMessages: v.optional(limit),
  /** Most visitor messages one conversation may get answered within `burstWindowSeconds`. */
  burstMessages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 10),
  burstWindowSeconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(86_400)),
    60,
  ),
});

export const PersonaSettings = v.object({
  /** Operator name shown in Crisp next to the bot's messages. */
  nickname: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100)), 'Assistant'),
  avatar: v.optional(v.nullable(v.pipe(v.string(), v.url(), v.maxLength(2000))), null),
});

const channels = v.pipe(
  v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  v.minLength(1),
  v.maxLength(20),
);

/**
 * When the bot answers Crisp visitors: `always`; `outside_hours` (only outside `businessHours`);
 * `when_no_operator_online` (only when Crisp says no operator is online; unknown = answer).
 */
export const AnswerWhen = v.picklist(['always', 'outside_hours', 'when_no_operator_online']);
export type AnswerWhen = v.InferOutput<typeof AnswerWhen>;

/** The settings a chatbot carries; every field has a default. */
export const ChatbotSettings = v.object({
  instructions: v.optional(text(20_000), ''),
  /** Groq model; null uses GROQ_MODEL. */
  model: v.optional(v.nullable(v.pipe(v.string(), v.minLength(1), v.maxLength(200))), null),
  language: v.optional(LanguageSettings, {}),
  handoff: v.optional(HandoffSettings, {}),
  quota: v.optional(QuotaSettings, {}),
  persona: v.optional(PersonaSettings, {}),
  /** Crisp message origins the bot answers (`chat` is the chatbox; e.g. `email`, `urn:crisp.im:whatsapp:0`). */
  channels: v.optional(channels, ['chat']),
  /** `links` ends replies with the URLs of the passages the answer used. */
  citations: v.optional(v.picklist(['none', 'links']), 'none'),
  answerWhen: v.optional(AnswerWhen, 'always'),
  /** The team's opening hours (required by `answerWhen: "outside_hours"`); null = none set. */
  businessHours: v.optional(v.nullable(BusinessHours), null),
});
export type ChatbotSettings = v.InferOutput<typeof ChatbotSettings>;

const name = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200));
const planId = v.nullable(v.pipe(v.string(), v.minLength(1), v.maxLength(100)));

/** Partial of a settings group: only the fields given are changed. */
const patchOf = <T extends v.ObjectEntries>(schema: v.ObjectSchema<T, undefined>) =>
  v.optional(v.partial(v.strictObject(schema.entries)));

const settingsEntries = {
  instructions: v.optional(text(20_000)),
  model: v.optional(v.nullable(v.pipe(v.string(), v.minLength(1), v.maxLength(200)))),
  language: patchOf(LanguageSettings),
  handoff: patchOf(HandoffSettings),
  quota: v.optional(
    v.partial(
      v.strictObject({
        ...QuotaSettings.entries,
        monthlyMessages: v.optional(limitOrPlan),
        dailyMessages: v.optional(limitOrPlan),
      }),
    ),
  ),
  persona: patchOf(PersonaSettings),
  channels: v.optional(channels),
  citations: v.optional(v.picklist(['none', 'links'])),
  answerWhen: v.optional(AnswerWhen),
  businessHours: v.optional(v.nullable(BusinessHours)),
};

export const CreateChatbotBody = v.strictObject({
  name,
  planId: v.optional(planId),
  ...settingsEntries,
});
export type CreateChatbotBody = v.InferOutput<typeof CreateChatbotBody>;

export const UpdateChatbotBody = v.strictObject({
  name: v.optional(name),
  planId: v.optional(planId),
  ...settingsEntries,
});
export type UpdateChatbotBody = v.InferOutput<typeof UpdateChatbotBody>;

export const Chatbot = v.object({
  id: v.string(),
  name: v.string(),
  planId: v.nullable(v.string()),
  ...ChatbotSettings.entries,
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type Chatbot = v.InferOutput<typeof Chatbot>;

/** The quota limits a chatbot may set itself or leave to its plan. */
export const QUOTA_LIMITS = ['monthlyMessages', 'dailyMessages'] as const;

/**
 * A chatbot as the API shows it: both quota limits always present (int, or null = unlimited) as
 * they apply, whether the chatbot's own or its plan's; `followsPlan` names those from the plan.
 */
export const ChatbotView = v.object({
  ...Chatbot.entries,
  quota: v.object({
    ...QuotaSettings.entries,
    monthlyMessages: v.nullable(v.number()),
    dailyMessages: v.nullable(v.number()),
    followsPlan: v.array(v.picklist(QUOTA_LIMITS)),
  }),
});
export type ChatbotView = v.InferOutput<typeof ChatbotView>;

export const ChatbotList = v.object({ items: v.array(ChatbotView) });
