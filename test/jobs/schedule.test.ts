// Durable timers on the job queue: a job that waits without spending an attempt, and the one
// pending job of a key moved each time it is set again.
import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { isScheduled, rescheduleJob } from '../../src/jobs/schedule.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logging.ts';
import { type Database, openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';

const log = createLogger('silent');
let db: Database;
let tmp: ReturnType<typeof tempDir>;
let now = 1_000_000;

beforeEach(() => {
  tmp = tempDir();
  db = openDatabase(`${tmp.dir}/jobs.sqlite`);
  now = 1_000_000;
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

const newWorker = () => new Worker({ db, log, concurrency: 2, now: () => now });
const row = (id: number) =>
  db
    .query<{ state: string; attempts: number; run_at: number }, [number]>(
      'SELECT state, attempts, run_at FROM jobs WHERE id = ?',
    )
    .get(id)!;

describe('job waits', () => {
  it('should wait until the given time without spending an attempt, however often', async () => {
    let runs = 0;
    const w = newWorker().register('quota', {
      maxAttempts: 2,
      run: async () => {
        runs++;
        return runs <= 5 ? { status: 'wait', reason: 'refused', until: now + 60_000 } : undefined;
      },
    });
    const { id } = w.enqueue('quota', {});
    for (let i = 0; i < 5; i++) {
      await w.drain({ skipDelays: false });
      expect(row(id!)).toMatchObject({ state: 'pending', attempts: 0, run_at: now + 60_000 });
      now += 60_000;
    }
    await w.drain({ skipDelays: false });
    expect(runs).toBe(6);
    expect(row(id!)).toMatchObject({ state: 'done', attempts: 1 });
  });
});

describe('rescheduleJob', () => {
  it('should keep one pending job per key, moved by each call, and a new one once it ran', async () => {
    const ran: number[] = [];
    const w = newWorker().register('grace', {
      run: async (job) => {
        ran.push(job.id);
        return undefined;
      },
    });
    const schedule = (runAt: number) =>
      rescheduleJob(db, w, 'grace', {}, { dedupeKey: 'k', serialKey: 's', runAt }, now);
    schedule(now + 60_000);
    now += 30_000;
    schedule(now + 60_000);
    const jobs = db.query<{ id: number; run_at: number }, []>('SELECT id, run_at FROM jobs').all();
    expect(jobs).toEqual([{ id: jobs[0]!.id, run_at: now + 60_000 }]);
    expect(isScheduled(db, 'k')).toBe(true);
    // The first time set has passed, the second not: nothing runs yet.
    now += 40_000;
    await w.drain({ skipDelays: false });
    expect(ran).toEqual([]);
    now += 20_000;
    await w.drain({ skipDelays: false });
    expect(ran).toEqual([jobs[0]!.id]);
    expect(isScheduled(db, 'k')).toBe(false);
    // Set again after it ran: a new job takes the key.
    schedule(now + 1_000);
    expect(isScheduled(db, 'k')).toBe(true);
    now += 1_000;
    await w.drain({ skipDelays: false });
    expect(ran.length).toBe(2);
  });
});
