// Document extraction off the service's thread: a small pool of extractor processes (this same
// executable, hidden command `__extract`), each bounded in wall time and resident memory, killed
// when over either, restarted on demand. Why a process and not a Worker: docs/notes/ingestion.md.
import { readFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Subprocess } from 'bun';
import type { Config } from '../config.ts';
import type { Logger } from '../logging.ts';
import { ExtractError, IngestError } from './errors.ts';
import {
  EXTRACTOR_COMMAND,
  type ExtractedDocument,
  type ExtractJob,
  type ExtractMessage,
  type Passage,
} from './extractor-process.ts';
import type { FileType } from './file-type.ts';

/** What the loaders ask of extraction (the pool below, or anything with this shape). */
export type Extractor = {
  file(
    input: { path: string; fileType: FileType; name: string },
    signal?: AbortSignal,
  ): Promise<ExtractedDocument>;
  html(html: string, fallbackTitle: string, signal?: AbortSignal): Promise<ExtractedDocument>;
  /** Kills the processes; later calls start new ones. */
  close(): void;
};

export type ExtractorOptions = {
  timeoutMs: number;
  memoryLimitBytes: number;
  /** Processes (so documents) at once. */
  concurrency: number;
  log: Logger;
};

export const extractorOptions = (config: Config, log: Logger): ExtractorOptions => ({
  timeoutMs: config.EXTRACT_TIMEOUT_MS,
  memoryLimitBytes: config.EXTRACT_MEMORY_LIMIT_MB * 1_048_576,
  concurrency: config.EXTRACT_CONCURRENCY,
  log,
});

/** How long a process may take to start and say it is ready. */
const START_TIMEOUT_MS = 30_000;
/** Resident memory is sampled this often while a document is being read. */
const MEMORY_POLL_MS = 25;
/** An idle process exits after this long (it holds ~50–100 MiB). */
const IDLE_MS = 30_000;
/** Lower CPU priority than the service, so request handling wins a busy core. */
const NICENESS = 10;

/** The command that starts an extractor: the binary itself, or `bun src/index.ts` from source. */
function extractorCommand(): string[] {
  if (import.meta.path.includes('$bunfs')) return [process.execPath, EXTRACTOR_COMMAND];
  return [
    process.execPath,
    fileURLToPath(new URL('../index.ts', import.meta.url)),
    EXTRACTOR_COMMAND,
  ];
}

/** Resident set size of a process in bytes (Linux /proc), or null when unknown. */
function residentBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

type Waiter<T> = { resolve: (value: T) => void; reject: (e: Error) => void };

/** The outcome of a job (the last message) and the passages sent before it. */
type Reply = {
  outcome: Exclude<ExtractMessage, { ready: true } | { passages: Passage[] }>;
  passages: Passage[];
};

/** One extractor process and its single job in flight. */
class ExtractorChild {
  readonly proc: Subprocess;
  private waiter: Waiter<Reply> | null = null;
  /** Passages of the job in flight received so far. */
  private passages: Passage[] = [];
  private readyWaiter: Waiter<void> | null = null;
  /** Why we killed it (reported instead of "crashed"). */
  private killedFor: Error | null = null;
  /** Set once the process is gone: what a job sent after that fails with. */
  private exitError: Error | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly ready: Promise<void>;

  get exited(): boolean {
    return this.exitError !== null;
  }

  constructor(private readonly onExit: (child: ExtractorChild) => void) {
    this.proc = Bun.spawn({
      cmd: extractorCommand(),
      // Only what a Bun process needs: the extractor never sees the service's secrets, and runs
      // where no .env of the service's working directory is read.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? tmpdir(),
        TMPDIR: tmpdir(),
      },
      cwd: tmpdir(),
      stdio: ['ignore', 'ignore', 'inherit'],
      serialization: 'json',
      ipc: (message: ExtractMessage) => {
        if ('ready' in message) {
          this.readyWaiter?.resolve();
          this.readyWaiter = null;
        } else if ('passages' in message) {
          for (const passage of message.passages) this.passages.push(passage);
        } else {
          const waiter = this.waiter;
          this.waiter = null;
          waiter?.resolve({ outcome: message, passages: this.passages });
          this.passages = [];
        }
      },
      onExit: (_proc, code, signal) => {
        clearTimeout(this.idleTimer);
        const error =
          this.killedFor ??
          new ExtractError(
            'CORRUPT',
            `the document reader stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); the document was not indexed`,
          );
        this.exitError = error;
        this.readyWaiter?.reject(error);
        this.waiter?.reject(error);
        this.readyWaiter = null;
        this.waiter = null;
        this.onExit(this);
      },
    });
    // Idle extractors never keep the service (or a CLI run) alive; a running job's timers do.
    this.proc.unref();
    try {
      setPriority(this.proc.pid, NICENESS);
    } catch {
      // Not permitted or not supported: the process runs at normal priority.
    }
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyWaiter = { resolve, reject };
    });
  }

  /** Sends one job and resolves with its reply; rejects when the process dies first. */
  run(job: ExtractJob): Promise<Reply> {
    clearTimeout(this.idleTimer);
    if (this.exitError) return Promise.reject(this.exitError);
    this.passages = [];
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      try {
        this.proc.send(job);
      } catch {
        this.kill(new IngestError('the document reader could not be reached', true));
      }
    });
  }

  kill(reason: Error): void {
    if (this.exited) return;
    this.killedFor ??= reason;
    this.proc.kill('SIGKILL');
  }

  idleFor(ms: number, onIdle: () => void): void {
    this.idleTimer = setTimeout(onIdle, ms);
    this.idleTimer.unref?.();
  }
}

