// `answerdesk reembed`: rebuilds the chunk index in the configured embedding space.
import { type Config, loadConfig } from '../config.ts';
import { createLogger, type Logger } from '../logging.ts';
import type { LanceKnowledgeStore } from './index-store.ts';

export const REEMBED_USAGE = 'answerdesk reembed [--force]';

/** Opens the process's dependencies (src/deps.ts `buildDeps`, passed in by src/cli.ts). */
export type OpenReembedDeps = (
  config: Config,
  log: Logger,
) => Promise<{ knowledge: LanceKnowledgeStore; close: () => Promise<void> }>;

/**
 * Re-embeds every chunk with the configured embedder (or drops the vectors for `none`). Without
 * `--force` it does nothing when the index already holds the configured embedding space. Run it
 * with the service stopped: a second process would not see this one's table swap (docs/notes/stack.md §10).
 */
export async function runReembed(args: string[], open: OpenReembedDeps): Promise<number> {
  const force = args.includes('--force');
  const unknown = args.filter((a) => a !== '--force');
  if (unknown.length > 0) {
    console.error(`answerdesk reembed: unexpected ${unknown.join(' ')}\nusage: ${REEMBED_USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const deps = await open(config, log);
  const store = deps.knowledge;
  try {
    if (!store.stale && !force) {
      console.log(
        `the chunk index already holds ${store.indexedSpace}; nothing to do (--force re-embeds anyway)`,
      );
      return 0;
    }
    console.log(`re-embedding: ${store.indexedSpace} → ${store.configuredSpace}`);
    let last = 0;
    const chunks = await store.reembed((done, total) => {
      const now = Date.now();
      if (now - last < 1000 && done < total) return;
      last = now;
      console.log(`  ${done}/${total} chunks`);
    });
    console.log(`done: ${chunks} chunks in ${store.indexedSpace}`);
    return 0;
  } finally {
    await deps.close();
  }
}
