// Configuration: parsed once, bad keys named (never their values), secrets generated with 0600.
import { afterAll, describe, expect, it } from 'bun:test';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, EnvSchema, loadConfig, parseEnv } from '../src/config.ts';
import { tempDir } from './helpers/app.ts';
import { FROM_SOURCE, runCli, startBinary } from './helpers/process.ts';

const root = resolve(import.meta.dir, '..');
const dirs: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of dirs) cleanup();
});
const scratch = () => {
  const t = tempDir('answerdesk-config-');
  dirs.push(t.cleanup);
  return t.dir;
};

describe('config (parse)', () => {
  it('should name every bad key in one error and never their values', () => {
    let error: unknown;
    try {
      parseEnv({
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        PUBLIC_URL: 'ftp://nope-value',
        ADMIN_TOKEN: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.key).sort();
    expect(problems).toEqual(['ADMIN_TOKEN', 'LOG_LEVEL', 'PORT', 'PUBLIC_URL']);
    const message = (error as Error).message;
    for (const value of ['abc', 'loud', 'nope-value', 'short'])
      expect(message).not.toContain(value);
  });

  it('should take PORT from 0 to 65535 and refuse anything outside or not a whole number', () => {
    for (const port of ['0', '1', '3000', '65535'])
      expect(parseEnv({ PORT: port }).PORT).toBe(Number(port));
    for (const port of ['65536', '70000', '-1', '99999999999', '80.5', '1e3', '0x50', '']) {
      let error: unknown;
      try {
        parseEnv({ PORT: port });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.key)).toEqual(['PORT']);
    }
  });

  it('should apply the documented defaults when the environment is empty', () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.BODY_LIMIT_BYTES).toBe(1_048_576);
    expect(env.GROQ_BASE_URL).toBe('https://api.groq.com');
  });

  it('should list every EnvSchema key in .env.example', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const key of Object.keys(EnvSchema.entries)) {
      expect(example).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
    }
  });

  it('should list every EnvSchema key in the README config table', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const key of Object.keys(EnvSchema.entries)) expect(readme).toContain(`\`${key}\``);
  });
});

describe('config (generated secrets)', () => {
  it('should generate admin-token and secret-key with mode 0600 and reuse them', () => {
    const dir = scratch();
    const first = loadConfig({ DATA_DIR: dir });
    for (const name of ['admin-token', 'secret-key']) {
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    }
    expect(first.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(32);
    expect(first.adminTokenSource).toBe('file');
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.ADMIN_TOKEN).toBe(first.ADMIN_TOKEN);
    expect(second.SECRET_KEY).toBe(first.SECRET_KEY);
    expect(first.SECRET_KEY).not.toBe(first.ADMIN_TOKEN);
  });

  it('should narrow an existing secret file that others can read to mode 0600', () => {
    const dir = scratch();
    for (const name of ['admin-token', 'secret-key']) {
      writeFileSync(join(dir, name), `${name}-existing-0123456789\n`, { mode: 0o644 });
      chmodSync(join(dir, name), 0o644);
    }
    const config = loadConfig({ DATA_DIR: dir });
    expect(config.ADMIN_TOKEN).toBe('admin-token-existing-0123456789');
    expect(config.SECRET_KEY).toBe('secret-key-existing-0123456789');
    for (const name of ['admin-token', 'secret-key']) {
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    }
  });

  it('should refuse to replace a damaged secret-key file (sealed credentials depend on it)', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'secret-key'), 'short\n', { mode: 0o600 });
    expect(() => loadConfig({ DATA_DIR: dir })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir })).toThrow(/SECRET_KEY .*secret-key/);
    expect(readFileSync(join(dir, 'secret-key'), 'utf8')).toBe('short\n');
    // The admin token may be replaced: nothing is sealed with it.
    writeFileSync(join(dir, 'admin-token'), 'short\n');
    const config = loadConfig({ DATA_DIR: dir, SECRET_KEY: 'env-secret-key-0123456789' });
    expect(config.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(32);
  });

  it('should prefer ADMIN_TOKEN from the environment', () => {
    const config = loadConfig({ DATA_DIR: scratch(), ADMIN_TOKEN: 'env-admin-token-0123456789' });
    expect(config.ADMIN_TOKEN).toBe('env-admin-token-0123456789');
    expect(config.adminTokenSource).toBe('env');
  });
});

describe('config (the real process)', () => {
  it('should exit 1 with one message naming every bad key (never the values)', async () => {
    const proc = await runCli([], {
      command: FROM_SOURCE,
      env: { PORT: 'abc', LOG_LEVEL: 'loud', DATA_DIR: join(scratch(), 'data') },
    });
    expect(proc.code).toBe(1);
    const stderr = proc.stderr.trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toContain('PORT');
    expect(stderr).toContain('LOG_LEVEL');
    expect(stderr).not.toContain('abc');
    expect(stderr).not.toContain('loud');
    expect(proc.stdout).toBe('');
  }, 30_000);

  it('should exit 1 naming PORT when it is out of range (65536), before listening anywhere', async () => {
    const proc = await runCli([], {
      command: FROM_SOURCE,
      env: { PORT: '65536', DATA_DIR: join(scratch(), 'data') },
    });
    expect(proc.code).toBe(1);
    expect(proc.stderr.trim()).toBe(
      'answerdesk: bad configuration: BAD_ENVIRONMENT: PORT must be at most 65535',
    );
    expect(proc.stdout).toBe('');
  }, 30_000);

  it('should log where the generated token is, never the token, and stop on SIGTERM', async () => {
    const dataDir = join(scratch(), 'data');
    const service = await startBinary({ command: FROM_SOURCE, env: { DATA_DIR: dataDir } });
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    // An authenticated call goes through, and its log line carries no token either.
    const res = await fetch(`${service.url}/api/v1/chatbots`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await service.stop()).toBe(0);
    const logs = service.logs();
    const startLine = logs.split('\n').find((l) => l.includes('answerdesk started'));
    expect(startLine).toBeDefined();
    const started = JSON.parse(startLine!);
    expect(started.adminTokenLocation).toContain(join(dataDir, 'admin-token'));
    expect(started.level).toBe('info');
    expect(logs).not.toContain(token);
    expect(logs).toContain('"route":"/api/v1/chatbots"');
    expect(logs).toContain('"msg":"stopped"');
    for (const name of ['admin-token', 'secret-key', 'answerdesk.sqlite']) {
      expect(statSync(join(dataDir, name)).mode & 0o777).toBe(0o600);
    }
    // Visitors' conversations and the index are the service user's alone.
    expect(statSync(dataDir).mode & 0o077).toBe(0);
    expect(statSync(join(dataDir, 'lancedb')).mode & 0o077).toBe(0);
  }, 30_000);
});