/**
 * Runs extraction jobs in at most `concurrency` processes. Each job is bounded: wall time
 * (`timeoutMs`, from when its process starts on it), resident memory (`memoryLimitBytes`,
 * sampled every 25 ms from /proc) and, inside the process, pages, depth and text (files.ts,
 * html-flatten.ts). A process over a bound is killed and the job fails with the reason in plain
 * words; one that crashes fails its job the same way. Neither affects the service or the other
 * jobs, and the next job gets a fresh process.
 */
export class ExtractorPool implements Extractor {
  private readonly idle: ExtractorChild[] = [];
  private readonly all = new Set<ExtractorChild>();
  private readonly queue: (() => void)[] = [];
  private running = 0;

  constructor(private readonly options: ExtractorOptions) {}

  file(
    input: { path: string; fileType: FileType; name: string },
    signal?: AbortSignal,
  ): Promise<ExtractedDocument> {
    return this.run({ kind: 'file', ...input }, signal);
  }

  html(html: string, fallbackTitle: string, signal?: AbortSignal): Promise<ExtractedDocument> {
    return this.run({ kind: 'html', html, fallbackTitle }, signal);
  }

  close(): void {
    const stopped = new IngestError('the service is stopping');
    for (const child of this.all) child.kill(stopped);
    this.idle.length = 0;
  }

  private async run(job: ExtractJob, signal?: AbortSignal): Promise<ExtractedDocument> {
    await this.slot(signal);
    try {
      return await this.runInChild(job, signal);
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  /** Waits for one of the `concurrency` places (FIFO); an abort leaves the queue. */
  private slot(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.running < this.options.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', leave);
        this.running++;
        resolve();
      };
      const leave = () => {
        const at = this.queue.indexOf(go);
        if (at >= 0) this.queue.splice(at, 1);
        reject(cancelled());
      };
      this.queue.push(go);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }

  private async child(): Promise<ExtractorChild> {
    const reused = this.idle.pop();
    if (reused && !reused.exited) return reused;
    const child = new ExtractorChild((c) => {
      this.all.delete(c);
      const at = this.idle.indexOf(c);
      if (at >= 0) this.idle.splice(at, 1);
    });
    this.all.add(child);
    const timer = setTimeout(
      () => child.kill(new IngestError('the document reader did not start in time', true)),
      START_TIMEOUT_MS,
    );
    try {
      await child.ready;
    } finally {
      clearTimeout(timer);
    }
    return child;
  }

  private async runInChild(job: ExtractJob, signal?: AbortSignal): Promise<ExtractedDocument> {
    const { timeoutMs, memoryLimitBytes, log } = this.options;
    const child = await this.child();
    const started = performance.now();
    let peakBytes = 0;
    const timer = setTimeout(() => {
      child.kill(
        new ExtractError(
          'LIMIT',
          `reading the document took longer than ${formatSeconds(timeoutMs)} (EXTRACT_TIMEOUT_MS); it was stopped`,
        ),
      );
    }, timeoutMs);
    const poll = setInterval(() => {
      const rss = residentBytes(child.proc.pid);
      if (rss === null) return;
      peakBytes = Math.max(peakBytes, rss);
      if (rss > memoryLimitBytes) {
        child.kill(
          new ExtractError(
            'LIMIT',
            `reading the document needed more than ${Math.round(memoryLimitBytes / 1_048_576)} MiB of memory (EXTRACT_MEMORY_LIMIT_MB); it was stopped`,
          ),
        );
      }
    }, MEMORY_POLL_MS);
    const onAbort = () => child.kill(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { outcome, passages } = await child.run(job);
      // A process that grew large keeps its heap: start a fresh one next time instead.
      const rss = residentBytes(child.proc.pid) ?? 0;
      if (rss > memoryLimitBytes / 2) child.kill(new IngestError('recycled'));
      else {
        this.idle.push(child);
        child.idleFor(IDLE_MS, () => child.kill(new IngestError('idle')));
      }
      if (outcome.ok) {
        const { title, format, chars, textSha256 } = outcome;
        return { title, format, chars, textSha256, passages };
      }
      if (outcome.kind !== 'INTERNAL') throw new ExtractError(outcome.kind, outcome.message);
      log.warn({ kind: job.kind, detail: outcome.message }, 'the extractor failed on a document');
      throw new ExtractError(
        'CORRUPT',
        job.kind === 'html' ? 'the page could not be read' : 'the file could not be read',
      );
    } catch (e) {
      if (child.exited && !signal?.aborted) {
        log.warn(
          {
            kind: job.kind,
            error: e instanceof Error ? e.message : String(e),
            elapsedMs: Math.round(performance.now() - started),
            peakMiB: Math.round(peakBytes / 1_048_576),
          },
          'an extractor process was stopped or crashed',
        );
      }
      throw e;
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

const cancelled = () => new IngestError('the extraction was cancelled');

const formatSeconds = (ms: number) =>
  ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
