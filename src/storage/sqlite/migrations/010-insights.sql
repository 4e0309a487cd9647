
CREATE TABLE conversation_resolutions (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  resolved_at TEXT NOT NULL
);
CREATE INDEX conversation_resolutions_time ON conversation_resolutions (conversation_id, resolved_at);
CREATE INDEX messages_role_time ON messages (conversation_id, role, created_at);
CREATE INDEX crisp_inbox_received ON crisp_inbox (chatbot_id, received_at);

CREATE TABLE unanswered_groups (
  id TEXT PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'dismissed')),
  source_id TEXT,
  created_at TEXT NOT NULL,
  closed_at TEXT
);
CREATE INDEX unanswered_groups_chatbot ON unanswered_groups (chatbot_id, state);

-- One row per handed-off question (the bot message of the handoff): the question as asked, the
-- text compared (the translated query when the pipeline translated), and its cached vector.
CREATE TABLE unanswered_questions (
  message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  group_id TEXT NOT NULL REFERENCES unanswered_groups(id) ON DELETE CASCADE,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  question TEXT NOT NULL,
  compared TEXT NOT NULL,
  asked_at TEXT NOT NULL,
  vector BLOB,
  vector_model TEXT
);
CREATE INDEX unanswered_questions_group ON unanswered_questions (group_id, asked_at);
CREATE INDEX unanswered_questions_chatbot ON unanswered_questions (chatbot_id, asked_at);
