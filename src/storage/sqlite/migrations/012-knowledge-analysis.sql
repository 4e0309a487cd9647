
CREATE TABLE knowledge_analysis (
  chatbot_id TEXT PRIMARY KEY,
  analyzer TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO knowledge_analysis (chatbot_id, analyzer, updated_at)
  SELECT id, 'legacy', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM chatbots;
