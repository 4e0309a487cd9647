// Handoff and "never talk over a human", end to end through the real HTTP server.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { findConversationByExternalId, mute } from '../../src/conversations/service.ts';
import {
  operatorMessage,
  operatorTyping,
  setRouting,
  setState,
  visitorMessage,
} from '../helpers/fake-crisp.ts';
import { fakeAnswer, fakeHandoff } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const conversation = async (botId: string, sid: string) =>
  (await h.admin(`/api/v1/chatbots/${botId}/conversations/${sid}`)).json();

describe('crisp handoff', () => {
  it('should mute the bot when a human operator replies, and record the reply in history', async () => {
    const { bot, send } = await h.connectedBot({ handoff: { muteHours: 3 } });
    const sid = newSession();
    const res = await send(operatorMessage('Hi, Jane from support here', { sessionId: sid }));
    expect(await res.json()).toEqual({ ok: true, action: 'muted' });
    await send(visitorMessage('Thanks Jane', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid).length).toBe(0);
    const conv = await conversation(bot.id, sid);
    expect(conv.bot.state).toBe('human');
    const until = Date.parse(conv.bot.until);
    expect(until - Date.now()).toBeGreaterThan(2.9 * 3600_000);
    expect(until - Date.now()).toBeLessThan(3.1 * 3600_000);
    expect(conv.messages.map((m: { role: string }) => m.role)).toEqual(['operator', 'visitor']);
  });

  it('should hand off: handoff text, conversation unresolved, private note, then mute', async () => {
    const { bot, send } = await h.connectedBot({
      handoff: { message: 'A teammate will take it from here.' },
    });
    const sid = newSession();
    // Not an explicit request the pre-check catches: the model decides the handoff here.
    h.groq.enqueue(fakeHandoff('asked_for_human'));
    await send(visitorMessage('Could a person look at my order instead?', { sessionId: sid }));
    await h.drain();
    const calls = h.crisp.calls
      .filter((c) => c.sessionId === sid)
      .map(
        (c) =>
          `${c.route}:${(c.body as { type?: string; state?: string }).type ?? (c.body as { state?: string }).state}`,
      );
    expect(calls).toEqual([
      'compose:start',
      'message:text',
      'state:unresolved',
      'message:note',
      'compose:stop',
    ]);
    expect(h.crisp.posted(sid, 'text')[0]!.content).toBe('A teammate will take it from here.');
    const note = String(h.crisp.posted(sid, 'note')[0]!.content);
    expect(note).toContain('Could a person look at my order instead?');
    expect(note).toContain('the visitor asked for a person');
    const conv = await conversation(bot.id, sid);
    expect(conv.bot.state).toBe('human');
    // Muted: the next message is not answered (no loop back into a handoff).
    await send(visitorMessage('Hello?', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });

  it('should hand off on an explicit request for a person without calling the LLM', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    const before = h.groq.requests.length;
    await send(visitorMessage('I want to talk to a human agent please', { sessionId: sid }));
    await h.drain();
    expect(h.groq.requests.length).toBe(before);
    const routes = h.crisp.calls
      .filter((c) => c.sessionId === sid && c.route !== 'compose')
      .map(
        (c) =>
          `${c.route}:${(c.body as { type?: string; state?: string }).type ?? (c.body as { state?: string }).state}`,
      );
    expect(routes).toEqual(['message:text', 'state:unresolved', 'message:note']);
    expect(String(h.crisp.posted(sid, 'note')[0]!.content)).toContain(
      'the visitor asked for a person',
    );
  });

  it('should hand off with the fallback text when Groq fails (500)', async () => {
    const { send } = await h.connectedBot({
      handoff: { fallbackMessage: 'Sorry, a human will reply.' },
    });
    const sid = newSession();
    h.groq.setDefault(() => ({ status: 500 }));
    try {
      await send(visitorMessage('What are your opening hours?', { sessionId: sid }));
      await h.drain();
    } finally {
      h.groq.setDefault((req) =>
        req.kind === 'condense' ? { text: '{"query":"q","lexicalQuery":"q"}' } : fakeAnswer('OK'),
      );
    }
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual([
      'Sorry, a human will reply.',
    ]);
    expect(String(h.crisp.posted(sid, 'note')[0]!.content)).toContain('answering failed');
    expect(h.crisp.callsTo('state', sid).length).toBe(1);
  });

  it('should abort a reply being written when an operator starts typing, and post nothing', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    // The answer streams slowly; the operator starts typing once it is under way.
    h.groq.enqueue(
      fakeAnswer('This is a long and slow answer that will never be posted.', {
        tokensPerSecond: 5,
      }),
    );
    await send(visitorMessage('Tell me everything', { sessionId: sid }));
    const drained = h.drain();
    const deadline = Date.now() + 10_000;
    while (
      h.groq
        .requestsOf('answer')
        .filter((r) => r.body.messages.some((m) => m.content.includes('Tell me everything')))
        .length === 0
    ) {
      if (Date.now() > deadline) throw new Error('the answer never started');
      await new Promise((r) => setTimeout(r, 5)); // polling for an observable condition
    }
    const res = await send(operatorTyping({ sessionId: sid }));
    expect(await res.json()).toEqual({ ok: true, action: 'aborted' });
    await drained;
    expect(h.crisp.posted(sid).length).toBe(0);
    const stops = h.crisp.callsTo('compose', sid).map((c) => (c.body as { type: string }).type);
    expect(stops).toEqual(['start', 'stop']);
    const job = h.jobs().at(-1)!;
    expect(job.state).toBe('cancelled');
  });

  it('should mute when the conversation is routed to a human', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    expect(
      await (
        await send(setRouting('012d1926-8753-4af6-9957-4853bb6fa294', { sessionId: sid }))
      ).json(),
    ).toEqual({
      ok: true,
      action: 'muted',
    });
    expect(await (await send(setRouting(null, { sessionId: sid }))).json()).toEqual({
      ok: true,
      action: 'ignored',
    });
    await send(visitorMessage('Hi', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid).length).toBe(0);
    expect((await conversation(bot.id, sid)).bot.state).toBe('human');
  });

  it('should drop a reply when a human replied while it was being written', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Too late.'));
    // The operator's message arrives while the turn is under way (during its compose start).
    h.crisp.script('compose', {
      status: 200,
      before: async () => {
        const human = await send(operatorMessage('I got this one', { sessionId: sid }));
        expect(await human.json()).toEqual({ ok: true, action: 'muted' });
      },
    });
    await send(visitorMessage('Question', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid).length).toBe(0);
  });

  it('should re-check the mute right before posting (a mute that aborted nothing)', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Not after a human took over.'));
    // Muted behind the worker's back (e.g. by another process) after the turn's own mute check:
    // no abort signal fires, the answer is written, only the check before the post stops it.
    h.crisp.script('compose', {
      status: 200,
      before: () => {
        const conv = findConversationByExternalId(h.deps.db, bot.id, 'crisp', sid)!;
        mute(h.deps.db, conv.id, null, new Date());
      },
    });
    await send(visitorMessage('Late question', { sessionId: sid }));
    await h.drain();
    expect(h.answersFor('Late question')).toBe(1);
    expect(h.crisp.posted(sid).length).toBe(0);
    const turn = h.deps.db
      .query('SELECT outcome FROM crisp_turns ORDER BY job_id DESC LIMIT 1')
      .get();
    expect(turn).toEqual({ outcome: 'dropped_human_active' });
  });

  it('should not post over an operator who replied while an uncertain post was reconciled', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    // The first POST fails ambiguously (nothing stored); the retry reads the conversation back,
    // and the operator replies while that read is on the wire.
    h.crisp.script('message', { status: 500 });
    h.crisp.script('messages', {
      status: 200,
      before: async () => {
        await send(operatorMessage('Let me take this', { sessionId: sid }));
      },
    });
    await send(visitorMessage('Reconcile me', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.callsTo('messages', sid).length).toBe(1);
    expect(h.crisp.callsTo('message', sid).length).toBe(1);
    expect(h.crisp.posted(sid).length).toBe(0);
    const turn = h.deps.db
      .query('SELECT outcome FROM crisp_turns ORDER BY job_id DESC LIMIT 1')
      .get();
    expect(turn).toEqual({ outcome: 'dropped_human_active' });
  });

  it('should stop a running turn and post nothing when its chatbot is deleted', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Posted by a deleted chatbot.'));
    h.crisp.script('compose', {
      status: 200,
      before: async () => {
        const res = await h.admin(`/api/v1/chatbots/${bot.id}`, { method: 'DELETE' });
        expect(res.status).toBe(204);
      },
    });
    await send(visitorMessage('Anyone there?', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid).length).toBe(0);
    expect(
      h.deps.db.query('SELECT 1 FROM crisp_connections WHERE chatbot_id = ?').get(bot.id),
    ).toBeNull();
  });

  it('should stop a running turn and post nothing when Crisp is disconnected', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Posted after a disconnect.'));
    h.crisp.script('compose', {
      status: 200,
      before: async () => {
        const res = await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`, {
          method: 'DELETE',
        });
        expect(res.status).toBe(204);
      },
    });
    const llmCalls = h.groq.requests.length;
    await send(visitorMessage('Still there?', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid).length).toBe(0);
    // Aborted by the disconnect itself: no LLM call after it, not merely a post found no connection.
    expect(h.groq.requests.length).toBe(llmCalls);
    expect(h.jobs().at(-1)).toMatchObject({
      state: 'cancelled',
      last_error: 'crisp was disconnected',
    });
  });

  it('should post the quota text once per conversation, without calling the LLM', async () => {
    const { bot, send } = await h.connectedBot({
      quota: { dailyMessages: 0 },
      handoff: { quotaMessage: 'Out of answers today.' },
    });
    const sid = newSession();
    const before = h.groq.requests.length;
    await send(visitorMessage('First', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual(['Out of answers today.']);
    expect(h.crisp.posted(sid, 'note').length).toBe(1);
    expect(h.groq.requests.length).toBe(before);
    // Resolved, then asked again: no second quota text (the note still tells the agents).
    await send(setState('resolved', { sessionId: sid }));
    await send(visitorMessage('Second', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    expect(h.crisp.posted(sid, 'note').length).toBe(2);
    const usage = await (await h.admin(`/api/v1/chatbots/${bot.id}/usage`)).json();
    expect(usage.day.used).toBe(0);
  });

  it('should pause and resume a conversation from the admin API', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    await send(visitorMessage('One', { sessionId: sid }));
    await h.drain();
    const paused = await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${sid}/pause`, {
      method: 'POST',
    });
    expect(paused.status).toBe(200);
    expect((await paused.json()).bot).toEqual({ state: 'human', until: null });
    // An operator message does not shorten an open-ended pause.
    await send(operatorMessage('hi', { sessionId: sid }));
    expect((await conversation(bot.id, sid)).bot).toEqual({ state: 'human', until: null });
    await send(visitorMessage('Two', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    const resumed = await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${sid}/resume`, {
      method: 'POST',
    });
    expect((await resumed.json()).bot).toEqual({ state: 'bot', until: null });
    await send(visitorMessage('Three', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(2);
    const list = await (await h.admin(`/api/v1/chatbots/${bot.id}/conversations`)).json();
    expect(list.items.map((c: { sessionId: string }) => c.sessionId)).toContain(sid);
  });
});
