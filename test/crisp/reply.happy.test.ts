// End to end through the real HTTP server: webhook → durable job → answer → one post in Crisp.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { VERSION } from '../../src/version.ts';
import { operatorMessage, SESSION_ID, setState, visitorMessage } from '../helpers/fake-crisp.ts';
import { fakeAnswer } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, PLUGIN_TOKEN, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

describe('crisp reply (happy)', () => {
  it('should answer a visitor message once, as the bot operator, with typing around it', async () => {
    const { bot, send } = await h.connectedBot({
      persona: { nickname: 'Ada', avatar: 'https://example.com/ada.png' },
    });
    h.groq.enqueue(fakeAnswer('Refunds take 5 days.'));
    const res = await send(visitorMessage('How long do refunds take?'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, action: 'queued' });
    // Acknowledged before any answer work: nothing reached Groq or Crisp yet.
    expect(h.groq.requests.length).toBe(0);
    expect(h.crisp.callsTo('message').length).toBe(0);

    await h.drain();
    const posted = h.crisp.posted(SESSION_ID, 'text');
    expect(posted.length).toBe(1);
    expect(posted[0]!.content).toBe('Refunds take 5 days.');
    const call = h.crisp.callsTo('message', SESSION_ID)[0]!;
    expect(call.body).toEqual({
      type: 'text',
      from: 'operator',
      origin: 'chat',
      content: 'Refunds take 5 days.',
      automated: true,
      user: { nickname: 'Ada', avatar: 'https://example.com/ada.png' },
    });
    expect(call.tier).toBe('plugin');
    expect(call.authorized).toBe(true);
    expect(call.userAgent).toBe(`answerdesk/${VERSION}`);
    // Two Crisp calls per answer: the message itself takes the typing indicator away.
    const calls = h.crisp.calls.filter((c) => c.sessionId === SESSION_ID);
    expect(calls.map((c) => `${c.route}:${(c.body as { type?: string })?.type ?? ''}`)).toEqual([
      'compose:start',
      'message:text',
    ]);
    expect(calls[0]!.body).toEqual({ type: 'start', from: 'operator', automated: true });
    expect(calls.every((c) => c.userAgent === `answerdesk/${VERSION}`)).toBe(true);

    // The conversation shows the visitor message and the bot reply with its fingerprint.
    const conv = await (
      await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${SESSION_ID}`)
    ).json();
    expect(conv.bot).toEqual({ state: 'bot', until: null });
    expect(conv.messages.map((m: { role: string }) => m.role)).toEqual(['visitor', 'bot']);
    expect(conv.messages[1].fingerprint).toBe(String(posted[0]!.fingerprint));
    expect(conv.messages[1].provenance).not.toBeNull();
  });

  it('should not answer our own reply coming back as message:received', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    await send(visitorMessage('Hi there', { sessionId: sid }));
    await h.drain();
    const ours = h.crisp.posted(sid, 'text')[0]!;
    const echo = operatorMessage(String(ours.content), {
      sessionId: sid,
      fingerprint: ours.fingerprint,
      nickname: bot.persona.nickname,
    });
    const res = await send(echo);
    expect(await res.json()).toEqual({ ok: true, action: 'own_echo' });
    const conv = await (await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${sid}`)).json();
    expect(conv.bot.state).toBe('bot');
  });

  it('should answer a burst of visitor messages once, as a whole', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    for (const text of ['Hello', 'I have a question', 'about refunds']) {
      expect((await send(visitorMessage(text, { sessionId: sid }))).status).toBe(200);
    }
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    const answerCalls = h.groq
      .requestsOf('answer')
      .filter((r) => r.body.messages.some((m) => m.content.includes('about refunds')));
    expect(answerCalls.length).toBe(1);
    const prompt = answerCalls[0]!.body.messages.map((m) => m.content).join('\n');
    expect(prompt).toContain('Hello\nI have a question\nabout refunds');
  });

  it('should answer with a website token using the website tier', async () => {
    const bot = await h.createChatbot();
    const { key } = await h.connect(bot.id, {
      tokenIdentifier: 'c0ffee00-website-identifier-02',
      tokenKey: 'website-token-key-0123456789abcdef0123456789',
      tier: 'website',
    });
    const sid = newSession();
    await h.webhook(bot.id, visitorMessage('Hi', { sessionId: sid }), { key });
    await h.drain();
    expect(h.crisp.callsTo('message', sid)[0]!.tier).toBe('website');
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    expect(PLUGIN_TOKEN.tier).toBe('plugin');
  });

  it('should answer again after the conversation is resolved, with history restarting', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    await send(operatorMessage('A human here', { sessionId: sid }));
    await send(visitorMessage('Are you there?', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(0);
    expect((await send(setState('resolved', { sessionId: sid }))).status).toBe(200);
    await send(visitorMessage('New question', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    const last = h.groq.requestsOf('answer').at(-1)!;
    const prompt = last.body.messages.map((m) => m.content).join('\n');
    expect(prompt).toContain('New question');
    expect(prompt).not.toContain('A human here');
    const conv = await (await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${sid}`)).json();
    expect(conv.bot.state).toBe('bot');
  });
});
