import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logging.ts';
import { type Database, openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';

const log = createLogger('silent');
let db: Database;
let tmp: ReturnType<typeof tempDir>;

beforeEach(() => {
  tmp = tempDir();
  db = openDatabase(`${tmp.dir}/jobs.sqlite`);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

const newWorker = (concurrency = 4) => new Worker({ db, log, concurrency });

describe('worker', () => {
  it('should run a committed job once and record it done', async () => {
    const seen: unknown[] = [];
    const w = newWorker().register<{ n: number }>('echo', {
      run: async (job) => {
        seen.push(job.payload.n);
        return { status: 'done', result: { ok: true } };
      },
    });
    w.enqueue('echo', { n: 1 });
    await w.drain();
    expect(seen).toEqual([1]);
    expect(w.stats().done).toBe(1);
  });

  it('should keep going when storage refuses to record an outcome, and rerun the job after a restart', async () => {
    // Stands in for a full disk: the write that records the outcome fails.
    db.exec(`CREATE TRIGGER refuse_done BEFORE UPDATE OF state ON jobs WHEN NEW.state = 'done'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    let runs = 0;
    const w = newWorker().register('x', { run: async () => void runs++ });
    w.enqueue('x', {});
    await w.drain();
    expect(runs).toBe(1);
    expect(w.stats().running).toBe(1);
    db.exec('DROP TRIGGER refuse_done');
    const restarted = newWorker().register('x', { run: async () => void runs++ });
    restarted.start();
    await restarted.drain();
    await restarted.stop();
    expect(runs).toBe(2);
    expect(restarted.stats().done).toBe(1);
  });

  it('should accept a dedupe key only once', async () => {
    let runs = 0;
    const w = newWorker().register('x', { run: async () => void runs++ });
    expect(w.enqueue('x', {}, { dedupeKey: 'k' }).duplicate).toBe(false);
    expect(w.enqueue('x', {}, { dedupeKey: 'k' }).duplicate).toBe(true);
    await w.drain();
    expect(w.enqueue('x', {}, { dedupeKey: 'k' }).duplicate).toBe(true);
    await w.drain();
    expect(runs).toBe(1);
  });

  it('should run jobs with the same serial key one at a time, in order', async () => {
    const order: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const w = newWorker(4).register<{ tag: string }>('s', {
      run: async (job) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Promise.resolve();
        order.push(job.payload.tag);
        inFlight--;
        return { status: 'done' };
      },
    });
    for (const tag of ['a', 'b', 'c']) w.enqueue('s', { tag }, { serialKey: 'conv-1' });
    await w.drain();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(maxInFlight).toBe(1);
  });

  it('should run different serial keys in parallel up to the concurrency', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const gate = Promise.withResolvers<void>();
    const w = newWorker(2).register('p', {
      run: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (maxInFlight === 2) gate.resolve();
        await gate.promise;
        inFlight--;
        return { status: 'done' };
      },
    });
    for (const k of ['1', '2', '3']) w.enqueue('p', {}, { serialKey: k });
    await w.drain();
    expect(maxInFlight).toBe(2);
    expect(w.stats().done).toBe(3);
  });

  it('should retry a throwing job with backoff and then fail it with the reason', async () => {
    let runs = 0;
    const w = newWorker().register('flaky', {
      maxAttempts: 3,
      backoff: { baseMs: 10, capMs: 20 },
      run: async () => {
        runs++;
        throw new Error('upstream 503');
      },
    });
    const { id } = w.enqueue('flaky', {});
    await w.drain();
    expect(runs).toBe(3);
    const row = db.query('SELECT state, attempts, last_error FROM jobs WHERE id = ?').get(id!) as {
      state: string;
      attempts: number;
      last_error: string;
    };
    expect(row).toEqual({ state: 'failed', attempts: 3, last_error: 'upstream 503' });
  });

  it('should succeed after a transient failure', async () => {
    let runs = 0;
    const w = newWorker().register('t', {
      run: async () => (++runs < 2 ? { status: 'retry', error: '429' } : { status: 'done' }),
    });
    w.enqueue('t', {});
    await w.drain();
    expect(runs).toBe(2);
    expect(w.stats()).toMatchObject({ done: 1, failed: 0, pending: 0 });
  });

  it('should resume a job left running by a crash', async () => {
    const first = newWorker().register('r', { run: async () => ({ status: 'done' }) });
    const { id } = first.enqueue('r', {});
    // Simulate a crash mid-run: the row says running, no process is working on it.
    db.query("UPDATE jobs SET state = 'running', attempts = 1 WHERE id = ?").run(id!);
    let ran = 0;
    const second = newWorker().register('r', { run: async () => void ran++ });
    second.start();
    await second.drain();
    await second.stop();
    expect(ran).toBe(1);
    expect(second.stats().done).toBe(1);
  });

  it('should pass an abort signal that abortRunning fires', async () => {
    const started = Promise.withResolvers<void>();
    const w = newWorker().register('long', {
      run: async (job) => {
        started.resolve();
        await new Promise((_, reject) =>
          job.signal.addEventListener('abort', () => reject(job.signal.reason)),
        ).catch(() => undefined);
        return { status: 'cancelled', reason: 'operator typing' };
      },
    });
    w.enqueue('long', {}, { serialKey: 'conv' });
    const drained = w.drain();
    await started.promise;
    expect(w.abortRunning('conv', 'operator typing')).toBe(1);
    await drained;
    expect(w.stats().cancelled).toBe(1);
  });

  it('should run delayed jobs when their time comes, without waiting in drain', async () => {
    let ran = false;
    const w = newWorker().register('later', {
      run: async () => {
        ran = true;
        return { status: 'done' };
      },
    });
    w.enqueue('later', {}, { runAt: Date.now() + 60_000 });
    await w.drain();
    expect(ran).toBe(true);
  });

  it('should start a job due sooner than the armed timer at its own time', async () => {
    const ran = Promise.withResolvers<string>();
    const w = newWorker().register<{ name: string }>('x', {
      run: async (job) => {
        ran.resolve(job.payload.name);
        return { status: 'done' };
      },
    });
    w.start();
    try {
      // The timer is armed for the first job (a minute out, capped by the safety poll).
      w.enqueue('x', { name: 'late' }, { runAt: Date.now() + 60_000 });
      await new Promise(setImmediate);
      w.enqueue('x', { name: 'soon' }, { runAt: Date.now() + 50 });
      // Bound, not a wait for work: well before the 5 s safety poll would find it.
      const first = await Promise.race([ran.promise, Bun.sleep(2_000).then(() => 'not started')]);
      expect(first).toBe('soon');
    } finally {
      await w.stop();
    }
  });

  it('should keep jobs of an unknown kind pending instead of losing them', async () => {
    const w = newWorker();
    w.enqueue('nobody-handles-this', {});
    await w.drain();
    expect(w.stats().pending).toBe(1);
  });
});
