// What the OpenAPI document adds to the routes' schemas so that Swagger UI works as a tool: a
// request example for every body (Swagger UI would otherwise fill one in from the schema, and
// its "string" placeholders become data), the parameters a route reads itself, and the stream.
// Applied by src/http/docs.ts; test/http/docs-examples.test.ts runs every example on a fresh app.

/** A named example of a request body (Swagger UI lists them in a menu; the first is pre-filled). */
type NamedExample = { summary: string; value: unknown };

/** A parameter the route reads without a schema (a query key, a header). */
type ExtraParameter = {
  name: string;
  in: 'query' | 'header';
  description: string;
  schema: Record<string, unknown>;
};

export type OperationDocs = {
  /** Appended to the operation's description (Markdown). */
  description?: string;
  /** The JSON body Swagger UI pre-fills: minimal, and working as it is on a fresh install. */
  example?: unknown;
  /** Several bodies to choose from, instead of `example`. */
  examples?: Record<string, NamedExample>;
  parameters?: ExtraParameter[];
  /** More media types for a response, by status (the playground's event stream). */
  responses?: Record<string, Record<string, { schema: unknown; example: string }>>;
};

/** Placeholders, not data: real Crisp refuses them, so nothing is stored (400). */
export const CONNECT_EXAMPLE = {
  websiteId: 'YOUR_WEBSITE_ID',
  tokenIdentifier: 'YOUR_TOKEN_IDENTIFIER',
  tokenKey: 'YOUR_TOKEN_KEY',
  tier: 'plugin',
};

/** The conversation of the example delivery (a Crisp session id has this shape). */
export const EXAMPLE_SESSION_ID = 'session_36ba3566-9651-4790-afc8-ffedbccc317f';

/** A visitor's message as Crisp delivers it (docs/notes/contract.md, What Crisp sends). */
export const WEBHOOK_EXAMPLE = {
  website_id: CONNECT_EXAMPLE.websiteId,
  event: 'message:send',
  data: {
    website_id: CONNECT_EXAMPLE.websiteId,
    session_id: EXAMPLE_SESSION_ID,
    type: 'text',
    content: 'How do I get a refund?',
    from: 'user',
    origin: 'chat',
    stamped: true,
    timestamp: 1_735_689_600_000,
    fingerprint: 173_568_960_000_001,
    user: { nickname: 'visitor493603', user_id: EXAMPLE_SESSION_ID },
  },
  timestamp: 1_735_689_600_000,
};

const QUESTION = 'How do I get a refund?';

const STREAM_EXAMPLE = [
  'event: token\ndata: {"text":"Refunds are paid back"}',
  'event: token\ndata: {"text":" within 5 business days."}',
  'event: sources\ndata: [{"sourceId":"src_…","chunkId":"…","title":"Refund policy","url":null,"text":"Refunds are paid back within 5 business days.","score":0.033}]',
  'event: done\ndata: {"handoff":false,"reason":null,"usage":{"promptTokens":412,"completionTokens":18,"totalTokens":430,"costUsd":0.00003,"llmCalls":1},"conversationId":"…"}',
]
  .map((event) => `${event}\n\n`)
  .join('');

/** What each path parameter is, wherever it appears. */
export const PARAMETER_DOCS: Record<string, { description: string; example?: string }> = {
  chatbotId: {
    description: "The chatbot's `id` (`cb_…`: from *Create a chatbot* or *List chatbots*)",
  },
  planId: {
    description: "`default`, or a plan's `id` (`plan_…`: from *Create a plan* or *List plans*)",
  },
  sourceId: { description: "The source's `id` (from *Add a source* or *List sources*)" },
  groupId: {
    description:
      "A group's `id` (`grp_…`: from *Unanswered questions*; a group exists once a visitor question was handed off for lack of an answer)",
  },
  testId: {
    description: "The answer test's `id` (from *Add an answer test* or *List answer tests*)",
  },
  runId: { description: "The run's `runId` (from *Run the answer tests*)" },
  sessionId: {
    description:
      'The Crisp `session_id` of the conversation (the example is the one of the example webhook delivery)',
    example: EXAMPLE_SESSION_ID,
  },
};

