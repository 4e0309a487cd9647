// The extractor process (`answerdesk __extract`, hidden): extracts one document at a time for
// the service, which started it with an IPC channel (extractor.ts) and may kill it at any time.
import { readFile } from 'node:fs/promises';
import { ExtractError } from './errors.ts';
import type { FileType } from './file-type.ts';
import { extractFile } from './files.ts';
import { extractHtml } from './html.ts';

export const EXTRACTOR_COMMAND = '__extract';

/** One job at a time per process: a reply always answers the job sent last. */
export type ExtractJob =
  | { kind: 'file'; path: string; fileType: FileType; name: string }
  | { kind: 'html'; html: string; fallbackTitle: string };

export type ExtractReply =
  | { ok: true; title: string; text: string; format: 'text' | 'markdown' }
  | { ok: false; kind: ExtractError['kind'] | 'INTERNAL'; message: string };

async function extract(job: ExtractJob): Promise<ExtractReply> {
  try {
    if (job.kind === 'html') {
      const page = extractHtml(job.html, job.fallbackTitle);
      return { ok: true, ...page, format: 'markdown' };
    }
    const bytes = await readFile(job.path);
    return { ok: true, ...(await extractFile(job.fileType, bytes, job.name)) };
  } catch (e) {
    if (e instanceof ExtractError) return { ok: false, kind: e.kind, message: e.message };
    // Unexpected (a library bug on odd input): the service logs it and reports it in plain words.
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ok: false, kind: 'INTERNAL', message: message.slice(0, 300) };
  }
}

/** Serves extraction jobs over the IPC channel until the service disconnects. */
export function runExtractorProcess(): Promise<number> {
  const send = process.send?.bind(process);
  if (!send) {
    console.error('answerdesk: __extract is started by the service, not by hand');
    return Promise.resolve(2);
  }
  // The service went away (stopped or crashed): nothing left to do.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (job: ExtractJob) => {
    void extract(job).then((reply) => send(reply));
  });
  send({ ready: true });
  // Never resolves: the IPC channel keeps the process alive until the service disconnects.
  return new Promise(() => {});
}
