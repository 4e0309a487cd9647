
ALTER TABLE sources ADD COLUMN refresh_interval_hours INTEGER;
ALTER TABLE sources ADD COLUMN fetched_at TEXT;
ALTER TABLE sources ADD COLUMN refresh_queued_at TEXT;
ALTER TABLE sources ADD COLUMN last_test_run TEXT;
CREATE INDEX sources_refresh ON sources (refresh_interval_hours)
  WHERE refresh_interval_hours IS NOT NULL;

CREATE TABLE answer_tests (
  id TEXT PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  question TEXT NOT NULL,
  expect TEXT NOT NULL CHECK (expect IN ('answer', 'handoff')),
  must_cite TEXT NOT NULL DEFAULT '[]',
  must_contain TEXT NOT NULL DEFAULT '[]',
  must_not_contain TEXT NOT NULL DEFAULT '[]',
  language TEXT,
  from_message_id TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX answer_tests_chatbot ON answer_tests (chatbot_id);

CREATE TABLE answer_test_runs (
  id TEXT PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'refresh')),
  source_ids TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX answer_test_runs_chatbot ON answer_test_runs (chatbot_id, status);

CREATE TABLE answer_test_results (
  run_id TEXT NOT NULL REFERENCES answer_test_runs(id) ON DELETE CASCADE,
  test_id TEXT NOT NULL REFERENCES answer_tests(id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('pass', 'fail')),
  result TEXT NOT NULL,
  PRIMARY KEY (run_id, test_id)
);
CREATE INDEX answer_test_results_test ON answer_test_results (test_id);
