// The stdout sink: lines written once per turn of the event loop, in order, none lost at exit.
import { describe, expect, it } from 'bun:test';
import { resolve } from 'node:path';

const LOGGING = resolve(import.meta.dir, '../../src/logging.ts');
const child = (body: string) => [
  process.execPath,
  '-e',
  `import { createLogger } from ${JSON.stringify(LOGGING)}; const log = createLogger('info'); ${body}`,
];
const parse = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Runs `body` in a fresh Bun process (a logger at info on stdout) and returns its stdout. */
async function run(body: string): Promise<{ lines: Record<string, unknown>[]; code: number }> {
  const proc = Bun.spawn(child(body), { stdout: 'pipe', stderr: 'pipe' });
  const [text, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { lines: parse(text), code };
}

describe('stdout log sink', () => {
  it('should write every line, in order, when the process exits in the same turn', async () => {
    const { lines, code } = await run(
      'for (let i = 0; i < 3000; i++) log.info({ i }, "line"); process.exit(3);',
    );
    expect(code).toBe(3);
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('should write lines that exit hooks log after its own', async () => {
    const { lines } = await run(
      'process.on("exit", () => log.info({ n: 2 }, "late")); log.info({ n: 1 }, "first"); process.exit(0);',
    );
    expect(lines.map((l) => l.n)).toEqual([1, 2]);
  });

  it('should write an error line, and the lines before it, before a kill that skips exit hooks', async () => {
    const { lines } = await run(
      'log.info({ n: 1 }, "before"); log.error({ n: 2 }, "failing"); log.info({ n: 3 }, "after"); process.kill(process.pid, "SIGKILL");',
    );
    // The info line after the error was still held when the process died: that one is lost.
    expect(lines.map((l) => l.n)).toEqual([1, 2]);
  });

  it("should write a turn's lines before the next turn, while the process keeps running", async () => {
    // The child exits only when this test closes its stdin: its lines must be out before that.
    const proc = Bun.spawn(
      child(
        "log.info({ n: 1 }, 'first'); setTimeout(() => log.info({ n: 2 }, 'second'), 0); process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(0));",
      ),
      { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
    );
    const reader = proc.stdout.getReader();
    // Bounded: a sink that held the lines until exit fails here instead of hanging the suite.
    const deadline = Date.now() + 10_000;
    let text = '';
    while (parse(text).length < 2 && Date.now() < deadline) {
      const next = await Promise.race([
        reader.read(),
        Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null),
      ]);
      if (!next || next.done) break;
      text += new TextDecoder().decode(next.value);
    }
    expect(proc.exitCode).toBeNull();
    expect(parse(text).map((l) => l.n)).toEqual([1, 2]);
    proc.stdin.end();
    expect(await proc.exited).toBe(0);
  });
});
