// The typo-correction vocabularies' cache: a build that fails is not retried at every search.
import { describe, expect, it } from 'bun:test';
import { VocabularyCache } from '../../src/knowledge/vocabulary-cache.ts';
import { createLogger } from '../../src/logging.ts';

/** Lets the cache's build chain (mutex, then, finally) run to its end. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('VocabularyCache', () => {
  it('should not scan again at the next searches after a failed build', async () => {
    let scans = 0;
    const cache = new VocabularyCache(async () => {
      scans++;
      throw new Error('the chunk table cannot be read');
    }, createLogger('silent'));
    expect(cache.get('cb_1')).toBeNull();
    await settled();
    for (let i = 0; i < 5; i++) {
      expect(cache.get('cb_1')).toBeNull();
      await settled();
    }
    expect(scans).toBe(1);
  });
});
