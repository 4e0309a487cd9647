// Quotas: effective limits, atomic message reservations per window, usage, per-conversation bursts.
import type { Database } from 'bun:sqlite';
import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import { DEFAULT_PLAN_ID } from '../plans/model.ts';

export type QuotaWindow = 'day' | 'month';

/** The limits that apply to a chatbot now; null = unlimited. */
export type EffectiveLimits = {
  /** The plan the chatbot follows (`default` when it has none). */
  planId: string;
  monthlyMessages: number | null;
  dailyMessages: number | null;
};

/**
 * One reserved message. Plain JSON, so a worker may store it in a job payload and release it
 * after a restart.
 */
export type Reservation = { id: number; chatbotId: string; day: string; month: string };

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; window: QuotaWindow; limit: number };

export type WindowUsage = {
  period: string;
  used: number;
  limit: number | null;
  remaining: number | null;
};

export type Usage = { day: WindowUsage; month: WindowUsage };

export type BurstLimit = { messages: number; windowSeconds: number };

export type BurstResult = { ok: true } | { ok: false; retryAfterMs: number };

/** A reservation older than this can no longer be released (its row is pruned). */
export const RESERVATION_RELEASABLE_MS = 7 * 24 * 3600_000;
/** Burst events older than the largest allowed burst window are pruned. */
const BURST_MAX_WINDOW_MS = 86_400_000;
// Pruning runs on one insert in this many, so its cost is spread thin and needs no timer.
const PRUNE_EVERY = 1024;

/** The UTC periods `now` falls in: `{ day: 'YYYY-MM-DD', month: 'YYYY-MM' }`. */
export function periodsOf(now: Date): { day: string; month: string } {
  const iso = now.toISOString();
  return { day: iso.slice(0, 10), month: iso.slice(0, 7) };
}

type LimitsRow = {
  settings: string;
  plan_id: string | null;
  plan_monthly: number | null;
  plan_daily: number | null;
};

type Override = number | null | undefined;

function overrides(settings: string): { monthly: Override; daily: Override } {
  const quota = (JSON.parse(settings) as { quota?: Record<string, unknown> }).quota ?? {};
  const pick = (value: unknown): Override =>
    value === null ? null : typeof value === 'number' ? value : undefined;
  return { monthly: pick(quota.monthlyMessages), daily: pick(quota.dailyMessages) };
}

/**
 * The limits for a chatbot: each of its own overrides (a number, or null = unlimited), else its
 * plan's, else the default plan's (which mirrors DEFAULT_MONTHLY_MESSAGES / DEFAULT_DAILY_MESSAGES).
 * Throws NOT_FOUND for an unknown chatbot.
 */
export function effectiveLimits(db: Database, chatbotId: string): EffectiveLimits {
  const row = db
    .query<LimitsRow, [string, string]>(
      `SELECT c.settings, c.plan_id, p.monthly_messages AS plan_monthly, p.daily_messages AS plan_daily
       FROM chatbots c LEFT JOIN plans p ON p.id = COALESCE(c.plan_id, ?)
       WHERE c.id = ?`,
    )
    .get(DEFAULT_PLAN_ID, chatbotId);
  if (!row) throw notFound('Chatbot');
  const own = overrides(row.settings);
  return {
    planId: row.plan_id ?? DEFAULT_PLAN_ID,
    monthlyMessages: own.monthly !== undefined ? own.monthly : row.plan_monthly,
    dailyMessages: own.daily !== undefined ? own.daily : row.plan_daily,
  };
}

class QuotaDenied extends Error {
  constructor(
    readonly window: QuotaWindow,
    readonly limit: number,
  ) {
    super('quota exhausted');
  }
}

// One statement per window: the row is created at 1 or incremented, and the WHERE refuses the
// increment at the limit (no row comes back). Unlimited windows (limit NULL) still count, so
// usage is visible.
const COUNT_ONE = `
INSERT INTO usage_counters (chatbot_id, window, period, used) VALUES (?1, ?2, ?3, 1)
ON CONFLICT (chatbot_id, window, period) DO UPDATE SET used = used + 1
WHERE ?4 IS NULL OR used < ?4
RETURNING used`;

