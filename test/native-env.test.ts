import { CString, dlopen, FFIType } from 'bun:ffi';
import { describe, expect, it } from 'bun:test';
import { prepareNativeEnv } from '../src/native-env.ts';

/** The variable as native code (LanceDB) reads it: libc's getenv(), not Bun.env. */
function nativeGetenv(name: string): string | null {
  const { symbols } = dlopen('libc.so.6', {
    getenv: { args: [FFIType.cstring], returns: FFIType.ptr },
  });
  const ptr = symbols.getenv(Buffer.from(`${name}\0`));
  return ptr ? new CString(ptr).toString() : null;
}

describe('prepareNativeEnv', () => {
  it('should give LanceDB the shuffler that keeps the vector index build in bounded memory', () => {
    prepareNativeEnv();
    expect(nativeGetenv('LANCE_LEGACY_SHUFFLER')).toBe('1');
    expect(nativeGetenv('LANCE_CPU_THREADS')).not.toBeNull();
  });
});
