// `answerdesk ingest <chatbotId> <path|url> [--sitemap] [--max-pages N]`: the same ingestion as
// the admin API, from the command line, with a progress bar on a terminal.

import type { Database } from 'bun:sqlite';
import { readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { type Config, loadConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { DEFAULT_MAX_PAGES, MAX_PAGES_HARD } from '../ingest/crawl.ts';
import { SUPPORTED_EXTENSIONS } from '../ingest/file-type.ts';
import type { LanceKnowledgeStore } from '../knowledge/index-store.ts';
import { createLogger, type Logger } from '../logging.ts';
import type { Source } from './model.ts';
import { readServiceMarker } from './service-marker.ts';
import type { SourcesDeps } from './types.ts';

export const INGEST_USAGE = 'answerdesk ingest <chatbotId> <path|url> [--sitemap] [--max-pages N]';

export type IngestArgs = {
  chatbotId: string;
  target: string;
  sitemap: boolean;
  maxPages: number;
};

/** Parses the command's arguments; returns an error message for bad ones. */
export function parseIngestArgs(args: string[]): IngestArgs | string {
  const positional: string[] = [];
  let sitemap = false;
  let maxPages = DEFAULT_MAX_PAGES;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--sitemap') sitemap = true;
    else if (arg === '--max-pages' || arg.startsWith('--max-pages=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > MAX_PAGES_HARD) {
        return `--max-pages must be an integer from 1 to ${MAX_PAGES_HARD}`;
      }
      maxPages = n;
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else positional.push(arg);
  }
  if (positional.length !== 2) return 'expected a chatbot id and a path or URL';
  const [chatbotId, target] = positional as [string, string];
  const isUrl = /^https?:\/\//i.test(target);
  if (sitemap && !isUrl) return '--sitemap needs an http(s) URL';
  return { chatbotId, target, sitemap, maxPages };
}

type Job = { label: string } & (
  | { kind: 'url'; url: string }
  | { kind: 'sitemap'; url: string; maxPages: number }
  | { kind: 'file'; path: string }
);

/** The files of a directory (recursively, hidden ones skipped) with a supported extension. */
function listFiles(dir: string): { files: string[]; skipped: string[] } {
  const files: string[] = [];
  const skipped: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.name.startsWith('.')) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        if (SUPPORTED_EXTENSIONS.includes(extname(entry.name).toLowerCase())) files.push(full);
        else skipped.push(full);
      }
    }
  };
  walk(dir);
  return { files, skipped };
}

function planJobs(args: IngestArgs): { jobs: Job[]; skipped: string[] } | string {
  if (/^https?:\/\//i.test(args.target)) {
    return {
      jobs: [
        args.sitemap
          ? { kind: 'sitemap', url: args.target, maxPages: args.maxPages, label: args.target }
          : { kind: 'url', url: args.target, label: args.target },
      ],
      skipped: [],
    };
  }
  const path = resolve(args.target);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return `no such file or directory: ${args.target}`;
  }
  if (stat.isFile()) return { jobs: [{ kind: 'file', path, label: args.target }], skipped: [] };
  const { files, skipped } = listFiles(path);
  if (files.length === 0) {
    return `no supported files (${SUPPORTED_EXTENSIONS.join(' ')}) in ${args.target}`;
  }
  return {
    jobs: files.map((f) => ({ kind: 'file', path: f, label: f.slice(path.length + 1) })),
    skipped,
  };
}

/** Progress output: a redrawn bar on a terminal, plain lines (at most one a second) otherwise. */
export class Progress {
  private lastLineAt = 0;
  private lastText = '';
  constructor(
    private readonly tty: boolean,
    private readonly write: (s: string) => void = (s) => process.stdout.write(s),
  ) {}

  /** Redraws the bar; `ttyOnly` updates (file counts) are left out of plain output, where each
   * finished source gets its own numbered line anyway. */
  update(label: string, done: number, total: number, unit: string, ttyOnly = false): void {
    if (ttyOnly && !this.tty) return;
    const text = `${label}: ${done}/${total} ${unit}`;
    if (this.tty) {
      const width = 24;
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      this.write(`\r\x1b[2K[${bar}] ${done}/${total} ${unit}  ${label.slice(-50)}`);
      return;
    }
    const now = Date.now();
    if (text === this.lastText || (now - this.lastLineAt < 1000 && done < total)) return;
    this.lastLineAt = now;
    this.lastText = text;
    this.write(`progress ${text}\n`);
  }

