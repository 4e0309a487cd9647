import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';
import { type ChatApp, chatApp } from './setup.ts';

let groq: FakeGroq;
let t: ChatApp;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
});
afterAll(async () => {
  await t.close();
  await groq.stop();
});

describe('POST /chat (auth)', () => {
  it('should refuse a missing or wrong admin token with 401 and call no LLM', async () => {
    for (const auth of [false, 'wrong-token'] as const) {
      const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/chat`, {
        method: 'POST',
        json: { message: 'hi' },
        auth,
        headers: { accept: 'text/event-stream' },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    expect(groq.requests).toHaveLength(0);
  });
});