/**
 * Reserves one message in every window (month, then day) in one IMMEDIATE transaction: either
 * every counter moves or none does, and no caller, on this connection or another, can spend past
 * a limit. When a window is full, returns it with its limit (the month first when both are).
 * Call it right before the first LLM call of a visitor turn; `release` it if the answer failed
 * before the LLM produced anything. Throws NOT_FOUND for an unknown chatbot.
 */
export function reserveMessage(db: Database, chatbotId: string, now = new Date()): ReserveResult {
  const { day, month } = periodsOf(now);
  const reserve = db.transaction((): Reservation => {
    const limits = effectiveLimits(db, chatbotId);
    const windows: [QuotaWindow, string, number | null][] = [
      ['month', month, limits.monthlyMessages],
      ['day', day, limits.dailyMessages],
    ];
    for (const [window, period, limit] of windows) {
      // A zero limit would otherwise let the insert branch create the row at 1.
      if (limit !== null && limit <= 0) throw new QuotaDenied(window, limit);
      const counted = db
        .query<{ used: number }, [string, string, string, number | null]>(COUNT_ONE)
        .get(chatbotId, window, period, limit);
      if (!counted) throw new QuotaDenied(window, limit ?? 0);
    }
    const id = Number(
      db
        .query(
          'INSERT INTO quota_reservations (chatbot_id, day_period, month_period, created_at) VALUES (?, ?, ?, ?)',
        )
        .run(chatbotId, day, month, now.getTime()).lastInsertRowid,
    );
    if (id % PRUNE_EVERY === 0) {
      db.query('DELETE FROM quota_reservations WHERE created_at < ?').run(
        now.getTime() - RESERVATION_RELEASABLE_MS,
      );
    }
    return { id, chatbotId, day, month };
  });
  try {
    return { ok: true, reservation: reserve.immediate() };
  } catch (e) {
    if (e instanceof QuotaDenied) return { ok: false, window: e.window, limit: e.limit };
    throw e;
  }
}

/**
 * Gives a reservation back to the periods it was taken from. Idempotent (the second call, even
 * from another process or after a restart, changes nothing) and never takes a counter below zero.
 * Returns true when this call gave it back.
 */
export function release(db: Database, reservation: Reservation): boolean {
  return db
    .transaction(() => {
      const row = db
        .query<{ day_period: string; month_period: string }, [number, string]>(
          'DELETE FROM quota_reservations WHERE id = ? AND chatbot_id = ? RETURNING day_period, month_period',
        )
        .get(reservation.id, reservation.chatbotId);
      if (!row) return false;
      const giveBack = db.query(
        'UPDATE usage_counters SET used = used - 1 WHERE chatbot_id = ? AND window = ? AND period = ? AND used > 0',
      );
      giveBack.run(reservation.chatbotId, 'day', row.day_period);
      giveBack.run(reservation.chatbotId, 'month', row.month_period);
      return true;
    })
    .immediate();
}

/** Usage of the periods `now` falls in, with the effective limits. Throws NOT_FOUND. */
export function getUsage(db: Database, chatbotId: string, now = new Date()): Usage {
  const { day, month } = periodsOf(now);
  return db.transaction((): Usage => {
    const limits = effectiveLimits(db, chatbotId);
    const used = (window: QuotaWindow, period: string) =>
      db
        .query<{ used: number }, [string, string, string]>(
          'SELECT used FROM usage_counters WHERE chatbot_id = ? AND window = ? AND period = ?',
        )
        .get(chatbotId, window, period)?.used ?? 0;
    const of = (window: QuotaWindow, period: string, limit: number | null): WindowUsage => {
      const n = used(window, period);
      return { period, used: n, limit, remaining: limit === null ? null : Math.max(limit - n, 0) };
    };
    return {
      day: of('day', day, limits.dailyMessages),
      month: of('month', month, limits.monthlyMessages),
    };
  })();
}

/**
 * Sliding-window burst limit for one conversation: allows the turn and records it when fewer than
 * `messages` turns were allowed in the last `windowSeconds`, else says how long until one is.
 * Atomic (IMMEDIATE transaction) and persisted, so neither concurrency nor a restart resets it.
 * Call it once per visitor turn that would be answered, before `reserveMessage`.
 */
