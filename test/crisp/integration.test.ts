// Connect, status and disconnect: happy, error and auth cases; secrets never shown.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEBSITE_ID } from '../helpers/fake-crisp.ts';
import {
  type CrispHarness,
  PLUGIN_TOKEN,
  PUBLIC_URL,
  SIGNING_SECRET,
  startCrispHarness,
} from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const path = (id: string, tail = '') => `/api/v1/chatbots/${id}/integrations/crisp${tail}`;
const put = (id: string, json: unknown, auth?: string | false) =>
  h.admin(path(id), { method: 'PUT', json, ...(auth !== undefined ? { auth } : {}) });
const goodBody = {
  websiteId: WEBSITE_ID,
  tokenIdentifier: PLUGIN_TOKEN.identifier,
  tokenKey: PLUGIN_TOKEN.key,
};

describe('crisp integration routes (happy)', () => {
  it('should check the credentials with Crisp, then return the webhook URL and the events', async () => {
    const bot = await h.createChatbot();
    const checks = h.crisp.callsTo('check').length;
    const res = await put(bot.id, { ...goodBody, signingSecret: SIGNING_SECRET });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.connected).toBe(true);
    expect(body.websiteId).toBe(WEBSITE_ID);
    expect(body.tier).toBe('plugin');
    expect(body.signed).toBe(true);
    const url = new URL(body.webhookUrl);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${PUBLIC_URL}/api/integrations/livechat/crisp/webhook/${bot.id}`,
    );
    expect(url.searchParams.get('key')!.length).toBeGreaterThanOrEqual(32);
    expect(body.events).toEqual([
      'message:send',
      'message:received',
      'message:compose:receive',
      'session:set_state',
      'session:set_routing',
    ]);
    const check = h.crisp.callsTo('check').slice(checks);
    expect(check.length).toBe(1);
    expect(check[0]!.tier).toBe('plugin');
    expect(check[0]!.path).toBe(`/v1/website/${WEBSITE_ID}/conversations/1`);
  });

  it('should show the status with masked values and never the secrets', async () => {
    const bot = await h.createChatbot();
    const connected = await (
      await put(bot.id, { ...goodBody, signingSecret: SIGNING_SECRET })
    ).json();
    const key = new URL(connected.webhookUrl).searchParams.get('key')!;
    const res = await h.admin(path(bot.id));
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const secret of [PLUGIN_TOKEN.key, SIGNING_SECRET, key, PLUGIN_TOKEN.identifier]) {
      expect(text).not.toContain(secret);
    }
    const status = JSON.parse(text);
    expect(status.connected).toBe(true);
    expect(status.tokenKey).toBe('••••');
    expect(status.tokenIdentifier).toBe(`••••${PLUGIN_TOKEN.identifier.slice(-4)}`);
    expect(status.signingSecret).toBe('••••');
    expect(status.health.healthy).toBe(true);
    // Secrets are sealed at rest: the database file never holds them in the clear.
    h.deps.db.exec('PRAGMA wal_checkpoint(FULL)');
    const file = readFileSync(join(h.t.dir, 'answerdesk.sqlite')).toString('latin1');
    for (const secret of [PLUGIN_TOKEN.key, SIGNING_SECRET, key])
      expect(file).not.toContain(secret);
  });

  it('should say not connected, and disconnect (wiping the credentials)', async () => {
    const bot = await h.createChatbot();
    expect(await (await h.admin(path(bot.id))).json()).toEqual({ connected: false });
    await put(bot.id, goodBody);
    expect((await h.admin(path(bot.id), { method: 'DELETE' })).status).toBe(204);
    expect(await (await h.admin(path(bot.id))).json()).toEqual({ connected: false });
    const row = h.deps.db
      .query('SELECT COUNT(*) AS n FROM crisp_connections WHERE chatbot_id = ?')
      .get(bot.id) as { n: number };
    expect(row.n).toBe(0);
  });

  it('should keep the webhook URL across a reconnect', async () => {
    const bot = await h.createChatbot();
    const first = await (await put(bot.id, goodBody)).json();
    const second = await (await put(bot.id, { ...goodBody, signingSecret: SIGNING_SECRET })).json();
    expect(second.webhookUrl).toBe(first.webhookUrl);
  });
});

describe('crisp integration routes (errors)', () => {
  it('should refuse credentials Crisp rejects with 400 CRISP_CREDENTIALS_REJECTED and store nothing', async () => {
    const bot = await h.createChatbot();
    const res = await put(bot.id, { ...goodBody, tokenKey: 'wrong-key-123' });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('CRISP_CREDENTIALS_REJECTED');
    expect(body.error.message).toContain('invalid_session');
    expect(body.error.message).not.toContain('wrong-key-123');
    expect(await (await h.admin(path(bot.id))).json()).toEqual({ connected: false });
    // The wrong tier is a rejection too (a plugin token sent as a website token).
    const tier = await put(bot.id, { ...goodBody, tier: 'website' });
    expect(tier.status).toBe(400);
    // An unknown website.
    const site = await put(bot.id, { ...goodBody, websiteId: 'unknown-website' });
    expect((await site.json()).error.message).toContain('website_not_found');
  });

  it('should answer 502 and store nothing when Crisp is down', async () => {
    const bot = await h.createChatbot();
    h.crisp.script('check', { status: 503 });
    const res = await put(bot.id, goodBody);
    expect(res.status).toBe(502);
    expect(await (await h.admin(path(bot.id))).json()).toEqual({ connected: false });
  });

  it('should answer 422 for a bad body without echoing the token', async () => {
    const bot = await h.createChatbot();
    const res = await put(bot.id, {
      websiteId: WEBSITE_ID,
      tokenIdentifier: 'x',
      tokenKey: 'SECRET-TOKEN-VALUE',
      tier: 'user',
    });
    expect(res.status).toBe(422);
    expect(await res.text()).not.toContain('SECRET-TOKEN-VALUE');
    expect((await put(bot.id, { websiteId: WEBSITE_ID })).status).toBe(422);
  });

  it('should answer 404 for an unknown chatbot, and for a test run when not connected', async () => {
    expect((await put('cb_nope', goodBody)).status).toBe(404);
    expect((await h.admin(path('cb_nope'))).status).toBe(404);
    expect((await h.admin(path('cb_nope'), { method: 'DELETE' })).status).toBe(404);
    const bot = await h.createChatbot();
    expect((await h.admin(path(bot.id, '/test'), { method: 'POST' })).status).toBe(404);
  });
});

describe('crisp integration routes (auth)', () => {
  it('should answer 401 on every admin route without the admin token', async () => {
    const bot = await h.createChatbot();
    const calls: [string, string][] = [
      ['PUT', path(bot.id)],
      ['GET', path(bot.id)],
      ['DELETE', path(bot.id)],
      ['POST', path(bot.id, '/test')],
    ];
    for (const [method, p] of calls) {
      const res = await h.admin(p, {
        method,
        auth: false,
        json: method === 'PUT' ? goodBody : undefined,
      });
      expect(res.status).toBe(401);
      const wrong = await h.admin(p, {
        method,
        auth: 'wrong-token',
        json: method === 'PUT' ? goodBody : undefined,
      });
      expect(wrong.status).toBe(401);
    }
    // Nothing was stored by the refused PUT.
    expect(await (await h.admin(path(bot.id))).json()).toEqual({ connected: false });
  });
});
