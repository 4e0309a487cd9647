// The extractor process (`answerdesk __extract`, hidden): reads one document at a time for the
// service, which started it with an IPC channel (extractor.ts) and may kill it at any time. It
// also cuts the text into passages (with the splitter the command hands in: the service's
// chunker), so that neither reading nor cutting a large document runs on the service's thread.
import { readFile } from 'node:fs/promises';
import { ExtractError } from './errors.ts';
import type { FileType } from './file-type.ts';
import { type ExtractedFile, extractFile } from './files.ts';
import { extractHtml } from './html.ts';

export const EXTRACTOR_COMMAND = '__extract';

/** One job at a time per process: a reply always answers the job sent last. */
export type ExtractJob =
  | { kind: 'file'; path: string; fileType: FileType; name: string }
  | { kind: 'html'; html: string; fallbackTitle: string };

/** A passage of a document's text, with the headings above it (outermost first). */
export type Passage = { headingPath: string[]; text: string };

/** Cuts a document's text into passages, in document order. */
export type Splitter = (text: string) => Passage[];

/** A document as the service receives it: its title, a digest of its text, and its passages. */
export type ExtractedDocument = {
  title: string;
  format: 'text' | 'markdown';
  /** Characters of text once trimmed: 0 when the document has no text. */
  chars: number;
  /** sha256 (hex) of the text: how a changed document is told from an unchanged one. */
  textSha256: string;
  passages: Passage[];
};

/**
 * What the process sends: `ready` once; then per job its passages in parts (each IPC message is
 * parsed at once on the service's thread, so none is large), then the outcome.
 */
export type ExtractMessage =
  | { ready: true }
  | { passages: Passage[] }
  | ({ ok: true } & Omit<ExtractedDocument, 'passages'>)
  | { ok: false; kind: ExtractError['kind'] | 'INTERNAL'; message: string };

/** Characters of passage text per message (a few ms to parse; 20 messages for a 20 M document). */
const PART_CHARS = 1_000_000;

/** The passages in parts of about PART_CHARS characters. */
function* inParts(passages: Passage[]): Generator<Passage[]> {
  let part: Passage[] = [];
  let chars = 0;
  for (const passage of passages) {
    part.push(passage);
    chars += passage.text.length;
    if (chars >= PART_CHARS) {
      yield part;
      part = [];
      chars = 0;
    }
  }
  if (part.length > 0) yield part;
}

async function extract(job: ExtractJob): Promise<ExtractedFile> {
  if (job.kind === 'html') {
    return { ...extractHtml(job.html, job.fallbackTitle), format: 'markdown' };
  }
  return extractFile(job.fileType, await readFile(job.path), job.name);
}

async function run(job: ExtractJob, split: Splitter, send: (m: ExtractMessage) => void) {
  try {
    const { title, text, format } = await extract(job);
    const passages = split(text);
    const textSha256 = new Bun.CryptoHasher('sha256').update(text).digest('hex');
    for (const part of inParts(passages)) send({ passages: part });
    send({ ok: true, title, format, chars: text.trim().length, textSha256 });
  } catch (e) {
    if (e instanceof ExtractError) return send({ ok: false, kind: e.kind, message: e.message });
    // Unexpected (a library bug on odd input): the service logs it and reports it in plain words.
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    send({ ok: false, kind: 'INTERNAL', message: message.slice(0, 300) });
  }
}

/** Serves extraction jobs over the IPC channel until the service disconnects. */
export function runExtractorProcess(split: Splitter): Promise<number> {
  const send = process.send?.bind(process);
  if (!send) {
    console.error('answerdesk: __extract is started by the service, not by hand');
    return Promise.resolve(2);
  }
  // The service went away (stopped or crashed): nothing left to do.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (job: ExtractJob) => {
    void run(job, split, send);
  });
  send({ ready: true });
  // Never resolves: the IPC channel keeps the process alive until the service disconnects.
  return new Promise(() => {});
}
