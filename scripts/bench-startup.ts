// Start-up benchmark: cold start to the first 200 on /healthz, idle RSS and binary size, for the
// compiled binary and for `bun run src/index.ts`, side by side.
// Usage: bun run bench:startup [--runs 10] [--binary PATH] [--rebuild]
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/helpers/process.ts';
import { buildBinary } from './build.ts';

const root = resolve(import.meta.dir, '..');
const arg = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 10);
const binary = resolve(arg('--binary') ?? join(root, 'dist/answerdesk'));

type Sample = { startMs: number; rssMiB: number };

/** VmRSS of a live process, in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Starts `command`, times it to the first 200 on /healthz, reads its idle RSS, stops it. */
async function sample(command: string[], dataDir: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/healthz`;
  const started = performance.now();
  const proc = Bun.spawn(command, {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TMPDIR: process.env.TMPDIR ?? tmpdir(),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // Measured offline: no model pulled in the background during the measurement.
      MODEL_AUTO_PULL: 'false',
      ...env,
    },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'ignore',
  });
  let startMs = Number.NaN;
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    const ok = await fetch(url)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) {
      startMs = performance.now() - started;
      break;
    }
    await Bun.sleep(2);
  }
  // Idle: let start-up garbage settle before reading resident memory.
  await Bun.sleep(500);
  const rss = Number.isNaN(startMs) ? Number.NaN : rssMiB(proc.pid);
  proc.kill('SIGTERM');
  await proc.exited;
  return { startMs, rssMiB: rss };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
};

async function series(name: string, command: string[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'answerdesk-bench-'));
  try {
    // One warm-up run creates the database and secrets and unpacks native modules into TMPDIR.
    await sample(command, dataDir);
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await sample(command, dataDir));
    return {
      name,
      start: stats(samples.map((s) => s.startMs)),
      rss: stats(samples.map((s) => s.rssMiB)),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (!existsSync(binary) || process.argv.includes('--rebuild')) {
  console.log(`building ${binary} …`);
  const { ms } = await buildBinary(binary);
  console.log(`built in ${(ms / 1000).toFixed(1)} s`);
}

// First start on a fresh machine: empty TMPDIR (the LanceDB module is unpacked there) and DATA_DIR.
const freshTmp = mkdtempSync(join(tmpdir(), 'answerdesk-bench-tmp-'));
const freshData = mkdtempSync(join(tmpdir(), 'answerdesk-bench-data-'));
const first = await sample([binary], freshData, { TMPDIR: freshTmp });
rmSync(freshTmp, { recursive: true, force: true });
rmSync(freshData, { recursive: true, force: true });

const results = [
  await series('binary', [binary]),
  await series('bun run src/index.ts', [process.execPath, 'run', 'src/index.ts']),
];

const f = (n: number) => n.toFixed(0).padStart(6);
console.log('');
console.log(
  `cold start to first 200 on /healthz, ${runs} runs each (after one warm-up), 127.0.0.1`,
);
console.log('| command                | start min | median | max (ms) | idle RSS median (MiB) |');
console.log('|------------------------|-----------|--------|----------|-----------------------|');
for (const r of results) {
  console.log(
    `| ${r.name.padEnd(22)} | ${f(r.start.min)}    | ${f(r.start.median)} | ${f(r.start.max)}   | ${r.rss.median.toFixed(1).padStart(21)} |`,
  );
}
console.log('');
console.log(`binary size: ${(statSync(binary).size / 1_048_576).toFixed(1)} MiB (${binary})`);
console.log(
  `first start with an empty TMPDIR and DATA_DIR: ${first.startMs.toFixed(0)} ms, RSS ${first.rssMiB.toFixed(1)} MiB`,
);
const [bin] = results;
console.log(
  `targets: start < 200 ms median (${bin!.start.median < 200 ? 'met' : 'missed'}), ` +
    `idle RSS < 100 MiB (${bin!.rss.median < 100 ? 'met' : 'missed'})`,
);
