// A visitor message of ~1 MB through the webhook: the LLM sees the playground's bound of it, the
// conversation history keeps it whole (D15).
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { MESSAGE_CHARS_MAX } from '../../src/answers/model.ts';
import { visitorMessage } from '../helpers/fake-crisp.ts';
import { fakeAnswer } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

describe('crisp visitor message length', () => {
  it('should give the LLM at most 8,000 characters of a 1 MB message and keep it whole in the history', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    const head = 'Please read all of this: ';
    const text = `${head}${'x'.repeat(1_000_000)} END-OF-MESSAGE`;
    h.groq.enqueue(fakeAnswer('Thanks, noted.'));
    const res = await send(visitorMessage(text, { sessionId: sid }));
    expect(await res.json()).toEqual({ ok: true, action: 'queued' });
    await h.drain();
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual(['Thanks, noted.']);

    const calls = h.groq.requests.filter((r) =>
      r.body.messages.some((m) => m.content.includes(head)),
    );
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      const longest = Math.max(
        ...call.body.messages.map(
          (m) => m.content.match(/x+/g)?.reduce((a, b) => Math.max(a, b.length), 0) ?? 0,
        ),
      );
      expect(longest).toBeLessThanOrEqual(MESSAGE_CHARS_MAX);
      expect(JSON.stringify(call.body).length).toBeLessThan(MESSAGE_CHARS_MAX + 20_000);
      expect(call.body.messages.some((m) => m.content.includes('END-OF-MESSAGE'))).toBe(false);
    }
    const answer = calls.find((c) => c.kind === 'answer')!;
    expect(
      answer.body.messages.some((m) =>
        m.content.includes('x'.repeat(MESSAGE_CHARS_MAX - head.length)),
      ),
    ).toBe(true);

    const conv = await (await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${sid}`)).json();
    const visitor = conv.messages.find((m: { role: string }) => m.role === 'visitor');
    expect(visitor.content).toBe(text);
  }, 30_000);
});
