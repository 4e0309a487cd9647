import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { itRequiresTheAdminToken } from '../helpers/auth.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const create = (json: unknown) => t.request('/api/v1/chatbots', { method: 'POST', json });

describe('chatbots (happy)', () => {
  it('should create a chatbot with defaults and return it with a string id', async () => {
    const res = await create({
      name: 'Support',
      quota: { monthlyMessages: 100, dailyMessages: null },
    });
    expect(res.status).toBe(201);
    const bot = await res.json();
    expect(typeof bot.id).toBe('string');
    expect(bot.name).toBe('Support');
    expect(bot.quota.monthlyMessages).toBe(100);
    expect(bot.quota.dailyMessages).toBeNull();
    expect(bot.handoff.muteHours).toBe(24);
    expect(bot.channels).toEqual(['chat']);
    expect(new Date(bot.createdAt).toISOString()).toBe(bot.createdAt);
    expect(bot.quota.followsPlan).toEqual([]);
  });

  it("should always show both quota limits as int or null, the plan's when the chatbot sets none", async () => {
    const bare = await (await create({ name: 'No quota given' })).json();
    // The contract (docs/notes/contract.md): quota.monthlyMessages / dailyMessages are int|null; the default plan is unlimited.
    expect(bare.quota.monthlyMessages).toBeNull();
    expect(bare.quota.dailyMessages).toBeNull();
    expect(bare.quota.followsPlan).toEqual(['monthlyMessages', 'dailyMessages']);
    const one = await (await create({ name: 'Daily only', quota: { dailyMessages: 3 } })).json();
    expect(one.quota).toMatchObject({ monthlyMessages: null, dailyMessages: 3 });
    expect(one.quota.followsPlan).toEqual(['monthlyMessages']);
    const listed = (await (await t.request('/api/v1/chatbots')).json()).items;
    for (const bot of listed) {
      expect(
        bot.quota.monthlyMessages === null || Number.isInteger(bot.quota.monthlyMessages),
      ).toBe(true);
      expect(bot.quota.dailyMessages === null || Number.isInteger(bot.quota.dailyMessages)).toBe(
        true,
      );
    }
  });

  it('should list, read, update and delete', async () => {
    const bot = await (await create({ name: 'Sales', instructions: 'Be brief.' })).json();
    const list = await (await t.request('/api/v1/chatbots')).json();
    expect(list.items.map((b: { id: string }) => b.id)).toContain(bot.id);

    const read = await t.request(`/api/v1/chatbots/${bot.id}`);
    expect(read.status).toBe(200);
    expect((await read.json()).instructions).toBe('Be brief.');

    const patched = await t.request(`/api/v1/chatbots/${bot.id}`, {
      method: 'PATCH',
      json: { handoff: { muteHours: 2 }, model: 'llama-3.1-8b-instant' },
    });
    expect(patched.status).toBe(200);
    const updated = await patched.json();
    expect(updated.handoff.muteHours).toBe(2);
    // Fields of a group that were not sent keep their values.
    expect(updated.handoff.message).toBe(bot.handoff.message);
    expect(updated.model).toBe('llama-3.1-8b-instant');
    expect(updated.instructions).toBe('Be brief.');

    const del = await t.request(`/api/v1/chatbots/${bot.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await t.request(`/api/v1/chatbots/${bot.id}`)).status).toBe(404);
  });
});

describe('chatbots (errors)', () => {
  it('should answer 422 naming the fields but not echoing their values', async () => {
    const res = await create({ name: '', quota: { monthlyMessages: 'SECRET-VALUE-123' } });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.message).toContain('quota.monthlyMessages');
    expect(body.error.message).toContain('name');
    expect(JSON.stringify(body)).not.toContain('SECRET-VALUE-123');
    expect(typeof body.error.requestId).toBe('string');
  });

  it('should reject unknown fields with 422', async () => {
    const res = await create({ name: 'A', colour: 'blue' });
    expect(res.status).toBe(422);
    expect((await res.json()).error.message).toContain('colour');
  });

  it('should answer 400 for malformed JSON', async () => {
    const res = await t.request('/api/v1/chatbots', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('INVALID_JSON');
  });

  it('should answer 404 with the envelope for an unknown chatbot', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const res = await t.request('/api/v1/chatbots/cb_missing', {
        method,
        json: method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('NOT_FOUND');
    }
  });

  it('should answer 409 for a duplicate name, on create and on rename', async () => {
    expect((await create({ name: 'Dup' })).status).toBe(201);
    const again = await create({ name: 'dup' });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe('CONFLICT');
    const other = await (await create({ name: 'Other' })).json();
    const rename = await t.request(`/api/v1/chatbots/${other.id}`, {
      method: 'PATCH',
      json: { name: 'Dup' },
    });
    expect(rename.status).toBe(409);
  });

  it('should answer 422 for an unknown plan', async () => {
    const res = await create({ name: 'Planned', planId: 'plan_missing' });
    expect(res.status).toBe(422);
  });

  it('should answer 413 to a create or update body over BODY_LIMIT_BYTES', async () => {
    const huge = 'x'.repeat(t.deps.config.BODY_LIMIT_BYTES + 1);
    const res = await create({ name: 'Huge', instructions: huge });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    const bot = await (await create({ name: 'Small' })).json();
    const patch = await t.request(`/api/v1/chatbots/${bot.id}`, {
      method: 'PATCH',
      json: { instructions: huge },
    });
    expect(patch.status).toBe(413);
  });

  it('should answer 415 to a body that is not JSON', async () => {
    const res = await t.request('/api/v1/chatbots', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=Form',
    });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('should answer 404 with the envelope for an unknown route', async () => {
    const res = await t.request('/nope');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
  });
});

describe('chatbots (auth)', () => {
  itRequiresTheAdminToken(
    () => t,
    [
      ['POST', '/api/v1/chatbots'],
      ['GET', '/api/v1/chatbots'],
      ['GET', '/api/v1/chatbots/x'],
      ['PATCH', '/api/v1/chatbots/x'],
      ['DELETE', '/api/v1/chatbots/x'],
    ],
  );

  it('should answer 401 before looking at a malformed body', async () => {
    const res = await t.request('/api/v1/chatbots', {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(res.status).toBe(401);
  });
});
