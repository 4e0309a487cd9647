// Background optimize() of the chunk index: debounced after writes, never awaited by a request;
// it merges new rows into the indexes, builds the vector index once the table is large enough,
// and cleans up old versions.
import type * as lancedb from '@lancedb/lancedb';
import type { Logger } from '../logging.ts';
import { withBoundedNativeMemory } from '../native-env.ts';
import { vectorIndexFor } from './index-table.ts';

export class Optimizer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #closed = false;

  constructor(
    private readonly opts: {
      /** The table to optimize (a re-embed swaps it). */
      table: () => lancedb.Table;
      /** Whether the table's vectors are those of the configured embedder. */
      vectorsReady: () => boolean;
      delayMs: number;
      /** Rows past which the vector column gets an index. */
      vectorIndexMinRows: number;
      log: Logger;
    },
  ) {}

  /** A write happened: optimize once writes have been quiet for `delayMs`. */
  schedule(): void {
    this.#dirty = true;
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, this.opts.delayMs);
    // A pending optimize must not keep a CLI command alive.
    this.#timer.unref?.();
  }

  /** Runs a pending optimize now and waits for it. */
  async settle(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#running) await this.#running;
    if (this.#dirty) await this.#run();
  }

  /** Schedules nothing more (shutdown). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #run(): Promise<void> {
    if (this.#running) return this.#running;
    this.#dirty = false;
    this.#running = this.#optimize()
      .catch((e) => {
        // Compaction can lose a race with a concurrent write; the next write schedules it again.
        this.opts.log.warn(
          { err: e },
          'chunk index optimize failed; will retry after the next write',
        );
        this.#dirty = true;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #optimize(): Promise<void> {
    const started = performance.now();
    const table = this.opts.table();
    // Index builds and compaction are where the writer's memory peaks (native buffers).
    await withBoundedNativeMemory(async () => {
      if (this.opts.vectorsReady()) {
        const indices = await table.listIndices();
        const rows = await table.countRows();
        const indexed = indices.some((i) => i.columns.includes('vector'));
        if (!indexed && rows >= this.opts.vectorIndexMinRows) {
          await table.createIndex('vector', { config: vectorIndexFor(rows) });
        }
      }
      // Old versions are kept a few minutes for queries still reading them (LanceDB stamps its
      // versions with the system's time, so this is compared with that, not the app clock).
      await table.optimize({ cleanupOlderThan: new Date(Date.now() - 5 * 60_000) });
    });
    this.opts.log.debug({ ms: Math.round(performance.now() - started) }, 'chunk index optimized');
  }
}
