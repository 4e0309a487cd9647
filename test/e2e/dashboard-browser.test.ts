// The dashboard in a real browser: Debian's Chromium (headless, through playwright-core) opens
// /dashboard#token=… on the compiled binary holding real data (a chatbot, sources, a playground
// chat and Crisp conversations answered through the fake Groq). Runs when /usr/bin/chromium
// exists; with REQUIRE_BROWSER=1 (CI) a missing Chromium is a failure, not a skip.
//
// The unanswered questions, the analytics and the answer tests come from the server's real routes
// (a group of Crisp questions handed off for lack of an answer, one answered by an operator; tests
// run through the binary and the fake Groq; the Crisp delivery log of those sessions). Nothing is
// stubbed in the browser: every request the page makes reaches the server.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { Page } from 'playwright-core';
import { PLUGIN_TOKEN } from '../crisp/harness.ts';
import { adminRequest } from '../helpers/admin-request.ts';
import {
  type Browser,
  failWithoutChromium,
  hasChromium,
  launchChromium,
} from '../helpers/browser.ts';
import {
  delivery,
  type FakeCrisp,
  operatorMessage,
  startFakeCrisp,
  visitorMessage,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import {
  type FakeGroq,
  type FakeRequest,
  fakeAnswer,
  fakeHandoff,
  fakeRewrite,
  startFakeGroq,
} from '../helpers/fake-groq.ts';
import { type RunningBinary, startBinary } from '../helpers/process.ts';
import { until } from '../helpers/until.ts';

const ADMIN = 'dashboard-browser-admin-token-0123456789';

/** What the operator answered in Crisp to the question about Mars. */
const OPERATOR_REPLY = 'We ship to Earth addresses only.';

failWithoutChromium('dashboard');

describe.if(hasChromium)('dashboard in a browser', () => {
  let server: RunningBinary;
  let groq: FakeGroq;
  let crisp: FakeCrisp;
  let browser: Browser;
  let chatbotId: string;

  const admin = (path: string, init?: { method?: string; json?: unknown }) =>
    adminRequest(server.url, ADMIN, path, init);

  beforeAll(async () => {
    groq = await startFakeGroq();
    groq.setDefault((req: FakeRequest) => {
      const last = req.body.messages.at(-1)?.content ?? '';
      if (req.kind === 'condense') return fakeRewrite(last.replace(/^[\s\S]*Latest message: /, ''));
      return /Mars|watches/.test(last) || JSON.stringify(req.body.messages).includes('Mars')
        ? fakeHandoff('no_answer')
        : fakeAnswer('Refunds take 5 business days [1].');
    });
    crisp = startFakeCrisp({ tokens: [PLUGIN_TOKEN], websites: [WEBSITE_ID] });
    server = await startBinary({
      env: {
        ADMIN_TOKEN: ADMIN,
        GROQ_API_KEY: 'gsk_dashboard_test_key_0123456789',
        GROQ_BASE_URL: groq.baseUrl,
        CRISP_API_URL: crisp.url,
        CRISP_BURST_WINDOW_MS: '0',
        LOG_LEVEL: 'warn',
      },
    });
    const created = await admin('/api/v1/chatbots', {
      method: 'POST',
      json: { name: 'Acme support' },
    });
    chatbotId = created.body.id;
    const bot = `/api/v1/chatbots/${chatbotId}`;
    await admin(`${bot}/sources`, {
      method: 'POST',
      json: { type: 'text', title: 'Refund policy', text: 'Refunds take 5 business days.' },
    });
    await admin(`${bot}/chat`, { method: 'POST', json: { message: 'How long do refunds take?' } });
    const connected = await admin(`${bot}/integrations/crisp`, {
      method: 'PUT',
      json: {
        websiteId: WEBSITE_ID,
        tokenIdentifier: PLUGIN_TOKEN.identifier,
        tokenKey: PLUGIN_TOKEN.key,
      },
    });
    const hook = connected.body.webhookUrl.replace(/^https?:\/\/[^/]+/, server.url);
    // Mars is asked twice (one group), the watches once; the Mars one is the latest conversation.
    for (const [sessionId, text] of [
      ['session_refund', 'How long do refunds take?'],
      ['session_watches', 'buy cheap watches'],
      ['session_mars_again', 'Can you ship to Mars?'],
      ['session_mars', 'Do you ship to Mars?'],
    ] as const) {
      const sent = await fetch(hook, delivery(visitorMessage(text, { sessionId })));
      expect(sent.status).toBe(200);
      await until(`${sessionId} answered`, async () => {
        const c = await admin(`${bot}/conversations/${sessionId}`);
        return c.status === 200 && c.body.messages.some((m: { role: string }) => m.role === 'bot');
      });
    }
    // An operator answers the Mars question in Crisp: the group's suggested answer.
    const replied = await fetch(
      hook,
      delivery(operatorMessage(OPERATOR_REPLY, { sessionId: 'session_mars' })),
    );
    expect(replied.status).toBe(200);
    browser = await launchChromium({ width: 1280, height: 1000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    crisp?.close();
    await groq?.stop();
  });

  /** Opens the page with the token in the fragment; collects console errors and page errors. */
  async function open(width: number): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width, height: 1000 });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      errors.push(`${message.text()} (${message.location().url})`);
    });
    await page.goto(`${server.url}/dashboard#token=${encodeURIComponent(ADMIN)}`);
    return { page, errors };
  }

  const elsewhere = () => {
    const origin = new URL(server.url).origin;
    return browser.requests.filter(
      (url) =>
        !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin,
    );
  };

  it('should open on the chatbot with readable conversations, take the token from the address, show every panel from the server, and add a Q&A in one click', async () => {
    const started = performance.now();
    const { page, errors } = await open(1280);
    // The overview without any click: the name, the numbers, the LLM state.
    await page.locator('#chatbot-name', { hasText: 'Acme support' }).waitFor({ timeout: 15_000 });
    await page.locator('#overview-numbers .stat').first().waitFor();
    expect(await page.locator('#overview-numbers').textContent()).toContain('answered today');
    await page.locator('#llm-status .badge', { hasText: 'LLM: ok' }).waitFor();

    // The token was taken from the fragment and removed from the address.
    expect(page.url()).toBe(`${server.url}/dashboard`);
    expect(await page.evaluate(() => location.hash)).toBe('');
    expect(await page.evaluate(() => sessionStorage.getItem('answerdesk.adminToken'))).toBe(ADMIN);
    expect(browser.requests.some((url) => url.includes(ADMIN))).toBe(false);

    // Conversations read as a chat: the visitor, the bot, its sources or its handoff reason.
    const conversations = page.locator('#conversations');
    await conversations.locator('details.conversation').nth(1).waitFor();
    const mars = conversations.locator('details.conversation[data-session="session_mars"]');
    // The latest one is open already; the other opens with a click on its summary line.
    expect(await mars.getAttribute('open')).toBe('');
    expect(await mars.locator('.msg.visitor').first().textContent()).toContain(
      'Do you ship to Mars?',
    );
    expect(await mars.locator('.msg.bot').first().textContent()).toContain(
      'Handed off: no answer in the knowledge',
    );
    const refund = conversations.locator('details.conversation[data-session="session_refund"]');
    await refund.locator('summary').click();
    const answer = await refund.locator('.msg.bot').first().textContent();
    expect(answer).toContain('Refunds take 5 business days');
    expect(answer).toContain('Refund policy (cited)');
    expect(answer).toMatch(/\$\d/);

    // The unanswered questions and the charts, from the server's own routes.
    const gap = page.locator('#gaps li.gap').first();
    await gap.waitFor();
    expect(await gap.textContent()).toContain('Asked 2 times');
    await page.locator('#charts figure.chart canvas').nth(3).waitFor();

    // The answer tests are there, none written yet.
    await page.locator('#tests p', { hasText: 'No tests yet.' }).waitFor();
    // The Crisp connection and its delivery log, from the server's own route.
    await page.locator('#crisp table td', { hasText: 'message:send' }).first().waitFor();

    // See a gap → add the answer: the handed-off question becomes a Q&A source.
    await mars.getByRole('button', { name: 'Add an answer' }).click();
    const editor = mars.locator('form.qa-editor');
    expect(await editor.locator('input[name=question]').inputValue()).toBe('Do you ship to Mars?');
    await editor.locator('textarea[name=answer]').fill('We do not ship to Mars yet.');
    const saved = page.waitForResponse(
      (r) =>
        r.url().endsWith(`/api/v1/chatbots/${chatbotId}/sources`) &&
        r.request().method() === 'POST',
    );
    await editor.getByRole('button', { name: 'Save as Q&A' }).click();
    expect((await saved).status()).toBe(201);
    await mars.locator('.notice.ok').waitFor();
    const sources = await admin(`/api/v1/chatbots/${chatbotId}/sources`);
    expect(sources.body.items).toContainEqual(
      expect.objectContaining({ type: 'qa', title: 'Do you ship to Mars?', status: 'ready' }),
    );
    await page.locator('#knowledge td', { hasText: 'Do you ship to Mars?' }).waitFor();

    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      1280,
    );
    expect(errors).toEqual([]);
    expect(elsewhere()).toEqual([]);
    expect(performance.now() - started).toBeLessThan(30_000);
    await page.close();
  }, 60_000);

  it('should show the real unanswered questions and outcomes, turn a gap into an edited Q&A, dismiss another, run the real answer tests, and show the delivery log, at 390 px too', async () => {
    const analytics = await admin(`/api/v1/chatbots/${chatbotId}/analytics`);
    expect(analytics.status).toBe(200);
    const conversationCount = String(analytics.body.totals.conversations);
    // The playground chat and the four Crisp sessions.
    expect(conversationCount).toBe('5');
    let qaSourceId = '';
    const tests = `/api/v1/chatbots/${chatbotId}/tests`;
    for (const question of ['How long do refunds take?', 'Do you ship to Mars?']) {
      const created = await admin(tests, { method: 'POST', json: { question, expect: 'answer' } });
      expect(created.status).toBe(201);
    }
    for (const width of [390, 1280]) {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
      });
      await page.setViewportSize({ width, height: 1000 });
      await page.goto(`${server.url}/dashboard#token=${encodeURIComponent(ADMIN)}`);

      // Overview numbers and the gaps, without a click: the server's own numbers and groups.
      await page.locator('#overview-numbers .stat', { hasText: 'conversations' }).waitFor();
      expect(
        await page.locator('#overview-numbers .stat', { hasText: 'conversations' }).textContent(),
      ).toContain(conversationCount);
      const gap = page.locator('#gaps li.gap').first();
      await gap.waitFor();
      expect(await gap.textContent()).toContain('Asked 2 times');
      expect(await gap.textContent()).toContain('Can you ship to Mars?');
      expect(await gap.textContent()).toContain(OPERATOR_REPLY);
      const spam = page.locator('#gaps li.gap').nth(1);
      expect(await spam.textContent()).toContain('buy cheap watches');
      expect(await spam.textContent()).toContain('No suggested answer yet');

      // Four charts drawn, each inside the page's width.
      await page.locator('#charts figure.chart canvas').nth(3).waitFor();
      expect(await page.locator('#charts figure.chart').count()).toBe(4);
      const chartWidth = await page
        .locator('#charts .plot')
        .first()
        .evaluate((el) => el.scrollWidth);
      expect(chartWidth).toBeLessThanOrEqual(width);

      // Run the tests: the server runs them, the page follows the run to its results.
      const runs = (await admin(`${tests}/runs`)).body.items.length;
      await page.locator('#tests').getByRole('button', { name: 'Run the tests' }).click();
      await until('the run done', async () => {
        const { items } = (await admin(`${tests}/runs`)).body;
        return items.length === runs + 1 && items[0].status === 'done';
      });
      await page.locator('#tests strong', { hasText: 'Last run: done' }).waitFor();
      expect(await page.locator('#tests').textContent()).toContain('1 passed, 1 failed');
      expect(await page.locator('#tests li.result.fail').textContent()).toContain(
        'Do you ship to Mars? — expected an answer, but the bot handed off (no answer in the knowledge)',
      );
      expect(await page.locator('#tests li.result.pass').textContent()).toContain(
        'How long do refunds take?',
      );

      // Crisp: connected, healthy, with its delivery log.
      await page.locator('#crisp table td', { hasText: 'message:send' }).first().waitFor();
      expect(await page.locator('#crisp').textContent()).toContain(WEBSITE_ID);

      // The README's picture: the board as a support lead first sees it (docs/dashboard.png).
      if (width === 1280 && Bun.env.DASHBOARD_SCREENSHOT) {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: Bun.env.DASHBOARD_SCREENSHOT, fullPage: false });
      }
      // A group leads to the conversations it came from (the most recent first).
      await gap.getByRole('button', { name: 'See a conversation' }).first().click();
      const opened = page.locator(
        '#conversations details.conversation[data-session="session_mars"][open]',
      );
      await opened.waitFor();
      expect(await opened.locator('.msg.visitor').first().textContent()).toContain('Mars');

      if (width === 1280) {
        // The gap becomes a Q&A, edited first; the other group is dismissed.
        await gap.getByRole('button', { name: 'Add as Q&A…' }).click();
        expect(await gap.locator('input[name=question]').inputValue()).toBe('Do you ship to Mars?');
        await gap.locator('textarea[name=answer]').fill(`${OPERATOR_REPLY} For now.`);
        const saved = page.waitForResponse(
          (r) =>
            /\/insights\/unanswered\/grp_\w+\/qa$/.test(r.url()) && r.request().method() === 'POST',
        );
        await gap.getByRole('button', { name: 'Save as Q&A' }).click();
        expect((await saved).status()).toBe(201);
        qaSourceId = ((await (await saved).json()) as { id: string }).id;
        await page.locator('#gaps .notice.ok').waitFor();
        await spam.getByRole('button', { name: 'Dismiss' }).click();
        await spam.locator('.notice.ok', { hasText: 'Dismissed.' }).waitFor();
      }

      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        width,
      );
      expect(errors).toEqual([]);
      await page.close();
    }
    // Both groups left the list; the Q&A is in the knowledge with the edited answer.
    const left = await admin(`/api/v1/chatbots/${chatbotId}/insights/unanswered`);
    expect(left.body.groups).toEqual([]);
    const source = await admin(`/api/v1/chatbots/${chatbotId}/sources/${qaSourceId}`);
    expect(source.body).toMatchObject({
      type: 'qa',
      title: 'Do you ship to Mars?',
      status: 'ready',
    });
    expect(elsewhere()).toEqual([]);
  }, 60_000);
});
