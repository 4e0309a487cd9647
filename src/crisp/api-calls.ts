// Crisp calls counted per chatbot and UTC day, the one owner of `crisp_api_calls`: Crisp's daily
// quota (5,000 calls for a plugin token by default, 10,000 for a website token) is spent by every
// call, so the count is kept where a restart does not lose it (docs/notes/crisp.md, F11, F12).
import type { Database } from 'bun:sqlite';
import type { CrispTier } from './client.ts';

/** Crisp's default daily quota by token tier (yours may have been raised on the Marketplace). */
export const DEFAULT_DAILY_QUOTA: Record<CrispTier, number> = { plugin: 5_000, website: 10_000 };

/** Days of counts kept. */
const KEEP_DAYS = 35;

const utcDay = (at: Date) => at.toISOString().slice(0, 10);

export type DayCalls = { day: string; calls: number; refused: number };

/** Counts one call made for `chatbotId` on `at`'s UTC day (`refused`: Crisp said quota/rate). */
export function countCall(db: Database, chatbotId: string, at: Date, refused: boolean): void {
  const day = utcDay(at);
  const inserted = db
    .query(
      `INSERT INTO crisp_api_calls (chatbot_id, day, calls, refused) VALUES (?, ?, 1, ?)
         ON CONFLICT (chatbot_id, day) DO UPDATE SET calls = calls + 1, refused = refused + excluded.refused
         RETURNING calls`,
    )
    .get(chatbotId, day, refused ? 1 : 0) as { calls: number } | null;
  // The first call of a day forgets the oldest counts.
  if (inserted?.calls === 1) {
    const oldest = utcDay(new Date(at.getTime() - KEEP_DAYS * 86_400_000));
    db.query('DELETE FROM crisp_api_calls WHERE chatbot_id = ? AND day < ?').run(chatbotId, oldest);
  }
}

/** The chatbot's calls on `at`'s UTC day. */
export function callsOn(db: Database, chatbotId: string, at: Date): DayCalls {
  const day = utcDay(at);
  const row = db
    .query<{ calls: number; refused: number }, [string, string]>(
      'SELECT calls, refused FROM crisp_api_calls WHERE chatbot_id = ? AND day = ?',
    )
    .get(chatbotId, day);
  return { day, calls: row?.calls ?? 0, refused: row?.refused ?? 0 };
}

/** Every chatbot's calls on `at`'s UTC day (the /metrics gauge). */
export function callsOfDay(db: Database, at: Date): { chatbotId: string; calls: number }[] {
  return db
    .query<{ chatbotId: string; calls: number }, [string]>(
      'SELECT chatbot_id AS chatbotId, calls FROM crisp_api_calls WHERE day = ? ORDER BY chatbot_id',
    )
    .all(utcDay(at));
}
