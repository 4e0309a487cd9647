// Child process for the concurrency tests: its own connection to the same SQLite file. It says
// "ready", waits for a line on stdin (so every child starts at once), then reserves quota or
// burst slots as fast as it can and prints how many it got.
import { checkBurst, reserveMessage } from '../../src/quotas/service.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';

const [file, mode, chatbotId, attemptsArg] = process.argv.slice(2);
if (!file || !chatbotId || !attemptsArg || (mode !== 'reserve' && mode !== 'burst')) {
  throw new Error('usage: reserve-child.ts <file> reserve|burst <chatbotId> <attempts>');
}
const db = openDatabase(file);
const now = new Date('2026-11-26T10:00:00.000Z');
console.log('ready');
for await (const _line of console) break;
let granted = 0;
for (let i = 0; i < Number(attemptsArg); i++) {
  const ok =
    mode === 'reserve'
      ? reserveMessage(db, chatbotId, now).ok
      : checkBurst(db, chatbotId, 'conv-1', now, { messages: 25, windowSeconds: 60 }).ok;
  if (ok) granted++;
}
db.close();
console.log(JSON.stringify({ granted }));
