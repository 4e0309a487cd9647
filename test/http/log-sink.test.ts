// The stdout sink: lines written once per turn of the event loop, in order, none lost at exit.
import { describe, expect, it } from 'bun:test';
import { resolve } from 'node:path';

const LOGGING = resolve(import.meta.dir, '../../src/logging.ts');

/** Runs `body` in a fresh Bun process (a logger at info on stdout) and returns its stdout. */
async function run(body: string): Promise<{ lines: Record<string, unknown>[]; code: number }> {
  const proc = Bun.spawn(
    [
      process.execPath,
      '-e',
      `import { createLogger } from ${JSON.stringify(LOGGING)}; const log = createLogger('info'); ${body}`,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const [text, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return {
    lines: text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
    code,
  };
}

describe('stdout log sink', () => {
  it('should write every line, in order, when the process exits in the same turn', async () => {
    const { lines, code } = await run(
      'for (let i = 0; i < 3000; i++) log.info({ i }, "line"); process.exit(3);',
    );
    expect(code).toBe(3);
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it("should write a turn's lines before the next turn, while the process keeps running", async () => {
    // The child exits only when this test closes its stdin: its lines must be out before that.
    const proc = Bun.spawn(
      [
        process.execPath,
        '-e',
        `import { createLogger } from ${JSON.stringify(LOGGING)}; const log = createLogger('info'); log.info({ n: 1 }, 'first'); setTimeout(() => log.info({ n: 2 }, 'second'), 0); process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(0));`,
      ],
      { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
    );
    const reader = proc.stdout.getReader();
    let text = '';
    while (text.split('\n').filter(Boolean).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    // Both lines arrived and the process has not exited: nothing waited for the exit to be written.
    expect(proc.exitCode).toBeNull();
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).n),
    ).toEqual([1, 2]);
    proc.stdin.end();
    expect(await proc.exited).toBe(0);
  });
});
