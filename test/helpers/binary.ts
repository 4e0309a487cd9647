// The compiled binary for end-to-end tests: built once per test process, started on a free port.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBinary } from '../../scripts/build.ts';

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
  /** Command-line arguments (default: none = serve). */
  args?: string[];
  /** The binary to run (default: buildBinaryOnce()). */
  binary?: string;
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
  const binary = options.binary ?? (await buildBinaryOnce());
  const port = await freePort();
  const scratch = mkdtempSync(join(tmpdir(), 'answerdesk-run-'));
  const dataDir = options.env?.DATA_DIR ?? join(scratch, 'data');
  const output: string[] = [];
  const proc = Bun.spawn([binary, ...(options.args ?? [])], {
    cwd: options.cwd ?? scratch,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? scratch,
      TMPDIR: process.env.TMPDIR ?? tmpdir(),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...options.env,
    },
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
