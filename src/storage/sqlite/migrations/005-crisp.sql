
CREATE TABLE crisp_connections (
  chatbot_id TEXT PRIMARY KEY REFERENCES chatbots(id) ON DELETE CASCADE,
  website_id TEXT NOT NULL,
  token_identifier TEXT NOT NULL,
  -- AES-256-GCM under SECRET_KEY ("v1:" + base64url(iv | ciphertext | tag)).
  token_key_enc TEXT NOT NULL,
  signing_secret_enc TEXT,
  webhook_secret_enc TEXT NOT NULL,
  tier TEXT NOT NULL CHECK (tier IN ('plugin', 'website')),
  healthy INTEGER NOT NULL DEFAULT 1,
  last_error TEXT,
  last_error_status INTEGER,
  last_error_at TEXT,
  last_ok_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX crisp_connections_website ON crisp_connections (website_id);

-- Every message event we accepted, keyed as Crisp identifies a message, so a redelivery is a
-- no-op. Visitor messages wait here ('pending') until a turn claims them, which is how a burst
-- of messages is answered once.
CREATE TABLE crisp_inbox (
  website_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  author TEXT NOT NULL CHECK (author IN ('visitor', 'operator')),
  content TEXT,
  state TEXT NOT NULL
    CHECK (state IN ('pending', 'claimed', 'answered', 'muted', 'dropped', 'recorded')),
  job_id INTEGER,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (website_id, session_id, fingerprint)
);
CREATE INDEX crisp_inbox_waiting ON crisp_inbox (chatbot_id, session_id, state);
CREATE INDEX crisp_inbox_job ON crisp_inbox (job_id);

-- One bot turn per reply job: what it answered and how far it got, so a resumed job neither
-- calls the LLM twice nor counts the quota twice.
CREATE TABLE crisp_turns (
  job_id INTEGER PRIMARY KEY,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  website_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  question TEXT NOT NULL,
  visitor_message_id TEXT,
  -- The quota reservation (JSON) this turn holds, so a resumed turn never reserves twice.
  reservation TEXT,
  state TEXT NOT NULL
    CHECK (state IN ('started', 'answered', 'posted', 'muted', 'aborted', 'dropped', 'failed')),
  outcome TEXT,
  answer TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX crisp_turns_session ON crisp_turns (chatbot_id, session_id);

-- Exactly-once posting: the intent is committed before the POST, marked uncertain while the
-- request is in flight, and settled with the fingerprint Crisp returned.
CREATE TABLE crisp_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('reply', 'handoff', 'note', 'quota')),
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  website_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'intent' CHECK (state IN ('intent', 'sent', 'skipped')),
  uncertain INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  fingerprint TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  UNIQUE (job_id, step)
);
CREATE INDEX crisp_outbox_session ON crisp_outbox (website_id, session_id, state);

-- Fingerprints of the messages we posted: our own echo (message:received) is recognised by them.
CREATE TABLE crisp_sent (
  website_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
  job_id INTEGER,
  kind TEXT NOT NULL CHECK (kind IN ('reply', 'handoff', 'note', 'quota')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (website_id, session_id, fingerprint)
);
CREATE INDEX crisp_sent_kind ON crisp_sent (chatbot_id, session_id, kind);
