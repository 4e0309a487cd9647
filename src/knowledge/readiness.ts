// The /readyz check of the chunk index.
import type { LanceKnowledgeStore } from './index-store.ts';

/** A /readyz check: the index answers; says when its vectors are of another embedder. */
export function knowledgeReadiness(store: LanceKnowledgeStore) {
  return async () => {
    let ok = true;
    try {
      await store.countChunks();
    } catch {
      ok = false;
    }
    return {
      name: 'knowledge-index',
      ok,
      detail: store.stale
        ? `the index holds ${store.indexedSpace} but ${store.configuredSpace} is configured: full-text search only until \`answerdesk reembed\` or POST /api/v1/reindex`
        : `embedding space ${store.indexedSpace}${store.vectorsReady ? '' : ' (full-text search only)'}`,
    };
  };
}
