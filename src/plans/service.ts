// Plan use cases over SQLite: create, list, read, update, delete, and the default plan's sync.
import type { Database } from 'bun:sqlite';
import type { Config } from '../config.ts';
import { AppError, notFound } from '../errors.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../storage/sqlite/db.ts';
import { type CreatePlanBody, DEFAULT_PLAN_ID, type Plan, type UpdatePlanBody } from './model.ts';

type Row = {
  id: string;
  name: string;
  monthly_messages: number | null;
  daily_messages: number | null;
  created_at: string;
  updated_at: string;
  chatbot_count: number;
};

const newId = () => `plan_${crypto.randomUUID().replaceAll('-', '')}`;

// Chatbots with no plan use the default plan, so they count towards it.
const SELECT = `
SELECT p.*, (
  SELECT COUNT(*) FROM chatbots c
  WHERE c.plan_id = p.id OR (p.id = '${DEFAULT_PLAN_ID}' AND c.plan_id IS NULL)
) AS chatbot_count
FROM plans p`;

function toPlan(row: Row): Plan {
  return {
    id: row.id,
    name: row.name,
    monthlyMessages: row.monthly_messages,
    dailyMessages: row.daily_messages,
    isDefault: row.id === DEFAULT_PLAN_ID,
    chatbotCount: row.chatbot_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const isNameTaken = (e: unknown) => isUniqueViolation(e, 'plans.name');

const nameConflict = () => new AppError('CONFLICT', 'A plan with this name already exists');

const readOnly = () =>
  new AppError(
    'CONFLICT',
    'The default plan comes from configuration (DEFAULT_MONTHLY_MESSAGES, DEFAULT_DAILY_MESSAGES) and cannot be changed or deleted through the API',
  );

/**
 * Makes the `default` plan row mirror the configuration. Migration 006 creates the row so that
 * chatbots can reference `"planId": "default"`; its limits are rewritten here at every start, and
 * `updatedAt` moves only when they changed.
 */
export function syncDefaultPlan(
  db: Database,
  config: Pick<Config, 'DEFAULT_MONTHLY_MESSAGES' | 'DEFAULT_DAILY_MESSAGES'>,
  now = new Date(),
): void {
  const at = now.toISOString();
  db.query(
    `INSERT INTO plans (id, name, monthly_messages, daily_messages, created_at, updated_at)
     VALUES (?1, 'Default', ?2, ?3, ?4, ?4)
     ON CONFLICT (id) DO UPDATE SET monthly_messages = ?2, daily_messages = ?3, updated_at = ?4
     WHERE monthly_messages IS NOT ?2 OR daily_messages IS NOT ?3`,
  ).run(DEFAULT_PLAN_ID, config.DEFAULT_MONTHLY_MESSAGES, config.DEFAULT_DAILY_MESSAGES, at);
}

export function createPlan(db: Database, body: CreatePlanBody, now = new Date()): Plan {
  const at = now.toISOString();
  const id = newId();
  try {
    db.query(
      'INSERT INTO plans (id, name, monthly_messages, daily_messages, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(id, body.name, body.monthlyMessages, body.dailyMessages, at, at);
  } catch (e) {
    if (isNameTaken(e)) throw nameConflict();
    throw e;
  }
  return getPlan(db, id);
}

/** Every plan, the default one first. */
export function listPlans(db: Database): Plan[] {
  return db
    .query<Row, []>(`${SELECT} ORDER BY p.id = '${DEFAULT_PLAN_ID}' DESC, p.created_at, p.id`)
    .all()
    .map(toPlan);
}

export function getPlan(db: Database, id: string): Plan {
  const row = db.query<Row, [string]>(`${SELECT} WHERE p.id = ?`).get(id);
  if (!row) throw notFound('Plan');
  return toPlan(row);
}

export function updatePlan(db: Database, id: string, patch: UpdatePlanBody, now: Date): Plan {
  const current = getPlan(db, id);
  if (current.isDefault) throw readOnly();
  try {
    db.query(
      'UPDATE plans SET name = ?, monthly_messages = ?, daily_messages = ?, updated_at = ? WHERE id = ?',
    ).run(
      patch.name ?? current.name,
      patch.monthlyMessages === undefined ? current.monthlyMessages : patch.monthlyMessages,
      patch.dailyMessages === undefined ? current.dailyMessages : patch.dailyMessages,
      now.toISOString(),
      id,
    );
  } catch (e) {
    if (isNameTaken(e)) throw nameConflict();
    throw e;
  }
  return getPlan(db, id);
}

/**
 * Deletes a plan that no chatbot uses. A plan still in use is kept (409): detaching its chatbots
 * silently would move them to the default plan's limits, which may cost more than intended.
 */
export function deletePlan(db: Database, id: string): void {
  const plan = getPlan(db, id);
  if (plan.isDefault) throw readOnly();
  if (plan.chatbotCount > 0) {
    throw new AppError(
      'CONFLICT',
      `The plan is used by ${plan.chatbotCount} chatbot(s); move them to another plan (PATCH /api/v1/chatbots/{chatbotId} with "planId") before deleting it`,
    );
  }
  try {
    db.query('DELETE FROM plans WHERE id = ?').run(id);
  } catch (e) {
    // A chatbot took the plan between the count and the delete (another connection).
    if (isForeignKeyViolation(e)) {
      throw new AppError(
        'CONFLICT',
        'The plan is used by a chatbot; move it to another plan first',
      );
    }
    throw e;
  }
}
