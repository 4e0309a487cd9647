// What the sources feature needs, built once in src/deps.ts (AppDeps.sources).
import type { Database } from 'bun:sqlite';
import type { Clock } from '../clock.ts';
import type { Extractor } from '../ingest/extractor.ts';
import type { LoadSettings } from '../ingest/load.ts';
import type { LanceKnowledgeStore } from '../knowledge/index-store.ts';
import type { Logger } from '../logging.ts';
import type { WriteHealth } from '../storage/sqlite/write-health.ts';

/** Who asked a source to be fetched again: an admin (POST …/refresh) or the schedule. */
export type RefreshTrigger = 'manual' | 'scheduled';

/** A refresh changed the content of a source that had been indexed before. */
export type ContentRefreshed = { chatbotId: string; sourceId: string; trigger: RefreshTrigger };

export type SourcesDeps = {
  db: Database;
  /** Stamps the sources' times. */
  clock: Clock;
  /** The chunk index the sources' chunks go to. */
  knowledge: LanceKnowledgeStore;
  log: Logger;
  /** Told about writes the disk refused (/readyz shows them). */
  storage: WriteHealth;
  /** Uploads are kept in DATA_DIR/uploads (a refresh reads them again). */
  dataDir: string;
  uploadLimitBytes: number;
  /** Fetch and crawl settings of URL and sitemap sources. */
  loading: LoadSettings;
  /** Reads documents and pages in bounded processes, where they are also chunked. */
  extractor: Extractor;
  /** Run after a refresh changed a source's content (the answer tests start; src/deps.ts). */
  onContentRefreshed: ((event: ContentRefreshed) => void)[];
};
