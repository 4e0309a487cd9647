// Sets variables in the real process environment, where native code (LanceDB) reads them.
// Bun's `process.env.X = …` does not reach libc's getenv() (docs/notes/stack.md §2), so call setenv().
import { dlopen, FFIType } from 'bun:ffi';

type Setenv = (name: Uint8Array, value: Uint8Array, overwrite: number) => number;
let setenvFn: Setenv | undefined;

function libcSetenv() {
  if (!setenvFn) {
    const lib = dlopen(process.platform === 'darwin' ? 'libc.dylib' : 'libc.so.6', {
      setenv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    });
    setenvFn = lib.symbols.setenv as unknown as Setenv;
  }
  return setenvFn;
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

/** Sets `name` for native code unless the environment already has it. */
export function setNativeEnvDefault(name: string, value: string): void {
  const current = Bun.env[name];
  try {
    libcSetenv()(cstr(name), cstr(current ?? value), 1);
  } catch {
    // Not glibc (e.g. musl without libc.so.6): the operator sets the variable themselves.
  }
  if (current === undefined) process.env[name] = value;
}

/** The native-environment defaults LanceDB needs; call before LanceDB is first imported. */
export function prepareNativeEnv(): void {
  // LanceDB's FTS index build deadlocks on ≤ 3 cores without this (docs/notes/stack.md §1).
  setNativeEnvDefault('LANCE_CPU_THREADS', Bun.env.LANCE_CPU_THREADS ?? '2');
  // Silences a per-query deprecation warning that LanceDB writes to stderr.
  setNativeEnvDefault('LANCEDB_LOG', 'error');
}
