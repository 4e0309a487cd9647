// The extractor process of the service (`answerdesk __extract`): src/ingest's document reader,
// with the knowledge chunker as its splitter, so documents arrive chunked.
import { runExtractorProcess } from '../ingest/extractor-process.ts';
import { chunkText, DEFAULT_CHUNK_SETTINGS } from '../knowledge/chunk.ts';

export const runSourceReader = () =>
  runExtractorProcess((text) => chunkText(text, DEFAULT_CHUNK_SETTINGS));
