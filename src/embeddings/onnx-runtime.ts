// Makes onnxruntime-node loadable inside the compiled binary. Its addon (`onnxruntime_binding.node`)
// links against `libonnxruntime.so.1` through RUNPATH=$ORIGIN, but Bun unpacks embedded addons alone
// into a temp file, so the library is not beside it (docs/notes/stack.md §11). We embed the library, unpack it
// once (unpackEmbedded: a trusted copy per content), and dlopen it before the addon loads: the
// dynamic linker then resolves the addon's DT_NEEDED `libonnxruntime.so.1` to the already loaded
// copy (matched by SONAME, not by file name).
import { dlopen, FFIType } from 'bun:ffi';
// Resolved to a path: inside the binary a /$bunfs/… file, from source the node_modules file.
// scripts/build.ts redirects this import for other platforms (linux-x64 is what we ship).
import ortLibraryPath from '../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1' with {
  type: 'file',
};
import { isCompiled } from '../config.ts';
import { unpackEmbedded } from '../native-modules.ts';

let prepared: string | null | undefined;

/**
 * Inside the compiled binary: unpacks `libonnxruntime.so.1` to `$TMPDIR/answerdesk-<embedded
 * name>` (reused across restarts only when it is ours and unaltered) and loads it.
 * From source it does nothing (the addon finds the library beside itself in node_modules).
 * Returns the path of the loaded copy, or null when nothing was needed.
 */
export async function prepareOnnxRuntime(): Promise<string | null> {
  if (prepared !== undefined) return prepared;
  if (!isCompiled()) {
    prepared = null;
    return prepared;
  }
  const target = await unpackEmbedded(ortLibraryPath);
  // Any exported symbol will do; dlopen keeps the library loaded for the life of the process.
  dlopen(target, { OrtGetApiBase: { args: [], returns: FFIType.ptr } });
  prepared = target;
  return prepared;
}
