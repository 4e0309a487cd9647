
CREATE TABLE usage_counters (
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  window TEXT NOT NULL CHECK (window IN ('day', 'month')),
  period TEXT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
  PRIMARY KEY (chatbot_id, window, period)
) WITHOUT ROWID;

CREATE TABLE quota_reservations (
  id INTEGER PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  day_period TEXT NOT NULL,
  month_period TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX quota_reservations_chatbot ON quota_reservations (chatbot_id);
CREATE INDEX quota_reservations_created ON quota_reservations (created_at);

CREATE TABLE burst_events (
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  conversation_key TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE INDEX burst_events_conversation ON burst_events (chatbot_id, conversation_key, at_ms);
CREATE INDEX burst_events_at ON burst_events (at_ms);

INSERT OR IGNORE INTO plans (id, name, monthly_messages, daily_messages, created_at, updated_at)
VALUES ('default', 'Default', NULL, NULL,
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
