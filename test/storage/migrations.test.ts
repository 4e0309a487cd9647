// Migrations that change tables with rows: an upgrade keeps what was there.
import { Database } from 'bun:sqlite';
import { describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import { migrate } from '../../src/storage/sqlite/db.ts';
import { migrations } from '../../src/storage/sqlite/migrations/index.ts';
import { tempDir } from '../helpers/app.ts';

describe('the migration list', () => {
  it('should keep every shipped migration at its version and name (a database records only these)', () => {
    expect(migrations.map((m) => `${m.version} ${m.name}`)).toEqual([
      '1 foundation',
      '2 jobs',
      '3 knowledge',
      '4 conversations',
      '5 crisp',
      '6 quotas',
      '7 storage-probe',
      '8 reply-turn',
      '9 crisp-real',
      '10 insights',
      '11 answer-tests',
      '12 knowledge-analysis',
    ]);
  });
});

describe('migration 8 (reply turn)', () => {
  it('should give the posts already in the outbox their content, so their echo is still ours', () => {
    const tmp = tempDir();
    const db = new Database(join(tmp.dir, 'answerdesk.sqlite'));
    try {
      // A database as version 7 left it, with a post in flight.
      db.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      for (const m of migrations.filter((m) => m.version <= 7)) {
        db.exec(m.sql);
        db.query('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 'then');
      }
      db.exec(`INSERT INTO chatbots (id, name, settings, created_at, updated_at)
        VALUES ('cb_1', 'bot', '{}', 'then', 'then')`);
      db.query(
        `INSERT INTO crisp_outbox (job_id, step, kind, chatbot_id, website_id, session_id, body, created_at)
         VALUES (1, 0, 'reply', 'cb_1', 'w1', 's1', ?, 1)`,
      ).run(JSON.stringify({ type: 'text', from: 'operator', content: 'Open at nine.' }));

      migrate(db);
      expect(db.query('SELECT content FROM crisp_outbox').get()).toEqual({
        content: 'Open at nine.',
      });
      const indexes = db
        .query<{ name: string }, []>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversations'",
        )
        .all()
        .map((r) => r.name);
      expect(indexes).toContain('conversations_channel');
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});
