// `bun run bench:ingest`: GET /healthz latency while the real server (`bun run src/index.ts`, its
// own process) ingests a generated 2,000-page PDF upload (~2.4 KB of text a page), and PDF
// extraction time and peak memory at 2,000 / 5,000 / 10,000 / 20,000 short pages (~150 bytes each,
// like the security report's 3 MB file of 20,000 pages), the previous way (unpdf's extractText)
// and the current one (page by page, pdf.js patched).
// Prints figures; asserts nothing; every phase is bounded.
//   --entry PATH    serve another checkout's src/index.ts (e.g. the code before a change)
//   --pages N       pages of the uploaded PDF (default 2,000)
//   --before-20k    also time the previous extraction at 20,000 pages (minutes, GiBs)
//   --healthz-only  skip the extraction table
// Internal: `--extract before|now N` times one extraction in this process and prints JSON.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makePdf } from '../test/helpers/pdf.ts';

const ADMIN = 'bench-admin-token-0123456789';
const arg = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};

const words =
  'pump valve seal pressure flange gasket bearing impeller housing shaft coupling motor'.split(' ');
/** A manual-like page: a heading and `lines` lines of 12 words (30 lines: ~2.4 KB of text). */
const page = (n: number, lines: number) => [
  `Section ${n}: maintenance of unit ${n % 97}`,
  ...Array.from({ length: lines }, (_, l) =>
    Array.from({ length: 12 }, (_, w) => words[(n * 31 + l * 7 + w * 3) % words.length]).join(' '),
  ),
];
const manual = (pages: number, lines: number) =>
  makePdf(Array.from({ length: pages }, (_, i) => page(i + 1, lines)));

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const mib = (bytes: number) => `${Math.round(bytes / 1_048_576)} MiB`;

/** One extraction in this process (run in a fresh process per measurement). */
async function extractOnce(mode: string, pages: number) {
  const bytes = manual(pages, 1);
  const started = performance.now();
  let chars: number;
  if (mode === 'before') {
    // What src/ingest/files.ts did before: unpdf's extractText (every page at once).
    const { extractText, getDocumentProxy } = await import('unpdf');
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    chars = (await extractText(pdf, { mergePages: false })).text.join('\n\n').length;
  } else {
    const { extractPdfText } = await import('../src/ingest/pdf.ts');
    const out = await extractPdfText(bytes, { maxTextChars: 1e9, maxPages: pages });
    chars = out.text.length;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, chars, megabytes: bytes.length / 1e6 }));
}

