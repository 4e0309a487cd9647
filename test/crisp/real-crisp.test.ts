// Crisp as it really behaves, end to end through the real HTTP server: the fake Crisp delivers
// its own webhooks to our server (echoes of our posts and typing, automatic assignment, system
// messages), refuses calls once its quota is used up, and pages and caches its message list.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp, tempDir } from '../helpers/app.ts';
import {
  delivery,
  OPERATOR_ID,
  operatorMessage,
  operatorTyping,
  PLUGIN_USER_ID,
  visitorMessage,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import { fakeAnswer } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, PLUGIN_TOKEN, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const botState = async (botId: string, sid: string) =>
  (await (await h.admin(`/api/v1/chatbots/${botId}/conversations/${sid}`)).json()).bot.state;

/** Runs `body` with the app's clock movable (`h.settle`), and gives the real clock back after. */
async function withClock(body: () => Promise<void>) {
  try {
    await body();
  } finally {
    h.t.clock.unpin();
    h.crisp.quota(null);
  }
}

describe('assignment is not a human', () => {
  it('should answer in a workspace that assigns every new conversation automatically', async () => {
    const { bot, hook } = await h.connectedBot();
    const hk = hook({ autoAssign: OPERATOR_ID });
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('We open at nine.'));
    expect((await h.crisp.visitor(sid, 'When do you open?', hk)).action).toBe('queued');
    // Crisp assigned it right after the first message, before the burst window ended.
    const routing = h.crisp.deliveries.find(
      (d) => d.session === sid && d.event === 'session:set_routing',
    );
    expect(routing).toMatchObject({ status: 200, action: 'ignored' });
    await h.drain();
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual(['We open at nine.']);
    expect(await botState(bot.id, sid)).toBe('bot');
  });

  it('should mute on assignment only with handoff.muteOnAssign', async () => {
    const { bot, hook } = await h.connectedBot({ handoff: { muteOnAssign: true } });
    const hk = hook({ autoAssign: OPERATOR_ID });
    const sid = newSession();
    await h.crisp.visitor(sid, 'Anyone?', hk);
    await h.drain();
    expect(h.crisp.posted(sid).length).toBe(0);
    expect(await botState(bot.id, sid)).toBe('human');
  });
});

describe('saying who we are', () => {
  it('should recognise its echoes arriving before the POST is answered, and never abort its own turn on its compose echo', async () => {
    const { bot, hook } = await h.connectedBot();
    const hk = hook({ echo: 'before' });
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Shipping takes three days.'));
    await h.crisp.visitor(sid, 'How long is shipping?', hk);
    await h.drain();
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual([
      'Shipping takes three days.',
    ]);
    const echoes = h.crisp.deliveries.filter(
      (d) => d.session === sid && d.event !== 'message:send',
    );
    // Each echo reached us while its call was still waiting for Crisp's answer.
    expect(echoes.map((d) => [d.event, d.action])).toEqual([
      ['message:compose:receive', 'own_echo'],
      ['message:received', 'own_echo'],
    ]);
    expect(await botState(bot.id, sid)).toBe('bot');
  });

  it('should take a compose echo without `automated` as ours once an echo taught it our user id', async () => {
    const { send, hook } = await h.connectedBot();
    const hk = hook({ echo: 'off' });
    const sid = newSession();
    await h.crisp.visitor(sid, 'First question', hk);
    await h.drain();
    // The echo of the first answer, recognised by its fingerprint: its user id is ours.
    const [first] = h.crisp.posted(sid, 'text');
    const echo = operatorMessage(String(first!.content), {
      sessionId: sid,
      fingerprint: first!.fingerprint,
      userId: PLUGIN_USER_ID,
    });
    expect((await (await send(echo)).json()).action).toBe('own_echo');
    // Crisp's compose echo may lack `automated` (older event shapes): the user id tells.
    hk.echo = 'before';
    hk.echoAutomated = false;
    await h.crisp.visitor(sid, 'Second question', hk);
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(2);
    const composeEcho = h.crisp.deliveries.filter(
      (d) => d.session === sid && d.event === 'message:compose:receive',
    );
    expect(composeEcho.at(-1)!.action).toBe('own_echo');
    // A person typing is still a person.
    const human = await send(operatorTyping({ sessionId: sid }));
    expect((await human.json()).action).not.toBe('own_echo');
  });
});

