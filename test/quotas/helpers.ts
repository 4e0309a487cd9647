// A real SQLite file in a temp dir with the default plan synced, and chatbot/plan builders.
import { join } from 'node:path';
import type { CreateChatbotBody } from '../../src/chatbots/model.ts';
import { createChatbot } from '../../src/chatbots/service.ts';
import { createPlan, syncDefaultPlan } from '../../src/plans/service.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';

export function quotaDb(defaults: { monthly?: number | null; daily?: number | null } = {}) {
  const { dir, cleanup } = tempDir('answerdesk-quota-');
  const file = join(dir, 'answerdesk.sqlite');
  const db = openDatabase(file);
  syncDefaultPlan(db, {
    DEFAULT_MONTHLY_MESSAGES: defaults.monthly ?? null,
    DEFAULT_DAILY_MESSAGES: defaults.daily ?? null,
  });
  let n = 0;
  return {
    db,
    file,
    bot: (quota: CreateChatbotBody['quota'] = {}, planId: string | null = null) =>
      createChatbot(db, { name: `bot-${++n}`, planId, quota }).id,
    plan: (monthlyMessages: number | null, dailyMessages: number | null) =>
      createPlan(db, { name: `plan-${++n}`, monthlyMessages, dailyMessages }).id,
    close: () => {
      db.close();
      cleanup();
    },
  };
}
