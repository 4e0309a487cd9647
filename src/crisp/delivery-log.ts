// The delivery log, the one owner of `crisp_deliveries`: what the webhook did with each delivery
// of a chatbot, and for a visitor message what its turn came to. No message text and no secret
// is ever written here. Bounded: rows older than 7 days and past a per-chatbot cap are pruned
// (amortised: every PRUNE_EVERY rows), and refused deliveries (401, 413, 400) share one row per
// chatbot, reason and minute, so a flood of bad deliveries adds a row a minute at most.
import type { Database } from 'bun:sqlite';

const DELIVERY_LOG_DAYS = 7;
const KEEP_MS = DELIVERY_LOG_DAYS * 86_400_000;
/** Rows kept per chatbot (a busy website's week of events). */
export const DELIVERY_LOG_MAX_ROWS = 20_000;
const PRUNE_EVERY = 256;

export type DeliveryEntry = {
  chatbotId: string;
  at: number;
  event: string;
  websiteId: string | null;
  sessionId: string | null;
  /** The message's fingerprint: how a visitor message's turn is found again. */
  fingerprint: string | null;
  action: string;
  reason: string | null;
};

export type Delivery = {
  receivedAt: string;
  /** Refused deliveries of the same minute and reason share a row: the last one's time. */
  lastReceivedAt: string;
  /** How many deliveries this row stands for (1 but for coalesced refused ones). */
  count: number;
  event: string | null;
  sessionId: string | null;
  action: string;
  reason: string | null;
  /** A visitor message's turn, once it ended (`answered`, `handoff:<reason>`, …); else null. */
  outcome: string | null;
};

/** Logs one handled delivery (in the caller's transaction: the webhook's group commit). */
export function logDelivery(db: Database, entry: DeliveryEntry): void {
  const { lastInsertRowid } = db
    .query(
      `INSERT INTO crisp_deliveries (chatbot_id, received_at, last_at, event, website_id,
         session_id, fingerprint, action, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      entry.chatbotId,
      entry.at,
      entry.at,
      entry.event,
      entry.websiteId,
      entry.sessionId,
      entry.fingerprint,
      entry.action,
      entry.reason,
    );
  pruneNow(db, entry.chatbotId, Number(lastInsertRowid), entry.at);
}

/** Logs a refused delivery without anything from its body: one row per reason and minute. */
export function logRefused(db: Database, chatbotId: string, at: number, reason: string): void {
  const row = db
    .query<{ id: number }, [string, number, number, string, string]>(
      `INSERT INTO crisp_deliveries (chatbot_id, received_at, last_at, action, reason, coalesce_key)
       VALUES (?1, ?2, ?3, 'rejected', ?4, ?5)
       ON CONFLICT (chatbot_id, coalesce_key) WHERE coalesce_key IS NOT NULL
       DO UPDATE SET count = count + 1, last_at = excluded.last_at
       RETURNING id`,
    )
    .get(chatbotId, at, at, reason, `${reason}:${Math.floor(at / 60_000)}`);
  if (row) pruneNow(db, chatbotId, row.id, at);
}

function pruneNow(db: Database, chatbotId: string, id: number, now: number): void {
  if (id % PRUNE_EVERY !== 0) return;
  db.query('DELETE FROM crisp_deliveries WHERE received_at < ?').run(now - KEEP_MS);
  db.query(
    `DELETE FROM crisp_deliveries WHERE chatbot_id = ?1 AND id <= (
       SELECT id FROM crisp_deliveries WHERE chatbot_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`,
  ).run(chatbotId, DELIVERY_LOG_MAX_ROWS);
}

/** A turn's outcome counts once the turn ended (these states are final). */
const ENDED = "('posted', 'muted', 'aborted', 'dropped', 'failed')";

/** The chatbot's deliveries of the last 7 days, newest first, with their turns' outcomes. */
export function listDeliveries(
  db: Database,
  chatbotId: string,
  now: number,
  limit: number,
): Delivery[] {
  return db
    .query<
      Omit<Delivery, 'receivedAt' | 'lastReceivedAt'> & { receivedAt: number; lastAt: number },
      [string, number, number]
    >(
      `SELECT d.received_at AS receivedAt, d.last_at AS lastAt, d.count, d.event,
         d.session_id AS sessionId, d.action, d.reason,
         CASE WHEN t.state IN ${ENDED} THEN t.outcome END AS outcome
       FROM crisp_deliveries d
       LEFT JOIN crisp_inbox i ON d.action = 'queued' AND i.website_id = d.website_id
         AND i.session_id = d.session_id AND i.fingerprint = d.fingerprint
       LEFT JOIN crisp_turns t ON t.job_id = i.job_id
       WHERE d.chatbot_id = ? AND d.last_at >= ?
       ORDER BY d.id DESC LIMIT ?`,
    )
    .all(chatbotId, now - KEEP_MS, limit)
    .map(({ lastAt, receivedAt, ...row }) => ({
      ...row,
      receivedAt: new Date(receivedAt).toISOString(),
      lastReceivedAt: new Date(lastAt).toISOString(),
    }));
}
