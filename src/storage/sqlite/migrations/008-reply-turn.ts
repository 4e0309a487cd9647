import type { Migration } from './migration.ts';

/**
 * The reply turn's own columns and the conversation list's index: `crisp_outbox.content` holds a
 * post's text beside its JSON body, so the webhook recognises our echo by content without reading
 * the JSON; the Crisp conversation list pages by channel in SQL (chatbot, channel, last activity),
 * which also serves every lookup the older (chatbot, last activity) index did.
 */
export const replyTurn: Migration = {
  version: 8,
  name: 'reply-turn',
  sql: `
ALTER TABLE crisp_outbox ADD COLUMN content TEXT;
UPDATE crisp_outbox SET content = json_extract(body, '$.content');
CREATE INDEX conversations_channel ON conversations (chatbot_id, channel, updated_at);
DROP INDEX conversations_chatbot;
`,
};
