// What connecting tells the admin about the webhook URL: a warning when Crisp could not call it
// (PUBLIC_URL unset, local or plain HTTP), and a status whose masked URL cannot pass for it.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { publicUrlWarning } from '../../src/crisp/public-url.ts';
import { buildTestApp } from '../helpers/app.ts';
import {
  delivery,
  type FakeCrisp,
  startFakeCrisp,
  visitorMessage,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import { PLUGIN_TOKEN } from './harness.ts';

let crisp: FakeCrisp;
beforeAll(() => {
  crisp = startFakeCrisp({ tokens: [PLUGIN_TOKEN], websites: [WEBSITE_ID] });
});
afterAll(() => crisp.close());

/** A fresh app with `env`, one connected chatbot, the connect answer and the status. */
async function connected(env: Record<string, string>) {
  const t = await buildTestApp({ CRISP_API_URL: crisp.url, ...env });
  const bot = await (
    await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'b' } })
  ).json();
  const path = `/api/v1/chatbots/${bot.id}/integrations/crisp`;
  const connect = await t.request(path, {
    method: 'PUT',
    json: {
      websiteId: WEBSITE_ID,
      tokenIdentifier: PLUGIN_TOKEN.identifier,
      tokenKey: PLUGIN_TOKEN.key,
    },
  });
  expect(connect.status).toBe(200);
  return {
    t,
    botId: bot.id,
    answer: await connect.json(),
    status: await (await t.request(path)).json(),
  };
}

describe('crisp connect (webhook URL warning)', () => {
  it('should warn, in the answer and the status, when PUBLIC_URL is unset (localhost)', async () => {
    const { t, answer, status } = await connected({ PORT: '3000' });
    try {
      expect(answer.webhookUrl).toStartWith('http://localhost:3000/');
      expect(answer.warning).toBe(
        'The webhook URL points at localhost:3000, which Crisp cannot reach (PUBLIC_URL is unset or local): set PUBLIC_URL to the public HTTPS address of this server, restart, and connect again (the key stays the same).',
      );
      expect(status.warning).toBe(answer.warning);
    } finally {
      await t.close();
    }
  });

  it('should give no warning for a public HTTPS PUBLIC_URL', async () => {
    const { t, answer, status } = await connected({ PUBLIC_URL: 'https://bot.example.com' });
    try {
      expect(answer.warning).toBeNull();
      expect(status.warning).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('should warn about plain HTTP and about local addresses', () => {
    expect(publicUrlWarning('http://bot.example.com')).toStartWith(
      "The webhook URL is not HTTPS, which Crisp's plugin hooks require: set PUBLIC_URL",
    );
    for (const local of [
      'https://127.0.0.1:8443',
      'https://[::1]',
      'http://app.localhost',
      'https://192.168.1.20',
    ]) {
      expect(publicUrlWarning(local)).toContain('which Crisp cannot reach');
    }
    expect(publicUrlWarning('https://10.0.0.5.nip.io')).toBeNull();
  });
});

describe('crisp status (masked webhook URL)', () => {
  it('should show the key masked in plain sight, with a note, and the masked URL should not work', async () => {
    const { t, botId, answer, status } = await connected({ PUBLIC_URL: 'https://bot.example.com' });
    try {
      const key = new URL(answer.webhookUrl).searchParams.get('key')!;
      expect(status.webhookUrl).toBe(
        `https://bot.example.com/api/integrations/livechat/crisp/webhook/${botId}?key=••••${key.slice(-4)}`,
      );
      expect(status.webhookUrl).not.toContain('%');
      expect(status.webhookUrlNote).toContain('does not work as shown');
      // Called as shown (a browser or Crisp encodes the bullets), it is refused.
      const masked = new URL(status.webhookUrl);
      const res = await t.app.handle(
        new Request(
          `http://localhost${masked.pathname}${masked.search}`,
          delivery(visitorMessage('Hi')),
        ),
      );
      expect(res.status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
