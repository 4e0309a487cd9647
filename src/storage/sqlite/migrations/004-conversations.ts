import type { Migration } from './migration.ts';

/**
 * Conversations (playground and Crisp) and their messages. `history_since` is where the history
 * the bot reads starts (a Crisp "resolved" moves it forward); `provenance` is the JSON record of how
 * a bot reply was made (queries, chunk ids and scores, model, tokens, cost, latencies).
 */
export const conversations: Migration = {
  version: 4,
  name: 'conversations',
  sql: `
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  channel TEXT NOT NULL CHECK (channel IN ('playground', 'crisp')),
  external_id TEXT NOT NULL,
  website_id TEXT,
  bot_state TEXT NOT NULL DEFAULT 'bot' CHECK (bot_state IN ('bot', 'human')),
  muted_until TEXT,
  history_since TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (chatbot_id, channel, external_id)
);
CREATE INDEX conversations_chatbot ON conversations (chatbot_id, updated_at);

CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('visitor', 'bot', 'operator')),
  content TEXT NOT NULL,
  fingerprint TEXT,
  handoff_reason TEXT,
  provenance TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (conversation_id, seq)
);
CREATE INDEX messages_fingerprint ON messages (conversation_id, fingerprint);
`,
};
