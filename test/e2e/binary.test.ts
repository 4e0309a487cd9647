// End to end against the compiled binary: built once, run from a directory with no node_modules.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBinaryOnce, type RunningBinary, runCli, startBinary } from '../helpers/process.ts';

let binary: string;
let run: RunningBinary;

beforeAll(async () => {
  binary = await buildBinaryOnce();
  run = await startBinary({ command: [binary] });
}, 300_000);

afterAll(async () => {
  await run?.stop();
});

const exec = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { command: [binary], env });

describe('binary', () => {
  it('should print its version and its help', async () => {
    const version = await exec(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await exec(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('answerdesk');
    expect(help.stdout).toContain('--version');
  });

  it('should exit 1 naming every bad key, without their values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-bad-'));
    const bad = await exec(['serve'], { PORT: 'abc', LOG_LEVEL: 'loud', DATA_DIR: join(dir, 'd') });
    rmSync(dir, { recursive: true, force: true });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('PORT');
    expect(bad.stderr).toContain('LOG_LEVEL');
    expect(bad.stderr).not.toContain('abc');
    expect(bad.stderr).not.toContain('loud');
  });

  it('should answer /healthz and /readyz', async () => {
    expect(await (await fetch(`${run.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${run.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks).toContainEqual({ name: 'lancedb', ok: true });
  });

  it('should serve /docs and its embedded assets offline', async () => {
    const page = await fetch(`${run.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const bundle = await fetch(`${run.url}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    const css = await fetch(`${run.url}/docs/assets/swagger-ui.css`);
    expect(css.status).toBe(200);
    const spec = await (await fetch(`${run.url}/docs/json`)).json();
    expect(spec.paths['/api/v1/chatbots/{chatbotId}']).toBeDefined();
  });

  it('should create and list a chatbot with the generated admin token, and refuse without it', async () => {
    const token = await run.adminToken();
    expect(statSync(join(run.dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${run.url}/api/v1/chatbots`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'From the binary' }),
    });
    expect(created.status).toBe(201);
    const bot = await created.json();
    const list = await (await fetch(`${run.url}/api/v1/chatbots`, { headers: auth })).json();
    expect(list.items.map((b: { id: string }) => b.id)).toContain(bot.id);

    const anonymous = await fetch(`${run.url}/api/v1/chatbots`);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('UNAUTHORIZED');
    // The token never reaches the log; where it lives does.
    expect(run.logs()).not.toContain(token);
    expect(run.logs()).toContain(join(run.dataDir, 'admin-token'));
  });

  it("should checkpoint SQLite's WAL from its own thread (a worker entry point of the binary)", async () => {
    const auth = { authorization: `Bearer ${await run.adminToken()}` };
    const passiveOk = async () => {
      const text = await (await fetch(`${run.url}/metrics`, { headers: auth })).text();
      return Number(
        /answerdesk_sqlite_checkpoints_total\{mode="PASSIVE",result="ok"\} (\d+)/.exec(text)?.[1] ??
          0,
      );
    };
    // Polls an observable count (bounded): the thread reports every 250 ms.
    for (let i = 0; i < 100 && (await passiveOk()) === 0; i++) await Bun.sleep(50);
    expect(await passiveOk()).toBeGreaterThan(0);
    expect(run.logs()).not.toContain('sqlite checkpoint thread stopped');
  });

  it('should keep its data beside the binary when DATA_DIR is unset and ./data is absent', async () => {
    const home = mkdtempSync(join(tmpdir(), 'answerdesk-home-'));
    const copy = join(home, 'answerdesk');
    await Bun.write(copy, Bun.file(binary));
    const { chmodSync } = await import('node:fs');
    chmodSync(copy, 0o755);
    const cwd = mkdtempSync(join(tmpdir(), 'answerdesk-cwd-'));
    const other = await startBinary({ command: [copy], cwd, env: { DATA_DIR: '' } });
    try {
      expect(existsSync(join(home, 'data', 'answerdesk.sqlite'))).toBe(true);
      expect(existsSync(join(cwd, 'data'))).toBe(false);
    } finally {
      expect(await other.stop()).toBe(0);
      rmSync(home, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);

  it('should stop cleanly on SIGTERM with exit code 0', async () => {
    const other = await startBinary({ command: [binary] });
    expect(await other.stop()).toBe(0);
    expect(other.logs()).toContain('"msg":"stopped"');
  }, 60_000);
});
