// answerdesk as a child process, for the CLI and end-to-end tests: the compiled binary (built once
// per test process) or the sources (`FROM_SOURCE`), run to its exit (`runCli`) or served on a free
// port until stopped (`startBinary`). Every child starts from the same small environment.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBinary } from '../../scripts/build.ts';

/** answerdesk from its sources: `bun run src/index.ts` (from any working directory). */
export const FROM_SOURCE = [process.execPath, 'run', join(import.meta.dir, '../../src/index.ts')];

/**
 * What a child inherits from the test process (nothing of its configuration), plus `env`. Tests
 * run offline: a served child never pulls a model from the real hub unless a test asks for it
 * (and then points MODEL_HUB_URL at a fake).
 */
function childEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    MODEL_AUTO_PULL: 'false',
    ...env,
  };
}

export type CliRun = { code: number; stdout: string; stderr: string };

/**
 * Runs `command` (`[binary]` or `FROM_SOURCE`) with `args` to its exit and returns its exit code
 * and output. The working directory is a fresh temp dir (no ./data or .env is picked up) unless
 * `cwd` is given.
 */
export async function runCli(
  args: string[],
  options: { command: string[]; env?: Record<string, string>; cwd?: string },
): Promise<CliRun> {
  const scratch = options.cwd ? undefined : mkdtempSync(join(tmpdir(), 'answerdesk-cli-'));
  try {
    const proc = Bun.spawn([...options.command, ...args], {
      cwd: options.cwd ?? scratch,
      env: childEnv(options.env),
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

let building: Promise<string> | undefined;

/**
 * Builds `answerdesk` into a temp dir the first time it is called in this test process and
 * returns its path; later calls share the same build. `ANSWERDESK_BINARY` skips the build.
 */
export function buildBinaryOnce(): Promise<string> {
  building ??= (async () => {
    const given = Bun.env.ANSWERDESK_BINARY;
    if (given) return given;
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-bin-'));
    const outfile = join(dir, 'answerdesk');
    await buildBinary(outfile);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return outfile;
  })();
  return building;
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export type RunningBinary = {
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far. */
  logs: () => string;
  /** The admin token it generated (read from DATA_DIR/admin-token) or was given. */
  adminToken: () => Promise<string>;
  /** SIGTERM, wait for exit (SIGKILL after `timeoutMs`), remove the temp data dir; returns the exit code. */
  stop: (timeoutMs?: number) => Promise<number | null>;
};

type StartOptions = {
  /** Extra environment (PORT, DATA_DIR and LOG_LEVEL have test defaults). */
  env?: Record<string, string>;
  /** Working directory (default: a fresh temp dir, so no ./data or .env is picked up). */
  cwd?: string;
  /** What to run: `[binary, ...args]` or `FROM_SOURCE` (default: buildBinaryOnce(), serving). */
  command?: string[];
  /** How long to wait for /healthz (default 20 s). */
  readyTimeoutMs?: number;
};

async function drain(stream: ReadableStream<Uint8Array>, sink: string[]) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink.push(decoder.decode(chunk, { stream: true }));
}

/**
 * Starts the binary on a free port with a temp DATA_DIR and resolves once GET /healthz answers
 * 200 (polled in a bounded loop). Rejects, with the process's output, if it exits or times out.
 */
export async function startBinary(options: StartOptions = {}): Promise<RunningBinary> {
  const command = options.command ?? [await buildBinaryOnce()];
  const port = await freePort();
  const scratch = mkdtempSync(join(tmpdir(), 'answerdesk-run-'));
  const dataDir = options.env?.DATA_DIR ?? join(scratch, 'data');
  const output: string[] = [];
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? scratch,
    env: childEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...options.env,
    }),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const pumps = Promise.all([drain(proc.stdout, output), drain(proc.stderr, output)]);
  const url = `http://127.0.0.1:${options.env?.PORT ?? port}`;
  const logs = () => output.join('');
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });

  const stop = async (timeoutMs = 15_000) => {
    if (!exited) proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    const code = await proc.exited;
    clearTimeout(killer);
    await pumps;
    rmSync(scratch, { recursive: true, force: true });
    return code;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`answerdesk exited before it was healthy:\n${logs()}`);
    }
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`answerdesk was not healthy in time:\n${logs()}`);
    }
    await Bun.sleep(25); // polling interval of the health check, not a wait for work
  }

  return {
    url,
    port,
    dataDir,
    pid: proc.pid,
    logs,
    adminToken: async () =>
      options.env?.ADMIN_TOKEN ?? (await Bun.file(join(dataDir, 'admin-token')).text()).trim(),
    stop,
  };
}
