// Crisp schemas: webhook envelopes and event data (as received), and the admin API shapes.
import * as v from 'valibot';
import { limitQuery } from '../http/params.ts';

// ---------------------------------------------------------------------------------------------
// Webhook (docs/notes/contract.md, what Crisp sends). Objects are loose: Crisp adds fields over
// time and we ignore them.

/** `{website_id, event, data, timestamp}`: anything else is not a Crisp delivery (400). */
export const Envelope = v.looseObject({
  website_id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  event: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  data: v.looseObject({}),
  timestamp: v.optional(v.number()),
});
export type Envelope = v.InferOutput<typeof Envelope>;

const sessionId = v.pipe(v.string(), v.minLength(1), v.maxLength(200));

const User = v.looseObject({
  nickname: v.optional(v.nullable(v.string())),
  user_id: v.optional(v.nullable(v.string())),
  type: v.optional(v.nullable(v.string())),
});

/** `message:send` (visitor) and `message:received` (operator). `content` is an object for non-text types. */
export const MessageData = v.looseObject({
  session_id: sessionId,
  website_id: v.optional(v.string()),
  type: v.string(),
  from: v.string(),
  origin: v.optional(v.nullable(v.string())),
  content: v.optional(v.unknown()),
  fingerprint: v.union([v.number(), v.pipe(v.string(), v.minLength(1), v.maxLength(100))]),
  timestamp: v.optional(v.number()),
  automated: v.optional(v.nullable(v.boolean())),
  user: v.optional(v.nullable(User)),
});
export type MessageData = v.InferOutput<typeof MessageData>;

/** `message:compose:receive`: an operator is typing (or stopped). */
export const ComposeData = v.looseObject({
  session_id: sessionId,
  type: v.optional(v.nullable(v.string())),
  automated: v.optional(v.nullable(v.boolean())),
  user: v.optional(v.nullable(User)),
});
export type ComposeData = v.InferOutput<typeof ComposeData>;

/** `session:set_state`: `pending | unresolved | resolved`. */
export const SetStateData = v.looseObject({
  session_id: sessionId,
  state: v.string(),
});

/** `session:set_routing`: `routing_id` is the assigned operator, null when unassigned. */
export const SetRoutingData = v.looseObject({
  session_id: sessionId,
  routing_id: v.optional(v.nullable(v.string())),
});

/** Job payload of a reply turn: which conversation to look at (its messages wait in the inbox). */
export type ReplyJobPayload = { chatbotId: string; websiteId: string; sessionId: string };

// ---------------------------------------------------------------------------------------------
// The reply turn.

/** What a turn posts: the reply, a handoff text, the private note, the quota text. */
export const PostKind = v.picklist(['reply', 'handoff', 'note', 'quota']);
export type PostKind = v.InferOutput<typeof PostKind>;

// ---------------------------------------------------------------------------------------------
// Admin API.

/** `plugin` for a Marketplace plugin token, `website` for a workspace Website Token. */
export const CrispTier = v.picklist(['plugin', 'website']);

const secretText = (max: number) => v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max));

export const ConnectBody = v.strictObject({
  /** The Crisp Website ID (Settings → Workspace Settings → Setup & Integrations). */
  websiteId: v.pipe(v.string(), v.trim(), v.regex(/^[A-Za-z0-9_-]{1,100}$/, 'a Crisp website id')),
  tokenIdentifier: secretText(500),
  tokenKey: secretText(500),
  tier: v.optional(CrispTier, 'plugin'),
  /** The plugin hooks' signing secret; when set, `X-Crisp-Signature` is checked. */
  signingSecret: v.optional(v.nullable(secretText(500)), null),
});
export type ConnectBody = v.InferOutput<typeof ConnectBody>;

export const ConnectResponse = v.object({
  connected: v.literal(true),
  websiteId: v.string(),
  /** Paste into Crisp; the secret `key` is only shown here. */
  webhookUrl: v.string(),
  /** The events to tick in Crisp's hook settings. */
  events: v.array(v.string()),
  tier: CrispTier,
  signed: v.boolean(),
  /** Set when Crisp cannot call `webhookUrl` (PUBLIC_URL unset, local or not HTTPS): what to set. */
  warning: v.nullable(v.string()),
});

/** What `GET …/integrations/crisp` shows for a connected chatbot: masked values and health. */
export const ConnectionStatus = v.object({
  connected: v.literal(true),
  websiteId: v.string(),
  tier: CrispTier,
  tokenIdentifier: v.string(),
  tokenKey: v.string(),
  signingSecret: v.nullable(v.string()),
  /** The webhook URL with its key hidden (`key=••••…`): it does not work as shown. */
  webhookUrl: v.string(),
  /** Says so, and how to see the working URL again. */
  webhookUrlNote: v.string(),
  /** As in the connect answer: set when Crisp cannot call the webhook URL. */
  warning: v.nullable(v.string()),
  events: v.array(v.string()),
  health: v.object({
    healthy: v.boolean(),
    lastError: v.nullable(v.string()),
    lastErrorStatus: v.nullable(v.number()),
    lastErrorAt: v.nullable(v.string()),
    lastOkAt: v.nullable(v.string()),
    /** Crisp refused for quota or rate: no call before this time (ISO 8601), else null. */
    throttledUntil: v.nullable(v.string()),
  }),
  /** Crisp calls made for this chatbot today (UTC): they spend the token's daily quota. */
  crispCalls: v.object({
    day: v.string(),
    calls: v.number(),
    /** Of them, refused by Crisp for quota or rate. */
    refused: v.number(),
    /** Crisp's default daily quota for the tier (5,000 plugin, 10,000 website). */
    defaultDailyQuota: v.number(),
  }),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type ConnectionStatus = v.InferOutput<typeof ConnectionStatus>;

/** The status, or `{"connected": false}` (docs/notes/contract.md). */
export const ConnectionStatusResponse = v.object({
  ...v.partial(ConnectionStatus).entries,
  connected: v.boolean(),
});

export const TestBody = v.optional(
  v.strictObject({
    /** The sample visitor question; a generic one when absent. */
    message: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(4000))),
  }),
);

const WouldPost = v.object({
  kind: v.picklist([...PostKind.options, 'state']),
  method: v.string(),
  path: v.string(),
  body: v.record(v.string(), v.unknown()),
});

export const TestResponse = v.object({
  credentials: v.object({
    ok: v.boolean(),
    status: v.nullable(v.number()),
    reason: v.nullable(v.string()),
  }),
  question: v.string(),
  answer: v.object({
    reply: v.string(),
    handoff: v.boolean(),
    reason: v.nullable(v.string()),
    sources: v.array(v.record(v.string(), v.unknown())),
  }),
  /** What the bot would send to Crisp, in order; nothing was sent. */
  wouldPost: v.array(WouldPost),
});
export type TestResponse = v.InferOutput<typeof TestResponse>;

/** `GET …/integrations/crisp/deliveries?limit=N` (1–500, default 50). */
export const DELIVERIES_MAX = 500;
export const DeliveriesQuery = v.object({
  limit: limitQuery(DELIVERIES_MAX),
});

export const DeliveriesResponse = v.object({
  deliveries: v.array(
    v.object({
      receivedAt: v.string(),
      lastReceivedAt: v.string(),
      count: v.number(),
      event: v.nullable(v.string()),
      sessionId: v.nullable(v.string()),
      action: v.string(),
      reason: v.nullable(v.string()),
      outcome: v.nullable(v.string()),
    }),
  ),
});
