
ALTER TABLE crisp_outbox ADD COLUMN content TEXT;
UPDATE crisp_outbox SET content = json_extract(body, '$.content');
CREATE INDEX conversations_channel ON conversations (chatbot_id, channel, updated_at);
DROP INDEX conversations_chatbot;