  line(text: string): void {
    this.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}

type Outcome = { label: string; source?: Source; error?: string };

function describe(o: Outcome, index: number, total: number): string {
  const n = total > 1 ? `[${index + 1}/${total}] ` : '';
  return `${n}${describeOutcome(o)}`;
}

function describeOutcome(o: Outcome): string {
  if (o.error) return `failed  ${o.label}: ${o.error}`;
  const s = o.source!;
  if (s.status === 'ready') {
    const pages = s.progress ? `, ${s.progress.done}/${s.progress.total} pages` : '';
    return `ready   ${o.label} → ${s.id} "${s.title}" (${s.chunkCount} chunks${pages})`;
  }
  return `failed  ${o.label} → ${s.id}: ${s.error ?? s.status}`;
}

/** Runs the jobs through the admin API of the service that owns the data dir. */
async function viaService(
  baseUrl: string,
  config: Config,
  args: IngestArgs,
  jobs: Job[],
  progress: Progress,
): Promise<Outcome[]> {
  const headers = { authorization: `Bearer ${config.ADMIN_TOKEN}` };
  const sources = `${baseUrl}/api/v1/chatbots/${encodeURIComponent(args.chatbotId)}/sources`;
  const reachable = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.ok)
    .catch(() => false);
  if (!reachable) {
    throw new Error(
      `DATA_DIR/service.json says a service runs at ${baseUrl}, but it does not answer; if no service uses this data dir, delete that file and retry`,
    );
  }
  const outcomes: Outcome[] = [];
  for (const [i, job] of jobs.entries()) {
    let res: Response;
    if (job.kind === 'file') {
      const form = new FormData();
      form.append('file', Bun.file(job.path), job.path.replace(/^.*[\\/]/, ''));
      res = await fetch(sources, { method: 'POST', headers, body: form });
    } else {
      const body =
        job.kind === 'url'
          ? { type: 'url', url: job.url }
          : { type: 'sitemap', url: job.url, maxPages: job.maxPages };
      res = await fetch(sources, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    }
    const json = (await res.json().catch(() => null)) as unknown;
    if (res.status !== 202 || !json) {
      const envelope = json as { error?: { message?: string } } | null;
      const message = envelope?.error?.message ?? `HTTP ${res.status}`;
      if (res.status === 401) {
        throw new Error(
          `the service at ${baseUrl} refused our admin token (is it using another DATA_DIR or ADMIN_TOKEN?)`,
        );
      }
      if (res.status === 404) throw new Error(`chatbot ${args.chatbotId} not found`);
      outcomes.push({ label: job.label, error: message });
      progress.line(describe(outcomes.at(-1)!, i, jobs.length));
      continue;
    }
    // Wait for the background job, showing the crawl's progress (pages) or the file count.
    let source = json as Source;
    while (source.status === 'pending' || source.status === 'indexing') {
      if (source.progress) {
        progress.update(job.label, source.progress.done, source.progress.total, 'pages');
      } else if (jobs.length > 1) progress.update(job.label, i, jobs.length, 'files', true);
      await Bun.sleep(400);
      const poll = await fetch(`${sources}/${source.id}`, { headers });
      if (!poll.ok) throw new Error(`the source ${source.id} disappeared (HTTP ${poll.status})`);
      source = (await poll.json()) as Source;
    }
    outcomes.push({ label: job.label, source });
    progress.line(describe(outcomes.at(-1)!, i, jobs.length));
  }
  return outcomes;
}

/** What the command needs of the process's dependencies (src/deps.ts `buildDeps`). */
export type IngestCommandDeps = {
  db: Database;
  knowledge: LanceKnowledgeStore;
  sources: SourcesDeps;
  /** Stops and closes everything `open` started. */
  close: () => Promise<void>;
};

/** Opens the dependencies (passed in by src/cli.ts, so this feature does not import the root). */
export type OpenIngestDeps = (config: Config, log: Logger) => Promise<IngestCommandDeps>;

/** Runs the jobs in this process, writing SQLite and LanceDB directly (no service running). */
async function direct(
  open: OpenIngestDeps,
  config: Config,
  args: IngestArgs,
  jobs: Job[],
  progress: Progress,
): Promise<Outcome[]> {
  const { getChatbot } = await import('../chatbots/service.ts');
  const { getSource } = await import('./service.ts');
  const { createFileSource, createRemoteSource } = await import('./fetched.ts');
  const { fetchSource } = await import('./fetch-job.ts');
  const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const deps = await open(config, log);
  const { sources } = deps;
  // Ctrl-C ends the current item as `failed` ("interrupted") instead of leaving it `indexing`
  // with no job to finish it.
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    getChatbot(deps.db, args.chatbotId);
    const outcomes: Outcome[] = [];
    for (const [i, job] of jobs.entries()) {
      if (interrupted.signal.aborted) break;
      try {
        const created =
          job.kind === 'file'
            ? await createFileSource(sources, args.chatbotId, {
                file: new File(
                  [await Bun.file(job.path).bytes()],
                  job.path.replace(/^.*[\\/]/, ''),
                ),
              })
            : createRemoteSource(sources, args.chatbotId, {
                type: job.kind,
                url: job.url,
                maxPages: job.kind === 'sitemap' ? job.maxPages : DEFAULT_MAX_PAGES,
              });
        if (jobs.length > 1) progress.update(job.label, i, jobs.length, 'files', true);
        await fetchSource(sources, created.id, {
          signal: interrupted.signal,
          finalAttempt: true,
          onProgress: (done, total) => progress.update(job.label, done, total, 'pages'),
        });
        outcomes.push({ label: job.label, source: getSource(deps.db, args.chatbotId, created.id) });
      } catch (e) {
        if (e instanceof AppError && e.code === 'NOT_FOUND') throw e;
        outcomes.push({ label: job.label, error: e instanceof Error ? e.message : String(e) });
      }
      progress.line(describe(outcomes.at(-1)!, i, jobs.length));
    }
    // Merge the new rows into the indexes now, rather than leaving it to the next start.
    await deps.knowledge.settle();
    return outcomes;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await deps.close();
  }
}

