import { afterAll, beforeEach, describe, expect, it } from 'bun:test';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEmbedder } from '../../src/embeddings/index.ts';
import { createLogger } from '../../src/logging.ts';
import { CATALOG, DEFAULT_MODEL } from '../../src/models/catalog.ts';
import { runModelsCommand } from '../../src/models/command.ts';
import { MANIFEST_FILE, readManifest } from '../../src/models/model-dir.ts';
import { PullError, pullModel, TRUSTED_CHECKSUMS_FILE } from '../../src/models/pull.ts';
import { tempDir } from '../helpers/app.ts';
import { startFakeHub, TINY_REVISION } from '../helpers/fake-embeddings-hub.ts';

const hub = startFakeHub({ dimension: 32 });
const data = tempDir('answerdesk-models-');
const modelsDir = join(data.dir, 'models');
const catalog = [hub.catalogEntry('tiny'), hub.catalogEntry('tiny-tofu', true)];
const log = createLogger('silent');

afterAll(() => {
  hub.stop();
  data.cleanup();
});

beforeEach(() => {
  hub.restore();
  hub.requests.length = 0;
  rmSync(modelsDir, { recursive: true, force: true });
});

const pull = (name: string, extra: { force?: boolean } = {}) =>
  pullModel({ name, modelsDir, baseUrl: hub.baseUrl, catalog, ...extra });

const leftovers = () => readdirSync(modelsDir).filter((n) => n.startsWith('.partial-'));

