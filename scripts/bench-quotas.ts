// Prints how many quota reservations, releases and burst checks one connection does per second,
// on a real SQLite file (WAL, synchronous=NORMAL) in a temp dir. `bun run scripts/bench-quotas.ts`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChatbot } from '../src/chatbots/service.ts';
import { syncDefaultPlan } from '../src/plans/service.ts';
import { checkBurst, type Reservation, release, reserveMessage } from '../src/quotas/service.ts';
import { openDatabase } from '../src/storage/sqlite/db.ts';

const N = Number(process.argv[2] ?? 50_000);
const dir = mkdtempSync(join(tmpdir(), 'answerdesk-bench-quotas-'));
try {
  const db = openDatabase(join(dir, 'answerdesk.sqlite'));
  syncDefaultPlan(db, { DEFAULT_MONTHLY_MESSAGES: null, DEFAULT_DAILY_MESSAGES: null });
  const bot = createChatbot(db, {
    name: 'bench',
    quota: { monthlyMessages: 1_000_000_000, dailyMessages: 1_000_000_000 },
  }).id;
  const now = new Date();
  const rate = (label: string, run: (i: number) => void) => {
    const start = performance.now();
    for (let i = 0; i < N; i++) run(i);
    const seconds = (performance.now() - start) / 1000;
    console.log(`${label.padEnd(34)} ${Math.round(N / seconds).toLocaleString('en')}/s`);
  };
  const held: Reservation[] = [];
  console.log(`bun ${Bun.version}, ${N.toLocaleString('en')} operations each, one connection`);
  rate('reserveMessage (2 windows)', () => {
    const r = reserveMessage(db, bot, now);
    if (r.ok) held.push(r.reservation);
  });
  rate('release', (i) => release(db, held[i]!));
  rate('checkBurst (1,000 conversations)', (i) =>
    checkBurst(db, bot, `conv-${i % 1000}`, now, { messages: 10_000, windowSeconds: 60 }),
  );
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
