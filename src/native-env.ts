// Sets variables in the real process environment, where native code (LanceDB) reads them.
// Bun's `process.env.X = …` does not reach libc's getenv() (docs/notes/stack.md §2), so call setenv().
import { dlopen, FFIType } from 'bun:ffi';

type Setenv = (name: Uint8Array, value: Uint8Array, overwrite: number) => number;
type Mallopt = (param: number, value: number) => number;
type MallocTrim = (pad: number) => number;
let libc: { setenv: Setenv; mallopt: Mallopt | null; mallocTrim: MallocTrim | null } | undefined;

function openLibc() {
  if (!libc) {
    const name = process.platform === 'darwin' ? 'libc.dylib' : 'libc.so.6';
    const lib = dlopen(name, {
      setenv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    });
    let mallopt: Mallopt | null = null;
    let mallocTrim: MallocTrim | null = null;
    try {
      const glibc = dlopen(name, {
        mallopt: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        malloc_trim: { args: [FFIType.u64], returns: FFIType.i32 },
      }).symbols;
      mallopt = glibc.mallopt as unknown as Mallopt;
      mallocTrim = glibc.malloc_trim as unknown as MallocTrim;
    } catch {
      // Not glibc: nothing to tune.
    }
    libc = { setenv: lib.symbols.setenv as unknown as Setenv, mallopt, mallocTrim };
  }
  return libc;
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

/** Sets `name` for native code unless the environment already has it. */
export function setNativeEnvDefault(name: string, value: string): void {
  const current = Bun.env[name];
  try {
    openLibc().setenv(cstr(name), cstr(current ?? value), 1);
  } catch {
    // Not glibc (e.g. musl without libc.so.6): the operator sets the variable themselves.
  }
  if (current === undefined) process.env[name] = value;
}

/** mallopt(3) parameters (glibc). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;
const MIB = 1_048_576;

function mallopt(param: number, value: number): void {
  try {
    openLibc().mallopt?.(param, value);
  } catch {
    // Not glibc: its own defaults stay.
  }
}

/** Gives the native allocator's free pages back to the system (glibc malloc_trim(3)). */
export function trimNativeMemory(): void {
  try {
    openLibc().mallocTrim?.(0);
  } catch {
    // Not glibc.
  }
}

let boundedRuns = 0;

/**
 * Runs `work` (a LanceDB index build or compaction) with native buffers of 4 MiB and more mapped
 * and unmapped on free, then gives freed memory back. By default glibc raises that threshold as
 * big buffers are freed and keeps them: a 100k-chunk vector index build then peaked ~300 MiB
 * higher (docs/notes/knowledge.md). Only around this work: ingest and searches allocate such
 * buffers too and ran 2–4× slower with the low threshold on all the time.
 */
export async function withBoundedNativeMemory<T>(work: () => Promise<T>): Promise<T> {
  if (boundedRuns++ === 0) mallopt(M_MMAP_THRESHOLD, 4 * MIB);
  try {
    return await work();
  } finally {
    if (--boundedRuns === 0) {
      // Fixed now (setting it stops glibc moving it): at glibc's own ceiling for the moving
      // threshold, where a long-running process ends up anyway, and trimming at twice that.
      mallopt(M_MMAP_THRESHOLD, 32 * MIB);
      mallopt(M_TRIM_THRESHOLD, 64 * MIB);
      trimNativeMemory();
    }
  }
}

/** The native-environment defaults LanceDB needs; call before LanceDB is first imported. */
export function prepareNativeEnv(): void {
  // Two malloc arenas for LanceDB's threads instead of one each: every arena kept its own
  // high-water mark (−150 to −250 MiB at the peak of a 100k-chunk bulk load, no slower).
  mallopt(M_ARENA_MAX, 2);
  // LanceDB's FTS index build deadlocks on ≤ 3 cores without this (docs/notes/stack.md §1).
  setNativeEnvDefault('LANCE_CPU_THREADS', Bun.env.LANCE_CPU_THREADS ?? '2');
  // LanceDB's other shuffler (vectors into partitions, for the vector index build): IVF_FLAT over
  // 100k × 384 dims took +340–410 MiB of RSS with the default one and +120 MiB with this one, no
  // slower; both spill ~150 MB to TMPDIR meanwhile (docs/notes/knowledge.md "Writer memory").
  setNativeEnvDefault('LANCE_LEGACY_SHUFFLER', '1');
  // Silences a per-query deprecation warning that LanceDB writes to stderr.
  setNativeEnvDefault('LANCEDB_LOG', 'error');
}
