import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { createChatbot, listChatbots } from '../../src/chatbots/service.ts';
import type { JobContext, JobOutcome } from '../../src/jobs/types.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logging.ts';
import { type Database, openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';
import { fillDisk } from '../helpers/disk-full.ts';

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

  it('should record an outcome the full disk refused once space is back, without a restart', async () => {
    let runs = 0;
    let free = () => {};
    const w = newWorker().register<{ text: string }>('big', {
      run: async () => {
        runs++;
        // The disk fills while the job runs: its row (over one page) cannot change size now.
        free = fillDisk(db);
        return { status: 'done' };
      },
    });
    w.enqueue('big', { text: 'x'.repeat(6_000) });
    await w.drain();
    expect(runs).toBe(1);
    expect(w.stats().running).toBe(1);
    expect(w.storage.failure?.reason).toBe('disk full: cannot write');
    await w.drain();
    expect(w.stats().running).toBe(1);
    free();
    await w.drain();
    expect(w.stats()).toMatchObject({ running: 0, done: 1 });
    expect(runs).toBe(1);
    expect(w.storage.failure).toBeNull();
  });

  it('should record the refused outcome on its own once space is back (a started worker, no drain)', async () => {
    // Waits on the worker's own log lines, not on time: the first write probe is due after 1 s.
    const seen = new Map<string, PromiseWithResolvers<void>>();
    const logged = (msg: string) => {
      if (!seen.has(msg)) seen.set(msg, Promise.withResolvers<void>());
      return seen.get(msg)!.promise;
    };
    const lines = createLogger('info', {
      write: (line: string) => {
        const { msg } = JSON.parse(line) as { msg: string };
        logged(msg);
        seen.get(msg)?.resolve();
      },
    });
    let free = () => {};
    const w = new Worker({ db, log: lines, concurrency: 2 }).register('big', {
      run: async () => {
        free = fillDisk(db);
        return { status: 'done' };
      },
    });
    w.start();
    w.enqueue('big', { text: 'x'.repeat(6_000) });
    await logged('could not record the job outcome; retrying');
    expect(w.stats().running).toBe(1);
    free();
    await logged('job outcome recorded after a retry');
    expect(w.stats()).toMatchObject({ running: 0, done: 1 });
    await w.stop();
  });

  it('should run a job again when space is back after the disk refused both its work and its retry', async () => {
    db.exec('CREATE TABLE job_output (text TEXT NOT NULL)');
    let runs = 0;
    let free = () => {};
    const w = newWorker().register<{ text: string }>('writer', {
      run: async (job) => {
        runs++;
        if (runs === 1) free = fillDisk(db);
        db.query('INSERT INTO job_output (text) VALUES (?)').run(job.payload.text);
        return { status: 'done' };
      },
    });
    w.enqueue('writer', { text: 'y'.repeat(6_000) });
    await w.drain();
    expect(runs).toBe(1);
    expect(w.stats().running).toBe(1);
    // Nothing is claimed or run again while writes fail.
    await w.drain();
    expect(runs).toBe(1);
    free();
    await w.drain();
    expect(runs).toBe(2);
    expect(w.stats()).toMatchObject({ running: 0, pending: 0, done: 1 });
    expect(db.query('SELECT COUNT(*) AS n FROM job_output').get()).toEqual({ n: 1 });
  });

  it('should claim no new job while storage refuses writes, and take them all once it accepts', async () => {
    let runs = 0;
    let free = () => {};
    const w = newWorker(1).register<{ text: string }>('q', {
      run: async () => {
        runs++;
        if (runs === 1) free = fillDisk(db);
        return { status: 'done' };
      },
    });
    w.enqueue('q', { text: 'z'.repeat(6_000) });
    w.enqueue('q', { text: 'small' });
    w.enqueue('q', { text: 'small' });
    await w.drain();
    expect(runs).toBe(1);
    expect(w.stats()).toMatchObject({ running: 1, pending: 2 });
    free();
    await w.drain();
    expect(runs).toBe(3);
    expect(w.stats()).toMatchObject({ running: 0, pending: 0, done: 3 });
  });

  it('should rerun a job whose outcome could not be recorded before a stop, at the next start', async () => {
    let runs = 0;
    let free = () => {};
    const w = newWorker().register('x', {
      run: async () => {
        if (++runs === 1) free = fillDisk(db);
        return { status: 'done' };
      },
    });
    w.enqueue('x', { text: 'x'.repeat(6_000) });
    await w.drain();
    await w.stop();
    expect(w.stats().running).toBe(1);
    free();
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

  it('should double the backoff per attempt up to its cap, on a clock the test moves', async () => {
    let clock = 1_000_000;
    let runs = 0;
    const w = new Worker({
      db,
      log,
      concurrency: 1,
      now: () => clock,
      // The middle of the jitter band: the delay is exactly the base.
      random: () => 0.5,
    }).register('flaky', {
      maxAttempts: 7,
      backoff: { baseMs: 1_000, capMs: 5_000 },
      run: async () => {
        runs++;
        throw new Error('upstream 503');
      },
    });
    const { id } = w.enqueue('flaky', {});
    const runAt = () =>
      (db.query('SELECT run_at FROM jobs WHERE id = ?').get(id!) as { run_at: number }).run_at;
    const delays: number[] = [];
    for (let attempt = 1; attempt < 7; attempt++) {
      await w.drain({ skipDelays: false });
      expect(runs).toBe(attempt);
      const delay = runAt() - clock;
      delays.push(delay);
      // Not a moment early: one millisecond before its time the job stays pending.
      clock += delay - 1;
      await w.drain({ skipDelays: false });
      expect(runs).toBe(attempt);
      clock += 1;
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    await w.drain({ skipDelays: false });
    expect(runs).toBe(7);
    expect(w.stats().failed).toBe(1);
  });

  it('should keep the jittered backoff within ±25 % of the base and under the cap', async () => {
    for (const [random, expected] of [
      // Past the cap, jitter still spreads retries below it (the base is capped, then jittered).
      [0, [750, 1_500, 3_000, 3_000]],
      [0.999_999, [1_250, 2_500, 4_000, 4_000]],
    ] as const) {
      let clock = 5_000_000;
      const w = new Worker({ db, log, concurrency: 1, now: () => clock, random: () => random });
      w.register('jitter', {
        maxAttempts: 5,
        backoff: { baseMs: 1_000, capMs: 4_000 },
        run: async () => ({ status: 'retry', error: 'again' }),
      });
      const { id } = w.enqueue('jitter', {});
      const delays: number[] = [];
      for (let attempt = 1; attempt < 5; attempt++) {
        await w.drain({ skipDelays: false });
        const row = db.query('SELECT run_at FROM jobs WHERE id = ?').get(id!) as { run_at: number };
        delays.push(row.run_at - clock);
        clock = row.run_at;
      }
      expect(delays).toEqual([...expected]);
    }
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

  it('should abort the running jobs of one kind and chatbot only, with abortRunningOf', async () => {
    for (const name of ['a', 'b']) createChatbot(db, { name }, new Date());
    const [a, b] = listChatbots(db).map((c) => c.id) as [string, string];
    const started = { count: 0, all: Promise.withResolvers<void>() };
    const aborted: string[] = [];
    const run = async (job: JobContext<{ label: string }>): Promise<JobOutcome> => {
      if (++started.count === 3) started.all.resolve();
      await new Promise<void>((resolve) =>
        job.signal.addEventListener('abort', () => {
          aborted.push(`${job.payload.label}: ${(job.signal.reason as Error).message}`);
          resolve();
        }),
      );
      return { status: 'cancelled', reason: 'aborted' };
    };
    const w = newWorker().register('reply', { run }).register('ingest', { run });
    w.enqueue('reply', { label: 'reply a' }, { chatbotId: a, serialKey: 'a1' });
    w.enqueue('reply', { label: 'reply b' }, { chatbotId: b, serialKey: 'b1' });
    w.enqueue('ingest', { label: 'ingest a' }, { chatbotId: a, serialKey: 'a2' });
    const drained = w.drain();
    await started.all.promise;
    expect(w.abortRunningOf('reply', a, 'disconnected')).toBe(1);
    expect(aborted).toEqual(['reply a: disconnected']);
    expect(w.abortRunning('b1', 'done')).toBe(1);
    expect(w.abortRunning('a2', 'done')).toBe(1);
    await drained;
    expect(w.stats().cancelled).toBe(3);
  });

  it('should abort running jobs of an abortOnStop kind at stop, and wait for the others', async () => {
    const started = { count: 0, all: Promise.withResolvers<void>() };
    const release = Promise.withResolvers<void>();
    const w = newWorker()
      .register('crawl', {
        abortOnStop: true,
        run: async (job) => {
          if (++started.count === 2) started.all.resolve();
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
          return { status: 'retry', error: (job.signal.reason as Error).message };
        },
      })
      .register('reply', {
        run: async (job) => {
          if (++started.count === 2) started.all.resolve();
          await release.promise;
          return { status: job.signal.aborted ? 'cancelled' : 'done', reason: 'aborted' };
        },
      });
    w.enqueue('crawl', {});
    w.enqueue('reply', {});
    w.start();
    await started.all.promise;
    const stopped = w.stop();
    release.resolve();
    await stopped;
    expect(w.stats()).toMatchObject({ pending: 1, done: 1, running: 0 });
    const crawl = db.query("SELECT last_error FROM jobs WHERE kind = 'crawl'").get();
    expect(crawl).toEqual({ last_error: 'the service is stopping' });
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