describe('system messages', () => {
  it('should keep answering after a system message (type "event"): it is nobody’s reply', async () => {
    const { bot, hook, deliveries } = await h.connectedBot();
    const hk = hook();
    const sid = newSession();
    await h.crisp.visitor(sid, 'Hello', hk);
    await h.drain();
    const system = await h.crisp.systemMessage(sid, 'state:resolved', 'Conversation resolved');
    expect(system.action).toBe('ignored');
    expect(await botState(bot.id, sid)).toBe('bot');
    await h.crisp.visitor(sid, 'One more thing', hk);
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(2);
    // The log says what the webhook made of each operator-side delivery.
    const received = (await deliveries()).filter((d) => d.event === 'message:received');
    expect(received.map((d) => [d.action, d.reason])).toContainEqual(['ignored', 'system_message']);
  });
});

describe('typing without sending', () => {
  it('should not answer when the operator types and then sends a message within the grace', async () => {
    const { bot, send } = await h.connectedBot({ handoff: { typingGraceSeconds: 20 } });
    const sid = newSession();
    await withClock(async () => {
      await send(visitorMessage('Is my order shipped?', { sessionId: sid }));
      await send(operatorTyping({ sessionId: sid }));
      await h.settle(10_000);
      await send(operatorMessage('Yes, it left this morning.', { sessionId: sid }));
      await h.settle(30_000);
    });
    expect(h.crisp.posted(sid).length).toBe(0);
    expect(await botState(bot.id, sid)).toBe('human');
  });

  it('should count the grace from the operator’s last typing event', async () => {
    const { send } = await h.connectedBot({ handoff: { typingGraceSeconds: 20 } });
    const sid = newSession();
    await withClock(async () => {
      await send(visitorMessage('Still typing?', { sessionId: sid }));
      await send(operatorTyping({ sessionId: sid }));
      await h.settle(15_000);
      await send(operatorTyping({ sessionId: sid, type: 'stop' }));
      await h.settle(15_000);
      // 30 s after the first typing event, 15 s after the last one: still waiting.
      expect(h.crisp.posted(sid).length).toBe(0);
      await h.settle(6_000);
      expect(h.crisp.posted(sid, 'text').length).toBe(1);
    });
  });

  it('should answer after the grace across a restart (the timer is a job in SQLite)', async () => {
    const dir = tempDir('answerdesk-grace-');
    const env = {
      DATA_DIR: dir.dir,
      CRISP_API_URL: h.crisp.url,
      GROQ_BASE_URL: h.groq.baseUrl,
      GROQ_API_KEY: 'test-groq-key',
    };
    const sid = newSession();
    const first = await buildTestApp(env);
    let second: TestApp | undefined;
    try {
      const bot = await (
        await first.request('/api/v1/chatbots', {
          method: 'POST',
          json: { name: 'restart', handoff: { typingGraceSeconds: 45 } },
        })
      ).json();
      const connected = await (
        await first.request(`/api/v1/chatbots/${bot.id}/integrations/crisp`, {
          method: 'PUT',
          json: {
            websiteId: WEBSITE_ID,
            tokenIdentifier: PLUGIN_TOKEN.identifier,
            tokenKey: PLUGIN_TOKEN.key,
          },
        })
      ).json();
      const url = new URL(connected.webhookUrl);
      const deliver = (app: TestApp, event: unknown) =>
        app.app.handle(
          new Request(`http://localhost${url.pathname}${url.search}`, delivery(event)),
        );
      await deliver(first, visitorMessage('Waiting for an answer', { sessionId: sid }));
      await deliver(first, operatorTyping({ sessionId: sid }));
      // The burst window passes while the operator types; then the process stops.
      first.clock.pin(new Date(Date.now() + 5_000));
      await first.deps.worker.drain({ skipDelays: false });
      expect(h.crisp.posted(sid).length).toBe(0);
      await first.deps.close();
      second = await buildTestApp(env);
      second.clock.pin(new Date(Date.now() + 46_000));
      await second.deps.worker.drain({ skipDelays: false });
      expect(h.crisp.posted(sid, 'text').length).toBe(1);
    } finally {
      await second?.deps.close();
      dir.cleanup();
    }
  });
});

