import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { itRequiresTheAdminToken } from '../helpers/auth.ts';
import { testsPath } from './setup.ts';

let t: TestApp;
let chatbotId: string;
let testId: string;
let runId: string;
beforeAll(async () => {
  t = await buildTestApp();
  chatbotId = (
    await (await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'A' } })).json()
  ).id;
  const created = await t.request(testsPath(chatbotId), {
    method: 'POST',
    json: { question: 'Hello?', expect: 'handoff' },
  });
  testId = (await created.json()).id;
  runId = (await (await t.request(testsPath(chatbotId, '/run'), { method: 'POST' })).json()).runId;
});
afterAll(() => t.close());

describe('answer tests (auth)', () => {
  itRequiresTheAdminToken(
    () => t,
    [
      ['POST', testsPath('cb_x')],
      ['GET', testsPath('cb_x')],
      ['GET', testsPath('cb_x', '/test_x')],
      ['DELETE', testsPath('cb_x', '/test_x')],
      ['POST', testsPath('cb_x', '/run')],
      ['GET', testsPath('cb_x', '/runs')],
      ['GET', testsPath('cb_x', '/runs/run_x')],
      ['PATCH', '/api/v1/chatbots/cb_x/sources/src_x'],
    ],
  );

  it('should neither add, remove nor start anything for unauthenticated calls', async () => {
    await t.request(testsPath(chatbotId), {
      method: 'POST',
      auth: false,
      json: { question: 'Sneaky?', expect: 'answer' },
    });
    await t.request(testsPath(chatbotId, `/${testId}`), { method: 'DELETE', auth: 'wrong' });
    await t.request(testsPath(chatbotId, '/run'), { method: 'POST', auth: false });
    const { items } = await (await t.request(testsPath(chatbotId))).json();
    expect(items.map((x: { id: string }) => x.id)).toEqual([testId]);
    const runs = await (await t.request(testsPath(chatbotId, '/runs'))).json();
    expect(runs.items.map((r: { runId: string }) => r.runId)).toEqual([runId]);
  });
});
