// A full disk during a reply turn: the acknowledged visitor message is answered once space is
// back, exactly once, with no restart; /readyz says why meanwhile.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { fillDisk } from '../helpers/disk-full.ts';
import { visitorMessage } from '../helpers/fake-crisp.ts';
import { fakeAnswer } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());
/** Gives the space back even when a test failed half-way (the harness is shared). */
let free = () => {};
afterEach(() => free());

const replyJob = (sessionId: string) =>
  h.deps.db
    .query<{ state: string; attempts: number }, [string]>(
      "SELECT state, attempts FROM jobs WHERE kind = 'crisp.reply' AND payload LIKE '%' || ? || '%'",
    )
    .get(sessionId);

const readyz = async () => {
  const res = await fetch(`${h.base}/readyz`);
  const body = (await res.json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
  return { status: res.status, sqlite: body.checks.find((c) => c.name === 'sqlite') };
};

describe('crisp reply with a full disk', () => {
  it('should answer a message acknowledged before the disk filled, once, when space is back', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    // A visitor pasting a long order history: its rows span several pages, so the turn's
    // first write to them needs new pages, which the full disk refuses.
    const question = `How long do refunds take? My orders: ${'order 12345 shipped, '.repeat(250)}`;
    expect((await send(visitorMessage(question, { sessionId: sid }))).status).toBe(200);
    free = fillDisk(h.deps.db);

    await h.drain();
    expect(h.crisp.posted(sid, 'text')).toHaveLength(0);
    expect(['pending', 'running']).toContain(replyJob(sid)?.state ?? 'missing');
    expect(await readyz()).toMatchObject({
      status: 503,
      sqlite: { ok: false, detail: expect.stringContaining('disk full: cannot write') },
    });
    // Still full: nothing is retried into failure meanwhile.
    await h.drain();
    expect(replyJob(sid)?.state).not.toBe('failed');

    free();
    expect(await readyz()).toMatchObject({ status: 200, sqlite: { name: 'sqlite', ok: true } });
    await h.drain();
    expect(h.crisp.posted(sid, 'text')).toHaveLength(1);
    expect(replyJob(sid)?.state).toBe('done');
    expect(h.answersFor('How long do refunds take?')).toBe(1);
    await h.drain();
    expect(h.crisp.posted(sid, 'text')).toHaveLength(1);
  });

  it('should refuse a message it cannot store, so Crisp delivers it again, and say why in /readyz', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    const message = visitorMessage(`Where is my parcel? ${'tracking 987654 '.repeat(300)}`, {
      sessionId: sid,
    });
    // A probe just passed: only the refused write itself can tell /readyz (none due for 30 s).
    expect((await readyz()).status).toBe(200);
    free = fillDisk(h.deps.db);
    expect((await send(message)).status).toBeGreaterThanOrEqual(500);
    expect(await readyz()).toMatchObject({
      status: 503,
      sqlite: { ok: false, detail: expect.stringContaining('disk full: cannot write') },
    });
    free();
    // Crisp's redelivery of the same message.
    expect((await send(message)).status).toBe(200);
    await h.drain();
    expect(h.crisp.posted(sid, 'text')).toHaveLength(1);
  });

  it('should not post twice when the disk fills while the reply is on its way to Crisp', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    // A long answer: recording it as sent rewrites a row of several pages.
    h.groq.enqueue(fakeAnswer(`Refunds take five business days [1]. ${'Details. '.repeat(600)}`));
    h.crisp.script('message', {
      status: 200,
      before: () => {
        free = fillDisk(h.deps.db);
      },
    });
    await send(visitorMessage('when is my refund paid?', { sessionId: sid }));

    await h.drain();
    expect(h.crisp.posted(sid, 'text')).toHaveLength(1);
    expect(replyJob(sid)?.state).not.toBe('done');
    expect((await readyz()).status).toBe(503);

    free();
    await h.drain();
    expect(replyJob(sid)?.state).toBe('done');
    expect(h.crisp.callsTo('message', sid)).toHaveLength(1);
    expect(h.crisp.posted(sid, 'text')).toHaveLength(1);
    expect(h.answersFor('when is my refund paid?')).toBe(1);
    expect((await readyz()).status).toBe(200);
  });
});