describe('models pull', () => {
  it('should download every pinned file, verify it and install a loadable model', async () => {
    const result = await pull('tiny');
    expect(result.status).toBe('installed');
    expect(result.trustedOnFirstUse).toEqual([]);
    for (const path of Object.keys(hub.files)) {
      expect(existsSync(join(modelsDir, 'tiny', path))).toBe(true);
    }
    expect(readManifest(join(modelsDir, 'tiny'))).toMatchObject({
      name: 'tiny',
      revision: catalog[0]?.revision,
      trust: 'pinned',
    });
    expect(leftovers()).toEqual([]);
    // The same production path the server uses loads what was pulled.
    const embedder = await createEmbedder(
      {
        DATA_DIR: data.dir,
        EMBEDDING_PROVIDER: 'local',
        EMBEDDING_MODEL: 'tiny',
        EMBEDDING_BASE_URL: undefined,
        EMBEDDING_API_KEY: undefined,
      },
      log,
    );
    expect(embedder?.dimension).toBe(32);
  });

  it('should request the Hugging Face URL layout at the pinned revision', async () => {
    await pull('tiny');
    expect(hub.requests).toContain(
      `/answerdesk-test/tiny-embedder/resolve/${catalog[0]?.revision}/onnx/model.onnx`,
    );
  });

  it('should not download again when the model is already installed', async () => {
    await pull('tiny');
    hub.requests.length = 0;
    expect((await pull('tiny')).status).toBe('already-installed');
    expect(hub.requests).toEqual([]);
  });

  it('should install nothing when a checksum does not match', async () => {
    hub.tamper('onnx/model.onnx');
    const error = await pull('tiny').catch((e) => e);
    expect(error).toBeInstanceOf(PullError);
    expect(error.message).toContain('onnx/model.onnx');
    expect(error.message).toContain('nothing was installed');
    expect(existsSync(join(modelsDir, 'tiny'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('should keep the installed model when a forced re-pull fails verification', async () => {
    await pull('tiny');
    hub.tamper('tokenizer.json');
    await expect(pull('tiny', { force: true })).rejects.toBeInstanceOf(PullError);
    expect(readManifest(join(modelsDir, 'tiny'))?.name).toBe('tiny');
    expect(readFileSync(join(modelsDir, 'tiny', 'tokenizer.json'))).toEqual(
      Buffer.from(hub.files['tokenizer.json']!),
    );
  });

  it('should retry a file after a transient server error', async () => {
    hub.failNext('config.json', 1);
    const result = await pull('tiny');
    expect(result.status).toBe('installed');
    expect(hub.requests.filter((p) => p.endsWith(`${TINY_REVISION}/config.json`))).toHaveLength(2);
  });

  it('should resume an interrupted pull without downloading verified files again', async () => {
    hub.failNext('onnx/model.onnx', 10);
    await expect(pull('tiny')).rejects.toBeInstanceOf(PullError);
    expect(existsSync(join(modelsDir, 'tiny'))).toBe(false);
    expect(leftovers()).toHaveLength(1);
    hub.failNext('onnx/model.onnx', 0);
    hub.requests.length = 0;
    expect((await pull('tiny')).status).toBe('installed');
    expect(hub.requests.filter((p) => p.endsWith(`${TINY_REVISION}/config.json`))).toEqual([]);
    expect(hub.requests.filter((p) => p.endsWith('/onnx/model.onnx'))).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  });

  it('should record unknown checksums on first pull and enforce them afterwards', async () => {
    const first = await pull('tiny-tofu');
    expect(first.trustedOnFirstUse.sort()).toEqual(Object.keys(hub.files).sort());
    expect(readManifest(join(modelsDir, 'tiny-tofu'))?.trust).toBe('first-use');
    const trusted = JSON.parse(readFileSync(join(modelsDir, TRUSTED_CHECKSUMS_FILE), 'utf8'));
    expect(Object.keys(trusted)).toHaveLength(Object.keys(hub.files).length);
    hub.tamper('onnx/model.onnx');
    const error = await pull('tiny-tofu', { force: true }).catch((e) => e);
    expect(error.message).toContain('does not match the pin');
  });

  it('should refuse a model that is not in the catalog', async () => {
    const error = await pull('gpt-5').catch((e) => e);
    expect(error.message).toContain('unknown model "gpt-5"');
  });
});

describe('the pinned catalog', () => {
  it('should pin full commit ids and a sha256 for every file of every model', () => {
    expect(CATALOG.map((m) => m.name)).toContain(DEFAULT_MODEL);
    for (const model of CATALOG) {
      expect(model.revision).toMatch(/^[0-9a-f]{40}$/);
      for (const file of model.files) expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(model.files.some((f) => f.path.startsWith('onnx/'))).toBe(true);
    }
  });
});

describe('answerdesk models (command)', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        env: { DATA_DIR: data.dir },
        out: (l: string) => out.push(l),
        err: (l: string) => err.push(l),
        catalog,
      },
    };
  };

  it('should pull from --base-url and print where the model went', async () => {
    const { out, err, io: options } = io();
    const code = await runModelsCommand(['pull', 'tiny', '--base-url', hub.baseUrl], options);
    expect(code).toBe(0);
    expect(out).toEqual([join(modelsDir, 'tiny')]);
    expect(err.join('\n')).toContain('sha256 verified');
  });

  it('should exit 1 with the reason when the pull fails', async () => {
    hub.tamper('config.json');
    const { err, io: options } = io();
    expect(await runModelsCommand(['pull', 'tiny', `--base-url=${hub.baseUrl}`], options)).toBe(1);
    expect(err.at(-1)).toContain('does not match the pin');
  });

  it('should list installed models with dimension, size and the active one', async () => {
    await pull('tiny');
    await pull('tiny-tofu');
    const { out, io: options } = io();
    expect(
      await runModelsCommand(['list'], {
        ...options,
        env: { DATA_DIR: data.dir, EMBEDDING_MODEL: 'tiny-tofu' },
      }),
    ).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('EMBEDDING_PROVIDER=local');
    expect(text).toMatch(/^\* tiny-tofu\s+32 dims, [\d.]+ MB, first-use$/m);
    expect(text).toMatch(/^ {2}tiny\s+32 dims, [\d.]+ MB, pinned$/m);
    expect(existsSync(join(modelsDir, 'tiny', MANIFEST_FILE))).toBe(true);
  });

  it('should say when nothing is installed and what can be pulled', async () => {
    const { out, io: options } = io();
    expect(await runModelsCommand(['list'], options)).toBe(0);
    expect(out.join('\n')).toContain('none installed');
    expect(out.join('\n')).toContain('tiny-tofu');
  });

  it('should print usage for an unknown subcommand', async () => {
    const { err, io: options } = io();
    expect(await runModelsCommand(['frobnicate'], options)).toBe(2);
    expect(err.join('\n')).toContain('models pull');
  });
});
