// Crisp as it really behaves, through the compiled binary: the fake Crisp delivers its own webhooks
// to the binary (automatic assignment of a new conversation, echoes of our post and typing before
// the POST is answered, a system message), and the delivery log says what the webhook did. The
// binary's worker runs on its own, so the test polls observable state (the fake's messages, the
// log), never sleeps for work.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type Delivery, PLUGIN_TOKEN } from '../crisp/harness.ts';
import { adminRequest } from '../helpers/admin-request.ts';
import {
  type FakeCrisp,
  type FakeHook,
  OPERATOR_ID,
  startFakeCrisp,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import { type FakeGroq, fakeAnswer, startFakeGroq } from '../helpers/fake-groq.ts';
import { type RunningBinary, startBinary } from '../helpers/process.ts';
import { until } from '../helpers/until.ts';

const ADMIN = 'crisp-binary-admin-token-0123456789';

let groq: FakeGroq;
let crisp: FakeCrisp;
let server: RunningBinary;
let chatbotId: string;
let hook: FakeHook;

const admin = (path: string, init?: { method?: string; json?: unknown }) =>
  adminRequest(server.url, ADMIN, path, init);

const deliveries = async (sessionId: string): Promise<Delivery[]> =>
  (
    await admin(`/api/v1/chatbots/${chatbotId}/integrations/crisp/deliveries`)
  ).body.deliveries.filter((d: Delivery) => d.sessionId === sessionId);

beforeAll(async () => {
  groq = await startFakeGroq();
  groq.setDefault(() => fakeAnswer('We open at nine.'));
  crisp = startFakeCrisp({ tokens: [PLUGIN_TOKEN], websites: [WEBSITE_ID] });
  server = await startBinary({
    env: {
      ADMIN_TOKEN: ADMIN,
      GROQ_API_KEY: 'gsk_crisp_binary_test_key_0123456789',
      GROQ_BASE_URL: groq.baseUrl,
      CRISP_API_URL: crisp.url,
      CRISP_BURST_WINDOW_MS: '0',
      LOG_LEVEL: 'warn',
    },
  });
  chatbotId = (await admin('/api/v1/chatbots', { method: 'POST', json: { name: 'Hours' } })).body
    .id;
  const connected = await admin(`/api/v1/chatbots/${chatbotId}/integrations/crisp`, {
    method: 'PUT',
    json: {
      websiteId: WEBSITE_ID,
      tokenIdentifier: PLUGIN_TOKEN.identifier,
      tokenKey: PLUGIN_TOKEN.key,
    },
  });
  expect(connected.status).toBe(200);
  const url = connected.body.webhookUrl.replace(/^https?:\/\/[^/]+/, server.url);
  // A workspace with Operator Routing on; Crisp echoes our posts before answering the POST.
  hook = crisp.attach({ url, autoAssign: OPERATOR_ID, echo: 'before' });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  crisp?.close();
  await groq?.stop();
});

describe('Crisp through the binary', () => {
  it('should answer in a workspace that assigns conversations, say it is automated, spend 2 Crisp calls, and log each delivery', async () => {
    const sid = 'session_binary_assign';
    await crisp.visitor(sid, 'When do you open?', hook);
    await until('the answer posted', () => crisp.posted(sid, 'text').length === 1);
    await crisp.settled();
    const [post] = crisp.posted(sid, 'text');
    expect(post).toMatchObject({ content: 'We open at nine.', automated: true });
    const calls = crisp.calls.filter((c) => c.sessionId === sid);
    expect(calls.map((c) => c.route).sort()).toEqual(['compose', 'message']);
    for (const call of calls) expect(call.userAgent).toMatch(/^answerdesk\/\d+\.\d+\.\d+/);

    await until('the outcome logged', async () =>
      (await deliveries(sid)).some((d) => d.event === 'message:send' && d.outcome === 'answered'),
    );
    const log = await deliveries(sid);
    expect(log).toContainEqual(
      expect.objectContaining({
        event: 'session:set_routing',
        action: 'ignored',
        reason: 'assignment_not_human',
      }),
    );
    expect(log.filter((d) => d.event === 'message:received').map((d) => d.action)).toEqual([
      'own_echo',
    ]);
  }, 60_000);

  it('should keep answering after a system message of Crisp (type "event")', async () => {
    const sid = 'session_binary_event';
    await crisp.visitor(sid, 'Hello?', hook);
    await until('the first answer', () => crisp.posted(sid, 'text').length === 1);
    await crisp.settled();
    expect((await crisp.systemMessage(sid, 'state:resolved')).status).toBe(200);
    await crisp.visitor(sid, 'And on Sundays?', hook);
    await until('the second answer', () => crisp.posted(sid, 'text').length === 2);
    const conversation = await admin(`/api/v1/chatbots/${chatbotId}/conversations/${sid}`);
    expect(conversation.body.bot.state).toBe('bot');
  }, 60_000);
});
