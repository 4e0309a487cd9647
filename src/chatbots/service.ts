// Chatbot use cases over SQLite: create, list, read, update, delete.
import type { Database } from 'bun:sqlite';
import * as v from 'valibot';
import { AppError, notFound } from '../errors.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../storage/sqlite/db.ts';
import {
  type Chatbot,
  ChatbotSettings,
  type CreateChatbotBody,
  FOLLOW_PLAN,
  type UpdateChatbotBody,
} from './model.ts';

type Row = {
  id: string;
  name: string;
  plan_id: string | null;
  settings: string;
  created_at: string;
  updated_at: string;
};

const newId = () => `cb_${crypto.randomUUID().replaceAll('-', '')}`;

/**
 * Chatbots parsed from their rows, reused while the row is unchanged: every webhook delivery
 * reads its chatbot, and parsing the settings is most of that (JSON + valibot). The row is still
 * read each time, so an update or a delete is seen at once. Frozen: callers share the object.
 */
const parsed = new Map<string, { row: Row; chatbot: Chatbot }>();
const PARSED_MAX = 1_000;

const sameRow = (a: Row, b: Row) =>
  a.updated_at === b.updated_at &&
  a.settings === b.settings &&
  a.name === b.name &&
  a.plan_id === b.plan_id &&
  a.created_at === b.created_at;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function toChatbot(row: Row): Chatbot {
  const hit = parsed.get(row.id);
  if (hit && sameRow(hit.row, row)) return hit.chatbot;
  // Stored settings are parsed again so fields added later get their defaults.
  const settings = v.parse(ChatbotSettings, JSON.parse(row.settings));
  const chatbot = deepFreeze({
    id: row.id,
    name: row.name,
    planId: row.plan_id,
    ...settings,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(row.id, { row, chatbot });
  return chatbot;
}

function checkPlan(db: Database, planId: string | null | undefined): void {
  if (planId == null) return;
  const found = db.query('SELECT 1 FROM plans WHERE id = ?').get(planId);
  if (!found) throw new AppError('VALIDATION_FAILED', `Invalid body: planId: no plan with this id`);
}

const SETTINGS_GROUPS = ['language', 'handoff', 'quota', 'persona'] as const;

/**
 * Settings as stored: a quota limit of `"plan"` removes the chatbot's own limit, so the field is
 * absent and its plan's limit applies again (`effectiveLimits` in src/quotas/service.ts).
 */
function toStored(settings: Record<string, unknown>): ChatbotSettings {
  const quota = settings.quota as Record<string, unknown> | undefined;
  const ownQuota =
    quota && Object.fromEntries(Object.entries(quota).filter(([, value]) => value !== FOLLOW_PLAN));
  const stored = v.parse(ChatbotSettings, { ...settings, quota: ownQuota });
  if (stored.answerWhen === 'outside_hours' && stored.businessHours === null) {
    throw new AppError(
      'VALIDATION_FAILED',
      'Invalid body: businessHours: required when answerWhen is "outside_hours"',
    );
  }
  return stored;
}

/** Applies a partial update to settings: groups merge field by field, the rest replaces. */
function mergeSettings(
  current: ChatbotSettings,
  patch: Omit<UpdateChatbotBody, 'name' | 'planId'>,
) {
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    next[key] = (SETTINGS_GROUPS as readonly string[]).includes(key)
      ? { ...(current[key as (typeof SETTINGS_GROUPS)[number]] as object), ...(value as object) }
      : value;
  }
  return toStored(next);
}

export function createChatbot(db: Database, body: CreateChatbotBody, now = new Date()): Chatbot {
  const { name, planId = null, ...rest } = body;
  checkPlan(db, planId);
  const settings = toStored(rest);
  const at = now.toISOString();
  const id = newId();
  try {
    db.query(
      'INSERT INTO chatbots (id, name, plan_id, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(id, name, planId, JSON.stringify(settings), at, at);
  } catch (e) {
    if (isUniqueViolation(e, 'chatbots.name')) {
      throw new AppError('CONFLICT', 'A chatbot with this name already exists');
    }
    throw e;
  }
  return getChatbot(db, id);
}

export function listChatbots(db: Database): Chatbot[] {
  return db.query<Row, []>('SELECT * FROM chatbots ORDER BY created_at, id').all().map(toChatbot);
}

export function findChatbot(db: Database, id: string): Chatbot | undefined {
  const row = db.query<Row, [string]>('SELECT * FROM chatbots WHERE id = ?').get(id);
  return row ? toChatbot(row) : undefined;
}

export function getChatbot(db: Database, id: string): Chatbot {
  const chatbot = findChatbot(db, id);
  if (!chatbot) throw notFound('Chatbot');
  return chatbot;
}

export function updateChatbot(
  db: Database,
  id: string,
  patch: UpdateChatbotBody,
  now = new Date(),
): Chatbot {
  const current = getChatbot(db, id);
  const { name, planId, ...settingsPatch } = patch;
  if (planId !== undefined) checkPlan(db, planId);
  const { id: _id, name: _n, planId: _p, createdAt: _c, updatedAt: _u, ...settings } = current;
  const merged = mergeSettings(settings, settingsPatch);
  try {
    db.query(
      'UPDATE chatbots SET name = ?, plan_id = ?, settings = ?, updated_at = ? WHERE id = ?',
    ).run(
      name ?? current.name,
      planId === undefined ? current.planId : planId,
      JSON.stringify(merged),
      now.toISOString(),
      id,
    );
  } catch (e) {
    if (isUniqueViolation(e, 'chatbots.name')) {
      throw new AppError('CONFLICT', 'A chatbot with this name already exists');
    }
    if (isForeignKeyViolation(e))
      throw new AppError('VALIDATION_FAILED', 'Invalid body: planId: no plan with this id');
    throw e;
  }
  return getChatbot(db, id);
}

/**
 * Deletes a chatbot and everything it owns. Its LanceDB chunks go first (through
 * `removeExternal`), so a failure there leaves the chatbot in place to retry; SQLite rows that
 * reference it (sources, conversations, credentials, jobs, counters) cascade in one transaction.
 */
export async function deleteChatbot(
  db: Database,
  id: string,
  removeExternal: readonly ((chatbotId: string) => Promise<void> | void)[],
): Promise<void> {
  getChatbot(db, id);
  for (const remove of removeExternal) await remove(id);
  db.query('DELETE FROM chatbots WHERE id = ?').run(id);
}