/** By operation: `METHOD /path/{template}`. Every operation with a body has an example. */
export const OPERATION_DOCS: Record<string, OperationDocs> = {
  'POST /api/v1/plans': { example: { name: 'Starter', monthlyMessages: 1000 } },
  'PATCH /api/v1/plans/{planId}': {
    description: 'Send only the fields to change.',
    example: { monthlyMessages: 2000 },
  },
  'POST /api/v1/chatbots': {
    description:
      'Only `name` is needed: every other setting has a default (see the schema). Without `planId` the chatbot follows the `default` plan.',
    example: { name: 'Support bot' },
  },
  'PATCH /api/v1/chatbots/{chatbotId}': {
    description: 'Send only the fields to change: the example changes one.',
    example: { instructions: 'Answer in three sentences at most, in a friendly tone.' },
  },
  'POST /api/v1/chatbots/{chatbotId}/sources': {
    description:
      'JSON for text, Q&A, a page or a sitemap (pick one in the *Examples* menu). **To upload a file** (PDF, DOCX, Markdown, text, HTML), choose `multipart/form-data` in the request body menu and pick the file.',
    examples: {
      text: {
        summary: 'A text (indexed at once: 201)',
        value: {
          type: 'text',
          title: 'Refund policy',
          text: 'Refunds are paid back within 5 business days after we receive the returned parcel.',
        },
      },
      qa: {
        summary: 'A question and its answer (201)',
        value: {
          type: 'qa',
          question: 'How long do refunds take?',
          answer: 'Refunds are paid back within 5 business days.',
        },
      },
      url: {
        summary: 'One web page (fetched in the background: 202)',
        value: { type: 'url', url: 'https://example.com/help/refunds' },
      },
      sitemap: {
        summary: 'The pages of a sitemap (202)',
        value: { type: 'sitemap', url: 'https://example.com/sitemap.xml', maxPages: 20 },
      },
    },
  },
  'PATCH /api/v1/chatbots/{chatbotId}/sources/{sourceId}': {
    description:
      'Of a `url` or `sitemap` source: fetch it again every `refreshIntervalHours` (null: only when asked).',
    example: { refreshIntervalHours: 24 },
  },
  'POST /api/v1/chatbots/{chatbotId}/tests': {
    description:
      'A golden question and what the bot must do with it; `mustCite`, `mustContain` and `mustNotContain` are optional. Or `{"fromMessageId"}` to make one from a real conversation turn.',
    example: { question: QUESTION, expect: 'answer', mustContain: ['5 business days'] },
  },
  'POST /api/v1/chatbots/{chatbotId}/insights/unanswered/{groupId}/qa': {
    description:
      "`{}` takes the group's question and its suggested answer as they are; send `question` and `answer` to edit them first.",
    example: {},
  },
  'POST /api/v1/chatbots/{chatbotId}/search': { example: { query: 'refunds' } },
  'POST /api/v1/chatbots/{chatbotId}/chat': {
    description:
      'To see the answer streamed, choose `text/event-stream` in the media type menu of the 200 response before *Execute*: it sets `Accept`.',
    example: { message: QUESTION },
    responses: {
      200: { 'text/event-stream': { schema: { type: 'string' }, example: STREAM_EXAMPLE } },
    },
  },
  'PUT /api/v1/chatbots/{chatbotId}/integrations/crisp': {
    description:
      "The example holds placeholders: put your Crisp website id and token instead, or Crisp refuses them (400 `CRISP_CREDENTIALS_REJECTED`, nothing stored). Then paste `webhookUrl` into Crisp's hook settings with the `events`; `warning` says when Crisp could not reach it (set `PUBLIC_URL`). Next: *Dry run* (`POST …/integrations/crisp/test`).",
    example: CONNECT_EXAMPLE,
  },
  'POST /api/v1/chatbots/{chatbotId}/integrations/crisp/test': {
    description:
      'The test to run from this page: it checks the credentials with Crisp and shows what a real reply would post, without posting anything. To send a delivery through the webhook itself, use *The Crisp webhook* below.',
    example: { message: QUESTION },
  },
  'POST /api/v1/chatbots/{chatbotId}/conversations/{sessionId}/pause': {
    example: { hours: 24 },
  },
  'POST /api/integrations/livechat/crisp/webhook/{chatbotId}': {
    description:
      "Crisp calls this; to send a delivery yourself, paste the `key` from the connect answer's `webhookUrl` and put your website id in place of `YOUR_WEBSITE_ID` (another website's deliveries are answered `website_mismatch` and dropped). The bot then really answers in that Crisp conversation, so use the `session_id` of a test conversation of yours; the *Dry run* posts nothing.",
    example: WEBHOOK_EXAMPLE,
    parameters: [
      {
        name: 'key',
        in: 'query',
        description:
          "The webhook's secret, from the `webhookUrl` that connecting returned (Website Hooks are unsigned: this key is their authentication)",
        schema: { type: 'string' },
      },
      {
        name: 'X-Crisp-Signature',
        in: 'header',
        description:
          'Plugin hooks: hex HMAC-SHA256 of `[timestamp;body]` under the signing secret; required when the connection has a `signingSecret`',
        schema: { type: 'string' },
      },
      {
        name: 'X-Crisp-Request-Timestamp',
        in: 'header',
        description: 'Plugin hooks: the timestamp the signature covers',
        schema: { type: 'string' },
      },
    ],
  },
};
