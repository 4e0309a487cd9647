
ALTER TABLE crisp_connections ADD COLUMN throttled_until INTEGER;
ALTER TABLE crisp_connections ADD COLUMN own_user_id TEXT;
ALTER TABLE crisp_turns ADD COLUMN asked_at INTEGER;

CREATE TABLE crisp_deliveries (
  id INTEGER PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  received_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  event TEXT,
  website_id TEXT,
  session_id TEXT,
  fingerprint TEXT,
  action TEXT NOT NULL,
  reason TEXT,
  -- Set on rejected deliveries only ("<reason>:<minute>"): a flood shares one row a minute.
  coalesce_key TEXT
);
CREATE INDEX crisp_deliveries_chatbot ON crisp_deliveries (chatbot_id, id);
CREATE INDEX crisp_deliveries_age ON crisp_deliveries (received_at);
CREATE UNIQUE INDEX crisp_deliveries_coalesce ON crisp_deliveries (chatbot_id, coalesce_key)
  WHERE coalesce_key IS NOT NULL;

CREATE TABLE crisp_api_calls (
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  day TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (chatbot_id, day)
);
