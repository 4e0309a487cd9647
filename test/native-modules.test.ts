// The binary's native-module unpacking: one trusted copy per content, written atomically.
import { afterAll, describe, expect, it } from 'bun:test';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unpackEmbedded } from '../src/native-modules.ts';
import { tempDir } from './helpers/app.ts';

const t = tempDir('answerdesk-native-');
afterAll(() => t.cleanup());

describe('native modules (unpack)', () => {
  it('should copy an embedded file once and reuse the copy', async () => {
    const source = join(t.dir, 'lib-abc123.node');
    writeFileSync(source, 'binary-content');
    const out = join(t.dir, 'out');
    mkdirSync(out);
    const first = await unpackEmbedded(source, out);
    expect(first).toBe(join(out, 'answerdesk-lib-abc123.node'));
    expect(await Bun.file(first).text()).toBe('binary-content');
    expect(statSync(first).mode & 0o777).toBe(0o755);
    const mtime = statSync(first).mtimeMs;
    expect(await unpackEmbedded(source, out)).toBe(first);
    expect(statSync(first).mtimeMs).toBe(mtime);
    // No partial files left behind.
    expect(readdirSync(out)).toEqual(['answerdesk-lib-abc123.node']);
  });

  it('should replace a copy that others can write or that has the wrong size', async () => {
    const source = join(t.dir, 'lib-def456.node');
    writeFileSync(source, 'genuine');
    const target = await unpackEmbedded(source, t.dir);
    writeFileSync(target, 'tampere');
    chmodSync(target, 0o777);
    await unpackEmbedded(source, t.dir);
    expect(await Bun.file(target).text()).toBe('genuine');
    writeFileSync(target, 'short');
    chmodSync(target, 0o755);
    await unpackEmbedded(source, t.dir);
    expect(await Bun.file(target).text()).toBe('genuine');
  });
});
