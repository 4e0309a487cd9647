
CREATE TABLE sources (
  id TEXT PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  title TEXT NOT NULL,
  url TEXT,
  external_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'indexing', 'ready', 'failed')),
  error TEXT,
  chunk_count INTEGER NOT NULL DEFAULT 0,
  content_hash TEXT,
  input TEXT NOT NULL DEFAULT '{}',
  progress_done INTEGER,
  progress_total INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX sources_chatbot ON sources (chatbot_id, created_at);
CREATE INDEX sources_external ON sources (chatbot_id, external_id);

CREATE TABLE knowledge_index (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  table_name TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT,
  dimension INTEGER,
  updated_at TEXT NOT NULL
);
