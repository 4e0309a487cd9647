// The vocabularies of typo correction (spell.ts), one per chatbot, in memory: built in the
// background by scanning the chatbot's chunks, rebuilt (spaced) after writes, the least recently
// searched chatbot dropped past a bound. Searches never wait for a build.
import type * as lancedb from '@lancedb/lancedb';
import type { Logger } from '../logging.ts';
import { Mutex } from './mutex.ts';
import { sqlString } from './replace.ts';
import { countWords, type Vocabulary, vocabularyOf } from './spell.ts';

/** Scans one chatbot's indexed texts (`column`: the raw text of its analysis) into a vocabulary. */
export async function readVocabulary(
  table: lancedb.Table,
  chatbotId: string,
  column: string,
): Promise<Vocabulary> {
  const df = new Map<string, number>();
  const rows = table
    .query()
    .where(`chatbot_id = ${sqlString(chatbotId)}`)
    .select([column]);
  for await (const batch of rows) {
    const values = batch.getChild(column);
    for (let i = 0; i < batch.numRows; i++) countWords(df, String(values?.get(i) ?? ''));
  }
  return vocabularyOf(df);
}

/**
 * Chatbots whose vocabulary stays in memory; the least recently searched is dropped past this.
 * Measured: 10 chatbots × 10k chunks add 50–110 MiB to the serving RSS (bench:retrieval,
 * including the scans' high-water mark).
 */
export const VOCABULARY_CACHE_CHATBOTS = 32;

/**
 * A stale vocabulary is rebuilt at most once per this many times its last build duration, so
 * rebuilds take at most ~10 % of a core while a crawl keeps writing (scifact's 5.8k chunks build
 * in ~0.3 s; 100k long chunks of one chatbot would take seconds).
 */
export const VOCABULARY_REBUILD_SPACING = 10;

/** After a failed build, the next one waits this long. */
export const VOCABULARY_FAILED_RETRY_MS = 60_000;

type Entry = {
  vocab: Vocabulary | null;
  building: Promise<Vocabulary | null> | null;
  /** Bumped by every write to the chatbot: a vocabulary built from an older generation is stale. */
  generation: number;
  builtGeneration: number;
  /** No background rebuild before this time (performance.now()). */
  nextBuildAt: number;
};

export class VocabularyCache {
  #entries = new Map<string, Entry>();
  /** One build at a time: each scans a chatbot's chunks, and parallel scans add up in RSS. */
  #builds = new Mutex();
  #closed = false;

  constructor(
    /** Builds a chatbot's vocabulary from its indexed chunks. */
    private readonly scan: (chatbotId: string) => Promise<Vocabulary>,
    private readonly log: Logger,
  ) {}

  /**
   * The chatbot's vocabulary, or null while the first one is being built; a missing or stale one
   * starts building in the background. A failed build is logged; the search runs uncorrected.
   */
  get(chatbotId: string): Vocabulary | null {
    let entry = this.#entries.get(chatbotId);
    if (entry) {
      // Most recently used last: the first key is the one to drop.
      this.#entries.delete(chatbotId);
    } else {
      entry = { vocab: null, building: null, generation: 0, builtGeneration: -1, nextBuildAt: 0 };
    }
    this.#entries.set(chatbotId, entry);
    for (const old of this.#entries.keys()) {
      if (this.#entries.size <= VOCABULARY_CACHE_CHATBOTS) break;
      this.#entries.delete(old);
    }
    if (entry.builtGeneration !== entry.generation && performance.now() >= entry.nextBuildAt) {
      this.#startBuild(chatbotId, entry);
    }
    return entry.vocab;
  }

  /** The chatbot's chunks changed: its vocabulary is stale. */
  changed(chatbotId: string): void {
    const entry = this.#entries.get(chatbotId);
    if (entry) entry.generation++;
  }

  forget(chatbotId: string): void {
    this.#entries.delete(chatbotId);
  }

  /** Every vocabulary is stale (the index was rebuilt). */
  clear(): void {
    this.#entries.clear();
  }

  /** Rebuilds the stale vocabularies now, whatever the spacing, and waits for every build. */
  async settle(): Promise<void> {
    for (const [chatbotId, entry] of this.#entries) {
      if (entry.builtGeneration !== entry.generation) this.#startBuild(chatbotId, entry);
    }
    await Promise.all([...this.#entries.values()].map((e) => e.building));
  }

  /** Starts no more builds (shutdown). */
  close(): void {
    this.#closed = true;
  }

  #startBuild(chatbotId: string, entry: Entry): void {
    if (entry.building || this.#closed) return;
    const generation = entry.generation;
    entry.building = this.#builds
      .run(async () => {
        const started = performance.now();
        const vocab = await this.scan(chatbotId);
        const took = performance.now() - started;
        entry.nextBuildAt = performance.now() + VOCABULARY_REBUILD_SPACING * took;
        return vocab;
      })
      .then(
        (vocab) => {
          entry.vocab = vocab;
          entry.builtGeneration = generation;
          return vocab;
        },
        (err) => {
          // Not at the next search: a scan that keeps failing would run on every one.
          entry.nextBuildAt = performance.now() + VOCABULARY_FAILED_RETRY_MS;
          this.log.warn({ err }, 'building the chunk vocabulary failed; typo correction is off');
          return null;
        },
      )
      .finally(() => {
        entry.building = null;
      });
  }
}
