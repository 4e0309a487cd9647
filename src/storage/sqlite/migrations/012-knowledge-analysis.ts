import type { Migration } from './migration.ts';

/**
 * Which full-text analyzer holds each chatbot's chunks (src/knowledge/analysis.ts): searches use
 * it until a re-index job switches the chatbot to the analyzer of its knowledge language. Chunks
 * indexed before per-chatbot analysis are English (`legacy`); the re-index job moves them at start.
 */
export const knowledgeAnalysis: Migration = {
  version: 12,
  name: 'knowledge-analysis',
  sql: `
CREATE TABLE knowledge_analysis (
  chatbot_id TEXT PRIMARY KEY,
  analyzer TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO knowledge_analysis (chatbot_id, analyzer, updated_at)
  SELECT id, 'legacy', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM chatbots;
`,
};