describe("Crisp's API quota", () => {
  it('should make 2 Crisp calls per answered message (compose start, message), and the typing shown goes away with the message', async () => {
    const { bot, hook } = await h.connectedBot();
    const hk = hook();
    const sessions = [newSession(), newSession(), newSession()];
    const before = h.crisp.calls.length;
    for (const sid of sessions) await h.crisp.visitor(sid, 'What is your return policy?', hk);
    await h.drain();
    for (const sid of sessions) {
      expect(h.crisp.posted(sid, 'text').length).toBe(1);
      expect(h.crisp.typingShown(sid)).toBe(false);
    }
    const calls = h.crisp.calls.slice(before);
    expect(calls.length / sessions.length).toBe(2);
    const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
    // The connect check, then 2 per answer.
    expect(status.crispCalls).toMatchObject({ calls: 1 + 2 * sessions.length, refused: 0 });
    expect(status.crispCalls.defaultDailyQuota).toBe(5_000);
    const metrics = await (await h.admin('/metrics')).text();
    expect(metrics).toContain(
      `answerdesk_crisp_api_calls_today{chatbot_id="${bot.id}"} ${1 + 2 * sessions.length}`,
    );
  });

  it('should wait while Crisp refuses for quota, mark the connection unhealthy, then answer when Crisp accepts again', async () => {
    const { bot, hook } = await h.connectedBot();
    const hk = hook();
    const sid = newSession();
    const llm = h.groq.requests.length;
    h.crisp.quota({ remaining: 0, status: 429, reason: 'quota_limit_exceeded' });
    await withClock(async () => {
      await h.crisp.visitor(sid, 'Do you ship to Norway?', hk);
      await h.settle(2_100);
      // The compose start was refused: no LLM call for an answer that could not be posted.
      expect(h.groq.requests.length).toBe(llm);
      const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
      expect(status.health.healthy).toBe(false);
      expect(status.health.lastError).toContain('quota_limit_exceeded');
      expect(status.crispCalls.refused).toBe(1);
      // Still refused a minute later: nothing posted, still waiting.
      await h.settle(61_000);
      expect(h.crisp.posted(sid).length).toBe(0);
      h.crisp.quota(null);
      await h.settle(61_000);
    });
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
    expect(status.health).toMatchObject({ healthy: true, throttledUntil: null });
  });

  it('should drop, never post late, a reply Crisp accepts only after CRISP_MAX_REPLY_AGE_MINUTES', async () => {
    const { hook, deliveries } = await h.connectedBot();
    const hk = hook();
    const sid = newSession();
    // Refused only at the post (423, as Crisp's own tools see it): the answer waits with it.
    h.crisp.quota({ remaining: 1, status: 423 });
    await withClock(async () => {
      await h.crisp.visitor(sid, 'Please answer eventually', hk);
      await h.settle(2_100);
      expect(h.crisp.callsTo('message', sid).map((c) => c.status)).toEqual([423]);
      h.crisp.quota(null);
      await h.settle(31 * 60_000);
    });
    expect(h.crisp.posted(sid).length).toBe(0);
    const visitor = (await deliveries()).find((d) => d.event === 'message:send');
    expect(visitor).toMatchObject({ action: 'queued', outcome: 'expired' });
  });
});

describe('reconciliation after a crash', () => {
  it('should find its post beyond the latest page of messages instead of posting it again', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    // Crisp stores the message but the answer is lost; 45 messages follow before the retry.
    h.crisp.script('message', {
      status: 500,
      apply: true,
    });
    await withClock(async () => {
      await send(visitorMessage('Where is my parcel?', { sessionId: sid }));
      await h.settle(2_100);
      h.crisp.inject(sid, 45);
      await h.settle(2_000);
    });
    expect(h.crisp.callsTo('message', sid).length).toBe(1);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    const reads = h.crisp.callsTo('messages', sid);
    expect(reads.length).toBe(2);
    expect(reads.every((c) => c.query.startsWith('?timestamp_before='))).toBe(true);
  });

  it('should read again before taking a post as missing (a stale cached page)', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    h.crisp.script('message', { status: 500, apply: true });
    h.crisp.script('messages', { status: 200, stale: true });
    await send(visitorMessage('Hello?', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.callsTo('messages', sid).length).toBe(2);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });
});