async function timeExtraction(mode: 'before' | 'now', pages: number) {
  const proc = Bun.spawn([process.execPath, import.meta.path, '--extract', mode, String(pages)], {
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 15 * 60_000);
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  clearTimeout(killer);
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
  return { ...result, maxRss: proc.resourceUsage()?.maxRSS ?? 0 };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? done(a.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * Resident memory of a process and of its children (the extractor), in bytes, and the CPU time
 * its children have used so far (clock ticks): rising CPU time means the extractor is working.
 */
function processTree(pid: number): { self: number; children: number; childCpu: number } {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'latin1');
    } catch {
      return '';
    }
  };
  const rss = (p: string) =>
    Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${p}/status`))?.[1] ?? 0) * 1024;
  // utime and stime: fields 14 and 15 of /proc/PID/stat, counted after the ")" of the name.
  const cpu = (p: string) => {
    const fields = read(`/proc/${p}/stat`).split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  };
  const kids = read(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean);
  return {
    self: rss(String(pid)),
    children: kids.reduce((n, k) => n + rss(k), 0),
    childCpu: kids.reduce((n, k) => n + cpu(k), 0),
  };
}

async function serveAndUpload(entry: string, pages: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'answerdesk-bench-ingest-'));
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, 'run', entry], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dataDir,
      TMPDIR: process.env.TMPDIR ?? tmpdir(),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      SECRET_KEY: 'bench-secret-key-0123456789abcdef',
      EMBEDDING_PROVIDER: 'none',
      LOG_LEVEL: 'warn',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${url}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers as Record<string, string>) },
    });
  try {
    for (let deadline = Date.now() + 60_000; ; ) {
      if (
        await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) throw new Error('server did not start');
      await Bun.sleep(50); // start-up polling
    }
    const probe = async () => {
      const started = performance.now();
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      return performance.now() - started;
    };
    // Idle baseline: 200 probes, 10 ms apart.
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) {
      idle.push(await probe());
      await Bun.sleep(10); // probe pacing
    }
    const bot = await (
      await api('/chatbots', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench' }),
      })
    ).json();
    const pdf = manual(pages, 30);
    const form = new FormData();
    form.append('file', new File([pdf], 'manual.pdf'));
    const started = performance.now();
    const created = await (
      await api(`/chatbots/${bot.id}/sources`, { method: 'POST', body: form })
    ).json();
    // The extractor's CPU time, sampled by this process every 10 ms (never held up by the
    // server): the last moment it rose is when extraction ended.
    const probes: { endedAt: number; ms: number }[] = [];
    let peakChild = 0;
    let peakSelf = 0;
    let childCpu = processTree(proc.pid).childCpu;
    let extractionEndedAt = started;
    const sampler = setInterval(() => {
      const tree = processTree(proc.pid);
      if (tree.childCpu > childCpu) extractionEndedAt = performance.now();
      childCpu = tree.childCpu;
      peakChild = Math.max(peakChild, tree.children);
      peakSelf = Math.max(peakSelf, tree.self);
    }, 10);
    let source: { status: string; chunkCount: number; error: string | null } = created;
    for (let i = 0; source.status === 'pending' || source.status === 'indexing'; i++) {
      const ms = await probe();
      probes.push({ endedAt: performance.now(), ms });
      if (i % 10 === 0)
        source = await (await api(`/chatbots/${bot.id}/sources/${created.id}`)).json();
      if (performance.now() - started > 15 * 60_000) throw new Error('ingestion did not settle');
      await Bun.sleep(10); // probe pacing: ~100 probes a second
    }
    clearInterval(sampler);
    const extracting = probes.filter((p) => p.endedAt <= extractionEndedAt).map((p) => p.ms);
    const server = probes.filter((p) => p.endedAt > extractionEndedAt).map((p) => p.ms);
    const seconds = (performance.now() - started) / 1000;
    return { idle, extracting, server, seconds, source, peakChild, peakSelf, bytes: pdf.length };
  } finally {
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await proc.exited;
    clearTimeout(killer);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (arg('--extract')) {
  await extractOnce(arg('--extract') ?? 'now', Number(process.argv.at(-1)));
} else {
  const entry = resolve(arg('--entry') ?? resolve(import.meta.dir, '../src/index.ts'));
  const pages = Number(arg('--pages') ?? 2_000);
  console.log(
    `bench:ingest — ${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, server ${entry}`,
  );

  const run = await serveAndUpload(entry, pages);
  const row = (label: string, v: number[]) =>
    `  ${label.padEnd(28)} p50 ${pct(v, 50).toFixed(1)} ms, p99 ${pct(v, 99).toFixed(1)} ms, max ${Math.max(...v).toFixed(1)} ms (${v.length} probes)`;
  console.log(
    `\nGET /healthz while the server ingests a ${pages}-page PDF upload (${(run.bytes / 1e6).toFixed(1)} MB):`,
  );
  console.log(row('idle', run.idle));
  console.log(row('during the ingestion', [...run.extracting, ...run.server]));
  if (run.extracting.length > 0) {
    console.log(row('  while extracting', run.extracting));
    console.log(row('  after (chunking, index)', run.server));
  }
  console.log(
    `  ingestion: ${run.seconds.toFixed(1)} s, ${run.source.status}${run.source.error ? ` (${run.source.error})` : ''}, ${run.source.chunkCount} chunks; peak RSS server ${mib(run.peakSelf)}, extractor ${mib(run.peakChild)}`,
  );

  const sizes = process.argv.includes('--healthz-only') ? [] : [2_000, 5_000, 10_000, 20_000];
  if (sizes.length > 0) console.log('\nPDF extraction, one fresh process each (time, peak RSS):');
  for (const n of sizes) {
    const cells: string[] = [];
    for (const mode of ['before', 'now'] as const) {
      if (mode === 'before' && n === 20_000 && !process.argv.includes('--before-20k')) {
        cells.push('before: skipped (--before-20k)');
        continue;
      }
      const r = await timeExtraction(mode, n);
      cells.push(
        `${mode === 'before' ? 'unpdf extractText' : 'page by page'}: ${r.seconds.toFixed(1)} s, ${mib(r.maxRss)}`,
      );
    }
    console.log(`  ${String(n).padStart(6)} pages  ${cells.join('   ')}`);
  }
}
