// Builds the single executable: `bun run build` → dist/answerdesk (`--outfile PATH` to build elsewhere).
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { BunPlugin } from 'bun';
// Embeddings: transformers.js + onnxruntime-node need two source patches and a sharp stub to
// bundle (docs/notes/stack.md §11); see src/embeddings/bundle-plugin.ts.
import { onnxBundlePlugin, SHARP_STUB } from '../src/embeddings/bundle-plugin.ts';
// pdf.js page lookups made linear in flat page trees (src/ingest/pdfjs-patch.ts).
import { pdfjsPagePlugin } from '../src/ingest/pdfjs-patch.ts';

const root = resolve(import.meta.dir, '..');

// ─── Extension points: features add their entries here ────────────────────────────────────────
/**
 * Modules replaced by a stub inside the binary: `specifier → module source`. For packages that
 * are imported but never used at run time and do not bundle (e.g. transformers.js pulls in
 * `sharp` for image models only).
 */
export const STUBS: Record<string, string> = {
  // transformers.js imports sharp for image pipelines only (embeddings never call it).
  sharp: SHARP_STUB,
  // LanceDB's module is embedded as a plain file and loaded from an unpacked copy through
  // NAPI_RS_NATIVE_LIBRARY_PATH (src/native-modules.ts); this keeps Bun from embedding it twice.
  '@lancedb/lancedb-linux-x64-gnu':
    "throw new Error('LanceDB loads through NAPI_RS_NATIVE_LIBRARY_PATH (src/native-modules.ts)');",
};

/** Specifiers left out of the bundle (resolved at run time; avoid: the binary has no node_modules). */
export const EXTERNALS: string[] = [];

/**
 * Files embedded in the binary under their path relative to the repo (`--asset`), readable at
 * run time with `Bun.file()`/`node:fs` relative to `import.meta.dir` (e.g. a shared library a
 * native module loads from disk).
 */
export const ASSETS: string[] = [];

/**
 * Worker-thread modules (`new Worker(...)`): each is an entry point of its own in the binary,
 * found there relative to src/ (see src/storage/sqlite/checkpointer.ts).
 */
export const WORKERS: string[] = ['src/storage/sqlite/checkpoint-worker.ts'];
// ───────────────────────────────────────────────────────────────────────────────────────────────

const stubPlugin: BunPlugin = {
  name: 'answerdesk-stubs',
  setup(build) {
    const names = Object.keys(STUBS);
    if (names.length === 0) return;
    const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    build.onResolve({ filter: new RegExp(`^(${escaped.join('|')})$`) }, (args) => ({
      path: args.path,
      namespace: 'answerdesk-stub',
    }));
    build.onLoad({ filter: /.*/, namespace: 'answerdesk-stub' }, (args) => ({
      contents: STUBS[args.path] ?? 'export {};',
      loader: 'js',
    }));
  },
};

/** Builds the executable at `outfile`; returns its size and how long the build took. */
export async function buildBinary(outfile: string): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await Bun.build({
    entrypoints: [resolve(root, 'src/index.ts'), ...WORKERS.map((w) => resolve(root, w))],
    target: 'bun',
    // ESM keeps the entry's top-level await (native env first, then the app: docs/notes/stack.md §2).
    format: 'esm',
    // Bytecode skips parsing at start (measured: faster cold start, see README).
    bytecode: true,
    // keepNames: error classes and pino/Elysia code read constructor names (docs/notes/stack.md §6).
    minify: { whitespace: true, syntax: true, identifiers: true, keepNames: true },
    sourcemap: 'none',
    external: EXTERNALS,
    plugins: [stubPlugin, onnxBundlePlugin, pdfjsPagePlugin],
    compile: {
      outfile,
      assets: ASSETS.map((a) => resolve(root, a)),
      // The binary reads configuration from the environment (and a .env file in its working
      // directory, like `bun run`), never a bunfig.toml or tsconfig.json that happens to be there.
      autoloadDotenv: true,
      autoloadBunfig: false,
      autoloadTsconfig: false,
      autoloadPackageJson: false,
    },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error('build failed');
  }
  return { bytes: statSync(outfile).size, ms: performance.now() - started };
}

if (import.meta.main) {
  const at = process.argv.indexOf('--outfile');
  const outfile = resolve(at > 0 ? (process.argv[at + 1] ?? '') : resolve(root, 'dist/answerdesk'));
  const { bytes, ms } = await buildBinary(outfile);
  console.log(
    `built ${outfile}: ${(bytes / 1_048_576).toFixed(1)} MiB in ${(ms / 1000).toFixed(1)} s`,
  );
}
