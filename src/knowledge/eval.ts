// `answerdesk eval <dir>`: loads a labelled set into a temporary chatbot through the normal
// ingestion and search code, runs every query and prints nDCG@10, Recall@10/100 and MRR@10.
import type { Database } from 'bun:sqlite';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createChatbot } from '../chatbots/service.ts';
import { type Config, loadConfig, resolveDataDir } from '../config.ts';
import { createLogger, type Logger } from '../logging.ts';
import { analysisFor } from './analysis.ts';
import { type ChunkSettings, DEFAULT_CHUNK_SETTINGS } from './chunk.ts';
import { evaluateRun, parseQrels, type Run } from './eval-metrics.ts';
import type { LanceKnowledgeStore } from './index-store.ts';
import { searchKnowledge } from './search.ts';

export const EVAL_USAGE =
  'answerdesk eval <dataset-dir> [--language CODE|none] [--run FILE] [--limit 100] [--chunk-size TOKENS] [--chunk-overlap TOKENS]';

type EvalArgs = {
  dir: string;
  runFile?: string;
  /** The chatbot's knowledge language (its full-text analysis); null with `--language none`. */
  language: string | null;
  limit: number;
  chunkSizeTokens: number;
  chunkOverlapTokens: number;
};

function parseArgs(args: string[]): EvalArgs | string {
  const out: Partial<EvalArgs> = {
    limit: 100,
    language: 'en',
    chunkSizeTokens: DEFAULT_CHUNK_SETTINGS.chunkSizeTokens,
    chunkOverlapTokens: DEFAULT_CHUNK_SETTINGS.chunkOverlapTokens,
  };
  const numeric = (flag: string, value: string | undefined) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number`);
    return n;
  };
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (a === '--run') out.runFile = args[++i];
      else if (a === '--language') {
        const code = args[++i];
        if (!code) return '--language needs a language code (or none)';
        out.language = code === 'none' ? null : code;
      } else if (a === '--limit') out.limit = Math.max(1, numeric(a, args[++i]));
      else if (a === '--chunk-size') out.chunkSizeTokens = numeric(a, args[++i]);
      else if (a === '--chunk-overlap') out.chunkOverlapTokens = numeric(a, args[++i]);
      else if (a.startsWith('--')) return `unknown option ${a}`;
      else if (out.dir === undefined) out.dir = a;
      else return `unexpected argument ${a}`;
    }
  } catch (e) {
    return (e as Error).message;
  }
  if (!out.dir) return 'missing <dataset-dir>';
  if (out.runFile === undefined && args.includes('--run')) return '--run needs a file';
  return out as EvalArgs;
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

/** Opens the process's dependencies (src/deps.ts `buildDeps`, passed in by src/cli.ts). */
export type OpenEvalDeps<S> = (
  config: Config,
  log: Logger,
) => Promise<{
  db: Database;
  knowledge: LanceKnowledgeStore;
  /** What `addCorpus` needs (the sources feature's dependencies). */
  sources: S;
  close: () => Promise<void>;
}>;

/**
 * Adds the corpus to a chatbot as text sources, each document's id as its external id
 * (src/sources/bulk.ts `addTextSources`, passed in by src/cli.ts: knowledge does not import sources).
 */
export type AddCorpus<S> = (
  sources: S,
  chatbotId: string,
  docs: { title: string; text: string; externalId: string }[],
  opts: { chunking: ChunkSettings; onProgress: (done: number, total: number) => void },
) => Promise<{ id: string; externalId: string | null; chunkCount: number }[]>;

/** Runs the evaluation; returns the process exit code. */
export async function runEval<S>(
  argv: string[],
  open: OpenEvalDeps<S>,
  addCorpus: AddCorpus<S>,
): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    console.error(`answerdesk eval: ${args}\nusage: ${EVAL_USAGE}`);
    return 2;
  }
  const dir = resolve(args.dir);
  const corpus = readJsonl<{ id: string; title?: string; text?: string }>(
    join(dir, 'corpus.jsonl'),
  );
  const queries = readJsonl<{ id: string; text: string }>(join(dir, 'queries.jsonl'));
  const qrels = parseQrels(readFileSync(join(dir, 'qrels.tsv'), 'utf8'));

  const dataDir = mkdtempSync(join(tmpdir(), 'answerdesk-eval-'));
  // The temporary data dir sees the real models directory, so EMBEDDING_PROVIDER=local works.
  const models = join(resolveDataDir(Bun.env.DATA_DIR), 'models');
  if (existsSync(models)) symlinkSync(models, join(dataDir, 'models'), 'dir');
  try {
    // The rest of the configuration (EMBEDDING_PROVIDER, …) comes from the environment as usual.
    const config = loadConfig({ ...Bun.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    const log = createLogger(config.LOG_LEVEL);
    const deps = await open(config, log);
    const chatbot = createChatbot(deps.db, {
      name: `eval ${basename(dir)}`,
      language: { knowledge: args.language },
    });

    let started = performance.now();
    const sources = await addCorpus(
      deps.sources,
      chatbot.id,
      corpus.map((d) => ({ title: d.title ?? '', text: d.text ?? '', externalId: d.id })),
      {
        chunking: {
          chunkSizeTokens: args.chunkSizeTokens,
          chunkOverlapTokens: args.chunkOverlapTokens,
        },
        onProgress: (done, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\ringested ${done}/${total}`);
        },
      },
    );
    // The first search of a chatbot starts building its vocabulary (typo correction); build it now
    // so that every query is served as a warm service would serve it.
    deps.knowledge.vocabulary(chatbot.id);
    await deps.knowledge.settle();
    const ingestMs = performance.now() - started;
    const chunks = sources.reduce((n, s) => n + s.chunkCount, 0);
    if (process.stderr.isTTY) process.stderr.write('\n');
    const externalOf = new Map(sources.map((s) => [s.id, s.externalId ?? s.id]));

    started = performance.now();
    const run: Run = new Map();
    const lines: string[] = [];
    for (const q of queries) {
      // Hits are chunks; a document ranks where its best chunk does. Fetch extra chunks so that
      // `limit` distinct documents remain after collapsing.
      const hits = await searchKnowledge(deps.knowledge, {
        chatbotId: chatbot.id,
        query: q.text,
        limit: Math.min(1000, args.limit * 3),
      });
      const docs: string[] = [];
      for (const h of hits) {
        const doc = externalOf.get(h.sourceId) ?? h.sourceId;
        if (docs.includes(doc)) continue;
        docs.push(doc);
        lines.push(`${q.id} Q0 ${doc} ${docs.length} ${h.score.toFixed(6)} answerdesk`);
        if (docs.length >= args.limit) break;
      }
      run.set(q.id, docs);
    }
    const queryMs = performance.now() - started;
    if (args.runFile) writeFileSync(args.runFile, `${lines.join('\n')}\n`);

    const m = evaluateRun(qrels, run);
    const f = (x: number) => x.toFixed(4);
    console.log(
      `dataset     ${basename(dir)} (${corpus.length} docs → ${chunks} chunks, ${queries.length} queries)`,
    );
    console.log(
      `embedding   ${deps.knowledge.vectorsReady ? deps.knowledge.configuredSpace : 'none (full-text only)'}`,
    );
    console.log(
      `language    ${args.language ?? 'none'} (${analysisFor(args.language).key} analysis)`,
    );
    console.log(`chunking    ${args.chunkSizeTokens} tokens, overlap ${args.chunkOverlapTokens}`);
    console.log(`nDCG@10     ${f(m.ndcg10)}`);
    console.log(`Recall@10   ${f(m.recall10)}`);
    console.log(`Recall@100  ${f(m.recall100)}`);
    console.log(`MRR@10      ${f(m.mrr10)}`);
    console.log(`queries     ${m.queries}`);
    console.log(
      `time        ingest ${(ingestMs / 1000).toFixed(1)} s (${Math.round((chunks / ingestMs) * 1000)} chunks/s), queries ${(queryMs / queries.length).toFixed(1)} ms each`,
    );
    await deps.close();
    return 0;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