export function checkBurst(
  db: Database,
  chatbotId: string,
  conversationKey: string,
  now: Date,
  limit: BurstLimit,
): BurstResult {
  const nowMs = now.getTime();
  const windowMs = limit.windowSeconds * 1000;
  return db
    .transaction((): BurstResult => {
      db.query(
        'DELETE FROM burst_events WHERE chatbot_id = ? AND conversation_key = ? AND at_ms <= ?',
      ).run(chatbotId, conversationKey, nowMs - windowMs);
      const { n } = db
        .query<{ n: number }, [string, string]>(
          'SELECT COUNT(*) AS n FROM burst_events WHERE chatbot_id = ? AND conversation_key = ?',
        )
        .get(chatbotId, conversationKey) ?? { n: 0 };
      if (n >= limit.messages) {
        // The turn is allowed once enough of the oldest events leave the window that fewer than
        // `messages` remain (more than one only when the limit was lowered meanwhile).
        const { at_ms } = db
          .query<{ at_ms: number }, [string, string, number]>(
            'SELECT at_ms FROM burst_events WHERE chatbot_id = ? AND conversation_key = ? ORDER BY at_ms LIMIT 1 OFFSET ?',
          )
          .get(chatbotId, conversationKey, n - limit.messages) ?? { at_ms: nowMs };
        return { ok: false, retryAfterMs: Math.max(1, at_ms + windowMs - nowMs) };
      }
      const rowid = Number(
        db
          .query('INSERT INTO burst_events (chatbot_id, conversation_key, at_ms) VALUES (?, ?, ?)')
          .run(chatbotId, conversationKey, nowMs).lastInsertRowid,
      );
      // Conversations that went quiet keep their last events; sweep those past any window.
      if (rowid % PRUNE_EVERY === 0) {
        db.query('DELETE FROM burst_events WHERE at_ms <= ?').run(nowMs - BURST_MAX_WINDOW_MS);
      }
      return { ok: true };
    })
    .immediate();
}

/**
 * Where a caller keeps the reservation a turn holds, so a resumed turn holds the same one:
 * `held` is the one kept so far, `keep` writes a new one (null = given back). `keep` runs inside
 * the transaction that moves the counters, so a crash between the two cannot count a message
 * twice or resume with a reservation already given back (an LLM call the quota never counted).
 */
export type ReservationKeeper = {
  held: Reservation | null;
  keep: (reservation: Reservation | null) => void;
};

/** The quota hook of one visitor turn (`answerMessage`'s `quota`), plus what happened. */
export type QuotaHook = {
  /** Reserves one message unless the turn already holds one; false = a window is full. */
  reserve: () => boolean;
  /** Gives the turn's reservation back (nothing when it holds none). */
  release: () => void;
  /** The reservation this turn holds, if any (null after a release). */
  readonly reservation: Reservation | null;
  /** The full window when `reserve` returned false. */
  readonly denied: { window: QuotaWindow; limit: number } | null;
};

/**
 * The one quota hook, for the playground and the Crisp turn alike: `reserveMessage` / `release`
 * for one turn, with the reservation kept in memory, or also by `keeper` (the Crisp turn keeps it
 * with the turn's row). The clock is read when the reservation is made.
 */
export function quotaHook(
  db: Database,
  chatbotId: string,
  clock: Clock,
  keeper?: ReservationKeeper,
): QuotaHook {
  let reservation: Reservation | null = keeper?.held ?? null;
  let denied: { window: QuotaWindow; limit: number } | null = null;
  return {
    reserve: () => {
      if (reservation) return true;
      const result = db
        .transaction(() => {
          const r = reserveMessage(db, chatbotId, new Date(clock.now()));
          if (r.ok) keeper?.keep(r.reservation);
          return r;
        })
        .immediate();
      if (result.ok) reservation = result.reservation;
      else denied = { window: result.window, limit: result.limit };
      return result.ok;
    },
    release: () => {
      const held = reservation;
      if (!held) return;
      db.transaction(() => {
        release(db, held);
        keeper?.keep(null);
      }).immediate();
      reservation = null;
    },
    get reservation() {
      return reservation;
    },
    get denied() {
      return denied;
    },
  };
}
