// Prints how long the analytics and the unanswered-questions report take on a year of traffic:
// CONVERSATIONS conversations of a chatbot (a third of them on Crisp, resolved) spread over 365
// days, each with a visitor question and the bot's answer or handoff, beside another chatbot with
// as many. Real SQLite file in a temp dir. `bun run bench:insights [conversations]`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyticsReport } from '../src/analytics/service.ts';
import { createChatbot } from '../src/chatbots/service.ts';
import {
  addVisitorMessage,
  appendMessage,
  getOrCreateConversation,
  resolveConversation,
} from '../src/conversations/service.ts';
import { unansweredReport } from '../src/insights/service.ts';
import { createLogger } from '../src/logging.ts';
import { syncDefaultPlan } from '../src/plans/service.ts';
import { openDatabase } from '../src/storage/sqlite/db.ts';

const CONVERSATIONS = Number(process.argv[2] ?? 20_000);
const DAY_MS = 86_400_000;
const END = Date.parse('2026-03-01T00:00:00Z');
const TOPICS = [
  'Mars',
  'Venus',
  'bitcoin',
  'gift cards',
  'student discount',
  'warranty',
  'invoices',
];

const dir = mkdtempSync(join(tmpdir(), 'answerdesk-bench-insights-'));
try {
  const db = openDatabase(join(dir, 'answerdesk.sqlite'));
  syncDefaultPlan(db, { DEFAULT_MONTHLY_MESSAGES: null, DEFAULT_DAILY_MESSAGES: null });
  const bots = ['bench', 'other'].map((name) => createChatbot(db, { name }).id);
  const usage = { totalTokens: 900, costUsd: 0.0001 };
  const load = performance.now();
  db.transaction(() => {
    for (const chatbotId of bots) {
      for (let i = 0; i < CONVERSATIONS; i++) {
        const at = new Date(END - ((i * 365 * DAY_MS) / CONVERSATIONS + 60_000));
        const channel = i % 3 === 0 ? 'crisp' : 'playground';
        const c = getOrCreateConversation(
          db,
          { chatbotId, channel, externalId: `c${i}`, websiteId: channel === 'crisp' ? 'w' : null },
          at,
        );
        const topic = TOPICS[i % TOPICS.length];
        addVisitorMessage(db, c.id, { content: `Do you do anything about ${topic}?` }, at);
        const handoff = i % 4 === 0 ? ('no_answer' as const) : null;
        const reply = { role: 'bot' as const, content: 'Sure.', handoffReason: handoff };
        appendMessage(db, c.id, { ...reply, provenance: { usage } }, new Date(at.getTime() + 900));
        if (channel === 'crisp') resolveConversation(db, c.id, new Date(at.getTime() + 30_000));
      }
    }
  })();
  console.log(
    `bun ${Bun.version}: ${bots.length} chatbots × ${CONVERSATIONS.toLocaleString('en')} conversations` +
      ` (4 messages or events each) loaded in ${Math.round(performance.now() - load)} ms`,
  );
  const time = async (label: string, run: () => unknown) => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await run();
      runs.push(performance.now() - start);
    }
    runs.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(46)} median ${runs[2]!.toFixed(1)} ms, max ${runs[4]!.toFixed(1)} ms`,
    );
  };
  const year = { from: new Date(END - 365 * DAY_MS), to: new Date(END) };
  const month = { from: new Date(END - 30 * DAY_MS), to: new Date(END) };
  for (const [name, range] of [
    ['365 days', year],
    ['30 days', month],
  ] as const) {
    for (const interval of ['day', 'week'] as const) {
      await time(`analytics, ${name}, per ${interval}`, () =>
        analyticsReport({ db }, bots[0]!, { ...range, interval, channel: null }),
      );
    }
  }
  const deps = { db, log: createLogger('silent'), embedder: null };
  const minimums = { text: 3, vector: 0.6 };
  const first = performance.now();
  await unansweredReport(deps, bots[0]!, year, minimums);
  console.log(
    `${'unanswered, 365 days, first read (groups 500)'.padEnd(46)} ${(performance.now() - first).toFixed(1)} ms`,
  );
  await time('unanswered, 365 days, later reads', () =>
    unansweredReport(deps, bots[0]!, year, minimums),
  );
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
