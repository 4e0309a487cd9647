
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
