import { afterEach, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import { checkBurst, getUsage, reserveMessage } from '../../src/quotas/service.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { quotaDb } from './helpers.ts';

const NOW = new Date('2026-11-26T10:00:00.000Z');
const CHILD = join(import.meta.dir, 'reserve-child.ts');
let q: ReturnType<typeof quotaDb>;
afterEach(() => q.close());

/** Starts `count` child processes on the same file, releases them together, sums their grants. */
async function raceChildren(
  file: string,
  mode: 'reserve' | 'burst',
  chatbotId: string,
  count: number,
  attempts: number,
  alongside: () => Promise<void> = async () => {},
): Promise<number[]> {
  const children = Array.from({ length: count }, () =>
    Bun.spawn([process.execPath, CHILD, file, mode, chatbotId, String(attempts)], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'inherit',
    }),
  );
  const readers = children.map((c) => c.stdout.getReader());
  const decoder = new TextDecoder();
  const buffers = children.map(() => '');
  const readLine = async (i: number): Promise<string> => {
    for (;;) {
      const nl = buffers[i]!.indexOf('\n');
      if (nl >= 0) {
        const line = buffers[i]!.slice(0, nl);
        buffers[i] = buffers[i]!.slice(nl + 1);
        return line;
      }
      const { value, done } = await readers[i]!.read();
      if (done) throw new Error(`child ${i} exited early`);
      buffers[i] += decoder.decode(value, { stream: true });
    }
  };
  // Every child has opened its connection before any of them starts.
  for (let i = 0; i < count; i++) expect(await readLine(i)).toBe('ready');
  for (const c of children) {
    c.stdin.write('go\n');
    await c.stdin.flush();
  }
  const [granted] = await Promise.all([
    Promise.all(
      children.map(async (_c, i) => (JSON.parse(await readLine(i)) as { granted: number }).granted),
    ),
    alongside(),
  ]);
  const codes = await Promise.all(children.map((c) => c.exited));
  expect(codes.every((code) => code === 0)).toBe(true);
  return granted;
}

describe('reserveMessage under concurrency', () => {
  it('should grant exactly the limit across processes and connections, never more', async () => {
    q = quotaDb();
    const limit = 300;
    const bot = q.bot({ monthlyMessages: limit, dailyMessages: null });
    const second = openDatabase(q.file);
    try {
      // While the children run, this process alternates two connections of its own, yielding to
      // the event loop between attempts.
      let here = 0;
      const granted = await raceChildren(q.file, 'reserve', bot, 4, 120, async () => {
        for (let i = 0; i < 80; i++) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (reserveMessage(i % 2 ? q.db : second, bot, NOW).ok) here++;
        }
      });
      const total = granted.reduce((a, b) => a + b, 0) + here;
      // 4 × 120 + 80 = 560 attempts for 300 messages.
      expect(total).toBe(limit);
      expect(getUsage(q.db, bot, NOW).month).toMatchObject({ used: limit, remaining: 0 });
      expect(getUsage(second, bot, NOW).day.used).toBe(limit);
      const reservations = q.db
        .query<{ n: number }, []>('SELECT COUNT(*) AS n FROM quota_reservations')
        .get();
      expect(reservations?.n).toBe(limit);
    } finally {
      second.close();
    }
  });

  it('should keep the day and month counters equal when processes race on both', async () => {
    q = quotaDb();
    const bot = q.bot({ monthlyMessages: 150, dailyMessages: 100 });
    const granted = await raceChildren(q.file, 'reserve', bot, 3, 60);
    expect(granted.reduce((a, b) => a + b, 0)).toBe(100);
    const usage = getUsage(q.db, bot, NOW);
    expect(usage.day.used).toBe(100);
    expect(usage.month.used).toBe(100);
  });
});

describe('checkBurst under concurrency', () => {
  it('should allow exactly the burst limit across processes', async () => {
    q = quotaDb();
    const bot = q.bot();
    const granted = await raceChildren(q.file, 'burst', bot, 3, 20);
    expect(granted.reduce((a, b) => a + b, 0)).toBe(25);
    expect(checkBurst(q.db, bot, 'conv-1', NOW, { messages: 25, windowSeconds: 60 }).ok).toBe(
      false,
    );
  });
});
