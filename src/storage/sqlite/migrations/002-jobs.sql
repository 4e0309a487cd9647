
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  chatbot_id TEXT REFERENCES chatbots(id) ON DELETE CASCADE,
  dedupe_key TEXT UNIQUE,
  serial_key TEXT,
  payload TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  last_error TEXT,
  result TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (state, run_at);
CREATE INDEX jobs_serial ON jobs (serial_key, state, id);
CREATE INDEX jobs_chatbot ON jobs (chatbot_id);