/**
 * Ingests a file, a directory of files, a URL or a sitemap into a chatbot. When a service owns
 * the data dir (DATA_DIR/service.json names a live process), the work goes through its admin API,
 * because LanceDB wants one writer; otherwise this process writes SQLite and LanceDB itself.
 * Exit code 0 when every source ended `ready`, 1 otherwise.
 */
export async function runIngestCommand(
  args: string[],
  open: OpenIngestDeps,
  options: { tty?: boolean; write?: (s: string) => void } = {},
): Promise<number> {
  const parsed = parseIngestArgs(args);
  const write = options.write ?? ((s: string) => process.stdout.write(s));
  if (typeof parsed === 'string') {
    console.error(`answerdesk ingest: ${parsed}\nusage: ${INGEST_USAGE}`);
    return 2;
  }
  const plan = planJobs(parsed);
  if (typeof plan === 'string') {
    console.error(`answerdesk ingest: ${plan}`);
    return 1;
  }
  const config = loadConfig();
  const progress = new Progress(options.tty ?? process.stdout.isTTY === true, write);
  for (const s of plan.skipped) progress.line(`skipped ${s} (unsupported type)`);
  const service = readServiceMarker(config.DATA_DIR);
  let outcomes: Outcome[];
  try {
    if (service) {
      progress.line(`sending to the running service at ${service.url} (pid ${service.pid})`);
      outcomes = await viaService(service.url, config, parsed, plan.jobs, progress);
    } else {
      outcomes = await direct(open, config, parsed, plan.jobs, progress);
    }
  } catch (e) {
    console.error(`answerdesk ingest: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const ok = outcomes.filter((o) => o.source?.status === 'ready').length;
  progress.line(`${ok}/${plan.jobs.length} sources ready`);
  return ok === plan.jobs.length ? 0 : 1;
}
