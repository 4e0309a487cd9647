// Makes onnxruntime-node loadable inside the compiled binary. Its addon (`onnxruntime_binding.node`)
// links against `libonnxruntime.so.1` through RUNPATH=$ORIGIN, but Bun unpacks embedded addons alone
// into a temp file, so the library is not beside it (STACK.md §13). We embed the library, write it
// to a cache directory once, and dlopen it before the addon loads: the dynamic linker then resolves
// the addon's DT_NEEDED `libonnxruntime.so.1` to the already loaded copy (matched by SONAME).
import { dlopen, FFIType } from 'bun:ffi';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Resolved to a path: inside the binary a /$bunfs/… file, from source the node_modules file.
// scripts/build.ts redirects this import for other platforms (linux-x64 is what we ship).
import ortLibraryPath from '../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1' with {
  type: 'file',
};
import { isCompiled } from '../config.ts';

let prepared: string | null | undefined;

/**
 * Inside the compiled binary: writes `libonnxruntime.so.1` to
 * `$TMPDIR/answerdesk-onnxruntime-<size>/` (reused across restarts) and loads it.
 * From source it does nothing (the addon finds the library beside itself in node_modules).
 * Returns the directory used, or null when nothing was needed.
 */
export async function prepareOnnxRuntime(): Promise<string | null> {
  if (prepared !== undefined) return prepared;
  if (!isCompiled()) {
    prepared = null;
    return prepared;
  }
  const embedded = Bun.file(ortLibraryPath);
  const size = embedded.size;
  const dir = join(tmpdir(), `answerdesk-onnxruntime-${size}`);
  const target = join(dir, 'libonnxruntime.so.1');
  if (!existsSync(target) || statSync(target).size !== size) {
    mkdirSync(dir, { recursive: true });
    // Write beside, then rename: a second process starting at the same time never sees half a file.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, new Uint8Array(await embedded.arrayBuffer()), { mode: 0o755 });
    renameSync(partial, target);
  }
  // Any exported symbol will do; dlopen keeps the library loaded for the life of the process.
  dlopen(target, { OrtGetApiBase: { args: [], returns: FFIType.ptr } });
  prepared = dir;
  return prepared;
}
