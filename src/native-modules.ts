// Native modules of the compiled binary: unpacked once into $TMPDIR by us and loaded from there.
// Left to Bun, the embedded LanceDB module (~200 MB) is read in full at every start to find its
// extracted copy, which costs start-up time and leaves ~200 MiB of pages in the resident set.
import { chmodSync, existsSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

// Not config.ts's isCompiled: this module runs first at start and stays free of other imports.
const isCompiled = () => import.meta.path.includes('$bunfs');

/**
 * Copies an embedded file to `$TMPDIR/answerdesk-<name-with-content-hash>` unless an identical
 * copy of ours is already there, and returns its path. The copy is written under a temporary
 * name and renamed, so concurrent starts never load a half-written file.
 */
export async function unpackEmbedded(embeddedPath: string, dir = tmpdir()): Promise<string> {
  // Bun names embedded files `<name>-<content hash>.<ext>`: the name changes with the content.
  const target = join(dir, `answerdesk-${basename(embeddedPath)}`);
  const size = statSync(embeddedPath).size;
  if (existsSync(target)) {
    const st = statSync(target);
    // Only a copy we own and nobody else can write is trusted (TMPDIR may be shared).
    const ours = st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
    if (ours && st.size === size) return target;
  }
  const partial = `${target}.${process.pid}.partial`;
  // Bun.write, not copyFile: the embedded file lives in Bun's virtual /$bunfs.
  await Bun.write(partial, Bun.file(embeddedPath));
  chmodSync(partial, 0o755);
  renameSync(partial, target);
  return target;
}

/**
 * In the compiled binary, unpacks LanceDB's native module and points its loader at the copy
 * (napi-rs reads NAPI_RS_NATIVE_LIBRARY_PATH from process.env). Call before LanceDB is imported.
 * TMPDIR must be writable and allow exec (README, "Temporary directory").
 */
export async function prepareNativeModules(): Promise<void> {
  if (!isCompiled() || process.env.NAPI_RS_NATIVE_LIBRARY_PATH) return;
  const { lancedbNode } = await import('./native-assets.ts');
  process.env.NAPI_RS_NATIVE_LIBRARY_PATH = await unpackEmbedded(lancedbNode);
}
