// `answerdesk models pull`: downloads a pinned model file by file from a Hugging Face-style hub
// (`{base}/{repo}/resolve/{revision}/{path}`), verifies each sha256, and installs the directory
// atomically into DATA_DIR/models/<name>. Used by this command and by the background pull at start
// (auto-pull.ts); never in the request path.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { CATALOG, type CatalogModel, DEFAULT_HUB_URL } from './catalog.ts';
import { listFiles, MANIFEST_FILE, type Manifest } from './model-dir.ts';

/** A file that stops sending for this long is abandoned (the pull can be re-run and resumes). */
export const PULL_IDLE_TIMEOUT_MS = 60_000;
/** Attempts per file on connection errors and 5xx before the pull gives up. */
export const PULL_ATTEMPTS_MAX = 3;

/** Checksums recorded on first pull for files the catalog has no checksum for (trust on first use). */
export const TRUSTED_CHECKSUMS_FILE = '.trusted-checksums.json';

export class PullError extends Error {
  override name = 'PullError';
}

export type PullOptions = {
  name: string;
  modelsDir: string;
  baseUrl?: string;
  /** Re-download even when the model is installed and intact. */
  force?: boolean;
  /** The pinned models to choose from (tests pass their own). */
  catalog?: readonly CatalogModel[];
  /** One human-readable line per step (stderr in the CLI). */
  progress?: (line: string) => void;
  signal?: AbortSignal;
};

export type PullResult = {
  name: string;
  dir: string;
  status: 'installed' | 'already-installed';
  /** Files whose checksum was recorded on this pull rather than verified (trust on first use). */
  trustedOnFirstUse: string[];
  bytes: number;
};

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function readTrusted(modelsDir: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(modelsDir, TRUSTED_CHECKSUMS_FILE), 'utf8'));
  } catch {
    return {};
  }
}

const trustKey = (model: CatalogModel, path: string) => `${model.repo}@${model.revision}/${path}`;

/** `{base}/{repo}/resolve/{revision}/{path}`, each path segment encoded. */
export function resolveUrl(baseUrl: string, model: CatalogModel, path: string): string {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl.replace(/\/+$/, '')}/${model.repo}/resolve/${model.revision}/${encoded}`;
}

const formatBytes = (n: number) =>
  n >= 1_048_576 ? `${(n / 1_048_576).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`;

/** Streams one URL into `file`, hashing on the way; aborts when the transfer stalls. */
async function download(
  url: string,
  file: string,
  signal: AbortSignal | undefined,
): Promise<{ sha256: string; bytes: number }> {
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(), PULL_IDLE_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
  try {
    const response = await fetch(url, { signal: combined, redirect: 'follow' });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new PullError(`GET ${url} answered HTTP ${response.status}`);
    }
    const hash = createHash('sha256');
    const writer = Bun.file(file).writer();
    let bytes = 0;
    try {
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(), PULL_IDLE_TIMEOUT_MS);
        hash.update(chunk);
        writer.write(chunk);
        bytes += chunk.length;
      }
    } finally {
      await writer.end();
    }
    return { sha256: hash.digest('hex'), bytes };
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    if (cause instanceof PullError) throw cause;
    const reason = idle.signal.aborted
      ? `stalled for ${PULL_IDLE_TIMEOUT_MS} ms`
      : cause instanceof Error
        ? cause.message
        : String(cause);
    throw new PullError(`GET ${url} failed: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks an installed model against its manifest by size (cheap; `--force` re-downloads). */
function isInstalled(dir: string, model: CatalogModel): boolean {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
    if (manifest.revision !== model.revision || manifest.repo !== model.repo) return false;
    return model.files.every((f) => {
      const entry = manifest.files[f.path];
      return entry !== undefined && statSync(join(dir, f.path)).size === entry.bytes;
    });
  } catch {
    return false;
  }
}

