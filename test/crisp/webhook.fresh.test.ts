// The webhook reuses opened connections and parsed chatbots between deliveries: a change made
// through the admin API must still decide the very next delivery.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { visitorMessage } from '../helpers/fake-crisp.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const actionOf = async (res: Response) => ({ status: res.status, ...(await res.json()) });

describe('crisp webhook (changes take effect at the next delivery)', () => {
  it('should answer 404 right after a disconnect, and take only the new key after reconnecting', async () => {
    const { bot, key } = await h.connectedBot();
    const hello = () => visitorMessage('hello', { sessionId: newSession() });
    expect((await h.webhook(bot.id, hello(), { key })).status).toBe(200);

    const off = await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`, {
      method: 'DELETE',
    });
    expect(off.status).toBe(204);
    expect((await h.webhook(bot.id, hello(), { key })).status).toBe(404);

    // A connect after a disconnect makes a new webhook secret: the old URL stops working.
    const { key: fresh } = await h.connect(bot.id);
    expect(fresh).not.toBe(key);
    expect((await h.webhook(bot.id, hello(), { key })).status).toBe(401);
    expect((await h.webhook(bot.id, hello(), { key: fresh })).status).toBe(200);
  });

  it('should apply a chatbot settings change to the very next delivery', async () => {
    const { bot, send } = await h.connectedBot();
    expect(await actionOf(await send(visitorMessage('one', { sessionId: newSession() })))).toEqual({
      status: 200,
      ok: true,
      action: 'queued',
    });
    const patched = await h.admin(`/api/v1/chatbots/${bot.id}`, {
      method: 'PATCH',
      json: { channels: ['email'] },
    });
    expect(patched.status).toBe(200);
    // The chat channel is no longer answered.
    expect(await actionOf(await send(visitorMessage('two', { sessionId: newSession() })))).toEqual({
      status: 200,
      ok: true,
      action: 'ignored',
    });
  });

  it('should answer 404 once the chatbot is deleted', async () => {
    const { bot, send } = await h.connectedBot();
    expect((await send(visitorMessage('before', { sessionId: newSession() }))).status).toBe(200);
    const deleted = await h.admin(`/api/v1/chatbots/${bot.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect((await send(visitorMessage('after', { sessionId: newSession() }))).status).toBe(404);
  });
});
