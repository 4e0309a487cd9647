// The answering policy (`answerWhen`, `businessHours`), end to end: a declined message is kept as
// history, makes no LLM call, posts nothing, and the delivery log says why.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { OPERATOR_ID, visitorMessage } from '../helpers/fake-crisp.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  // Crisp's cache would keep an availability answer for minutes: off, to see ours alone.
  h = await startCrispHarness({}, { cacheTtlMs: 0 });
});
afterAll(() => h.close());

const OFFICE = {
  timeZone: 'Europe/Paris',
  weekly: {
    mon: [['09:00', '18:00']],
    tue: [['09:00', '18:00']],
    wed: [['09:00', '18:00']],
    thu: [['09:00', '18:00']],
    fri: [['09:00', '18:00']],
  },
  exceptions: [{ date: '2026-12-25', ranges: [] }],
};

const messages = async (botId: string, sid: string) =>
  (await (await h.admin(`/api/v1/chatbots/${botId}/conversations/${sid}`)).json()).messages.map(
    (m: { role: string }) => m.role,
  );

describe('answerWhen settings', () => {
  it('should default to always, with no business hours', async () => {
    const bot = await h.createChatbot();
    const read = await (await h.admin(`/api/v1/chatbots/${bot.id}`)).json();
    expect(read).toMatchObject({ answerWhen: 'always', businessHours: null });
    expect(read.handoff).toMatchObject({ muteOnAssign: false, typingGraceSeconds: 60 });
  });

  it('should refuse with 422 and the reason: outside_hours without hours, a bad zone, a bad time, a grace out of range', async () => {
    const bot = await h.createChatbot();
    const patch = async (json: unknown) => {
      const res = await h.admin(`/api/v1/chatbots/${bot.id}`, { method: 'PATCH', json });
      return { status: res.status, message: (await res.json()).error?.message as string };
    };
    const noHours = await patch({ answerWhen: 'outside_hours' });
    expect(noHours.status).toBe(422);
    expect(noHours.message).toContain('businessHours');
    const zone = await patch({ businessHours: { ...OFFICE, timeZone: 'Europe/Nowhere' } });
    expect(zone.status).toBe(422);
    expect(zone.message).toContain('time zone');
    const time = await patch({ businessHours: { ...OFFICE, weekly: { mon: [['9h', '18h']] } } });
    expect(time.status).toBe(422);
    expect(time.message).toContain('HH:MM');
    const grace = await patch({ handoff: { typingGraceSeconds: 3_601 } });
    expect(grace.status).toBe(422);
    expect((await patch({ answerWhen: 'sometimes' })).status).toBe(422);
    // Valid: stored as given, days left out are closed.
    const ok = await patch({ answerWhen: 'outside_hours', businessHours: OFFICE });
    expect(ok.status).toBe(200);
    const read = await (await h.admin(`/api/v1/chatbots/${bot.id}`)).json();
    expect(read.businessHours.weekly.sat).toEqual([]);
  });
});

describe('outside_hours', () => {
  it('should leave a message sent during business hours to the team, and answer one sent outside them', async () => {
    const { bot, send, deliveries } = await h.connectedBot({
      answerWhen: 'outside_hours',
      businessHours: OFFICE,
    });
    const open = newSession();
    const closed = newSession();
    const llm = h.groq.requests.length;
    try {
      // Tuesday 2026-12-01, 10:00 in Paris (09:00 UTC): open.
      h.t.clock.pin(new Date('2026-12-01T09:00:00Z'));
      await send(visitorMessage('Question while the team is in', { sessionId: open }));
      await h.settle(2_100);
      expect(h.crisp.calls.filter((c) => c.sessionId === open)).toEqual([]);
      expect(h.groq.requests.length).toBe(llm);
      expect(await messages(bot.id, open)).toEqual(['visitor']);
      // Christmas (an exception, closed) at the same hour: answered.
      h.t.clock.pin(new Date('2026-12-25T09:00:00Z'));
      await send(visitorMessage('Question on Christmas', { sessionId: closed }));
      await h.settle(2_100);
      expect(h.crisp.posted(closed, 'text').length).toBe(1);
    } finally {
      h.t.clock.unpin();
    }
    const log = await deliveries();
    expect(log.find((d) => d.sessionId === open)).toMatchObject({
      action: 'queued',
      outcome: 'declined:outside_hours',
    });
    expect(log.find((d) => d.sessionId === closed)).toMatchObject({ outcome: 'answered' });
  });
});

describe('when_no_operator_online', () => {
  it('should ask Crisp who is online (at most once a minute), decline while someone is, answer when nobody is', async () => {
    const { bot, send, deliveries } = await h.connectedBot({
      answerWhen: 'when_no_operator_online',
    });
    const sessions = [newSession(), newSession(), newSession()];
    const availability = () => h.crisp.callsTo('availability').length;
    const before = availability();
    try {
      h.crisp.setOperators([{ user_id: OPERATOR_ID, type: 'online' }]);
      await send(visitorMessage('Anyone there?', { sessionId: sessions[0] }));
      await h.settle(2_100);
      await send(visitorMessage('Hello?', { sessionId: sessions[1] }));
      await h.settle(2_100);
      expect(h.crisp.posted(sessions[0]!).length + h.crisp.posted(sessions[1]!).length).toBe(0);
      // Two messages, one question to Crisp: the answer is reused for up to 60 s.
      expect(availability() - before).toBe(1);
      expect(h.crisp.callsTo('availability').at(-1)!.userAgent).toMatch(/^answerdesk\//);
      // The operator went away; a minute later the bot answers again.
      h.crisp.setOperators([{ user_id: OPERATOR_ID, type: 'away' }]);
      await h.settle(60_000);
      await send(visitorMessage('Still there?', { sessionId: sessions[2] }));
      await h.settle(2_100);
      expect(h.crisp.posted(sessions[2]!, 'text').length).toBe(1);
      expect(availability() - before).toBe(2);
    } finally {
      h.t.clock.unpin();
      h.crisp.setOperators([]);
    }
    const log = await deliveries();
    expect(log.find((d) => d.sessionId === sessions[0])?.outcome).toBe('declined:operator_online');
    expect(await messages(bot.id, sessions[1]!)).toEqual(['visitor']);
  });

  it('should answer when Crisp cannot say who is online', async () => {
    const { send } = await h.connectedBot({ answerWhen: 'when_no_operator_online' });
    const sid = newSession();
    h.crisp.script('availability', { status: 403, reason: 'not_allowed' });
    await send(visitorMessage('Can you help?', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });
});