/**
 * Downloads `name` at its pinned revision into `modelsDir/<name>`.
 *
 * Files land in a staging directory `modelsDir/.partial-<name>-<revision>` first. A network
 * failure keeps the verified files there, so running the command again resumes where it stopped;
 * a checksum mismatch removes the staging directory (nothing is installed). Only when every file is
 * verified is the staging directory renamed into place, so `<name>` is never half-written.
 */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  const { name, modelsDir, force = false, signal } = options;
  const progress = options.progress ?? (() => {});
  const catalog = options.catalog ?? CATALOG;
  const model = catalog.find((m) => m.name === name);
  if (!model) {
    throw new PullError(
      `unknown model "${name}"; pinned models: ${catalog.map((m) => m.name).join(', ')}`,
    );
  }
  const baseUrl = options.baseUrl ?? DEFAULT_HUB_URL;
  const target = join(modelsDir, name);
  if (!force && isInstalled(target, model)) {
    progress(`${name} is already installed in ${target} (use --force to download it again)`);
    return { name, dir: target, status: 'already-installed', trustedOnFirstUse: [], bytes: 0 };
  }
  mkdirSync(modelsDir, { recursive: true });
  const staging = join(modelsDir, `.partial-${name}-${model.revision}`);
  const trusted = readTrusted(modelsDir);
  const files: Manifest['files'] = {};
  const firstUse: string[] = [];
  progress(`pulling ${name} from ${model.repo} at ${model.revision} (${baseUrl})`);
  for (const file of model.files) {
    const destination = join(staging, file.path);
    mkdirSync(dirname(destination), { recursive: true });
    const expected = file.sha256 ?? trusted[trustKey(model, file.path)] ?? null;
    // Resume: a file already staged by an earlier, interrupted run is kept if it verifies.
    if (expected && existsSync(destination) && (await sha256File(destination)) === expected) {
      files[file.path] = { sha256: expected, bytes: statSync(destination).size };
      progress(`  ${file.path}: already downloaded, sha256 verified`);
      continue;
    }
    const url = resolveUrl(baseUrl, model, file.path);
    let got: { sha256: string; bytes: number } | undefined;
    for (let attempt = 1; !got; attempt++) {
      try {
        got = await download(url, destination, signal);
      } catch (error) {
        const transient =
          error instanceof PullError &&
          !/HTTP 4\d\d/.test(error.message) &&
          attempt < PULL_ATTEMPTS_MAX;
        if (!transient) {
          // Keep what was verified (the next run resumes from it), drop the half-written file.
          rmSync(destination, { force: true });
          if (listFiles(staging).length === 0) rmSync(staging, { recursive: true, force: true });
          throw error;
        }
        progress(`  ${file.path}: ${error.message}; retrying (${attempt}/${PULL_ATTEMPTS_MAX})`);
      }
    }
    const mismatch =
      (file.bytes !== undefined && got.bytes !== file.bytes
        ? `size ${got.bytes} bytes, expected ${file.bytes}`
        : null) ??
      (expected && got.sha256 !== expected ? `sha256 ${got.sha256}, expected ${expected}` : null);
    if (mismatch) {
      // Bad bytes are not worth resuming from: drop the whole staging directory.
      rmSync(staging, { recursive: true, force: true });
      throw new PullError(
        `${file.path} from ${url} does not match the pin (${mismatch}); nothing was installed`,
      );
    }
    if (!expected) firstUse.push(file.path);
    files[file.path] = { sha256: got.sha256, bytes: got.bytes };
    progress(
      `  ${file.path}: ${formatBytes(got.bytes)}, sha256 ${expected ? 'verified' : `recorded (first use): ${got.sha256}`}`,
    );
  }
  const manifest: Manifest = {
    name,
    repo: model.repo,
    revision: model.revision,
    pooling: model.pooling,
    queryPrefix: model.queryPrefix,
    passagePrefix: model.passagePrefix,
    dimension: model.dimension,
    files,
    trust: firstUse.length > 0 ? 'first-use' : 'pinned',
    pulledAt: new Date().toISOString(),
  };
  writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  // Swap in: the old copy (if any) moves aside first, so the name always holds a whole model.
  const old = join(modelsDir, `.old-${name}-${Date.now()}`);
  if (existsSync(target)) renameSync(target, old);
  renameSync(staging, target);
  rmSync(old, { recursive: true, force: true });
  if (firstUse.length > 0) {
    for (const path of firstUse) trusted[trustKey(model, path)] = files[path]?.sha256 ?? '';
    writeFileSync(join(modelsDir, TRUSTED_CHECKSUMS_FILE), `${JSON.stringify(trusted, null, 2)}\n`);
  }
  const bytes = Object.values(files).reduce((n, f) => n + f.bytes, 0);
  progress(`installed ${name} in ${target} (${formatBytes(bytes)})`);
  return { name, dir: target, status: 'installed', trustedOnFirstUse: firstUse, bytes };
}
