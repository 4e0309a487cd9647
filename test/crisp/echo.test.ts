// Our own posts coming back, and operators typing: each signal is recognised on its own, not only
// when every clue (fingerprint, content, `automated`, nickname) happens to agree.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import {
  nextFingerprint,
  operatorMessage,
  operatorTyping,
  visitorMessage,
} from '../helpers/fake-crisp.ts';
import { fakeAnswer } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

/** Nothing in these echoes but the one clue under test: another nickname, no `automated`. */
const HUMAN_LOOKING = { nickname: 'Jane Operator' };

const botState = async (botId: string, sid: string) =>
  (await (await h.admin(`/api/v1/chatbots/${botId}/conversations/${sid}`)).json()).bot.state;

describe('own echoes', () => {
  it('should recognise our post by its fingerprint alone (other nickname, other content, not automated)', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Refunds take five days.'));
    await send(visitorMessage('How long do refunds take?', { sessionId: sid }));
    await h.drain();
    const ours = h.crisp.posted(sid, 'text')[0]!;
    // Crisp may hand the message back edited or re-rendered: only the fingerprint is ours.
    const echo = operatorMessage('Refunds take 5 days (edited).', {
      sessionId: sid,
      fingerprint: ours.fingerprint,
      ...HUMAN_LOOKING,
    });
    expect(echo.data).not.toHaveProperty('automated');
    expect(await (await send(echo)).json()).toEqual({ ok: true, action: 'own_echo' });
    expect(await botState(bot.id, sid)).toBe('bot');
  });

  it('should recognise our post still in flight by its content alone (unknown fingerprint)', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    const reply = 'Our shop opens at nine.';
    h.groq.enqueue(fakeAnswer(reply));
    let echoAction: unknown;
    // The echo arrives while our POST is on the wire, before Crisp told us the fingerprint.
    h.crisp.script('message', {
      status: 200,
      before: async () => {
        const echo = operatorMessage(reply, {
          sessionId: sid,
          fingerprint: nextFingerprint(),
          ...HUMAN_LOOKING,
        });
        echoAction = await (await send(echo)).json();
      },
    });
    await send(visitorMessage('When do you open?', { sessionId: sid }));
    await h.drain();
    expect(echoAction).toEqual({ ok: true, action: 'own_echo' });
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual([reply]);
    expect(await botState(bot.id, sid)).toBe('bot');
  });

  it('should take the same kind of message from a human operator as a human reply (control)', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    await send(visitorMessage('Hello?', { sessionId: sid }));
    await h.drain();
    const human = operatorMessage('Hi, Jane here, I will help you.', {
      sessionId: sid,
      fingerprint: nextFingerprint(),
      ...HUMAN_LOOKING,
    });
    expect(await (await send(human)).json()).toEqual({ ok: true, action: 'muted' });
    expect(await botState(bot.id, sid)).toBe('human');
  });
});

describe('operator typing', () => {
  it('should hold replies still waiting in the burst window while an operator types, and answer them together after the grace', async () => {
    const { send } = await h.connectedBot({ handoff: { typingGraceSeconds: 60 } });
    const sid = newSession();
    const asked = 'Can I change my delivery address?';
    try {
      await send(visitorMessage(asked, { sessionId: sid }));
      await send(visitorMessage('It is urgent', { sessionId: sid }));
      // Both wait for the burst window: nothing is running yet, so only holding them helps.
      expect(h.jobs().filter((j) => j.state === 'pending').length).toBeGreaterThan(0);
      const typing = await send(operatorTyping({ sessionId: sid }));
      expect(await typing.json()).toEqual({ ok: true, action: 'aborted' });
      // Their burst window passes while the operator types: nothing is said, nothing asked.
      await h.settle(2_100);
      expect(h.crisp.posted(sid).length).toBe(0);
      expect(h.crisp.callsTo('compose', sid).length).toBe(0);
      expect(h.answersFor(asked)).toBe(0);
      // The operator sent nothing: after the grace both are answered, once, together.
      await h.settle(60_000);
      expect(h.crisp.posted(sid, 'text').length).toBe(1);
      expect(h.answersFor(`${asked}\nIt is urgent`)).toBe(1);
    } finally {
      h.t.clock.unpin();
    }
  });
});
