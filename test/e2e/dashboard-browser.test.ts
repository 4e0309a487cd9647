// The dashboard in a real browser: Debian's Chromium (headless, through playwright-core) opens
// /dashboard#token=… on the compiled binary holding real data (a chatbot, sources, a playground
// chat and Crisp conversations answered through the fake Groq). Runs when /usr/bin/chromium
// exists; with REQUIRE_BROWSER=1 (CI) a missing Chromium is a failure, not a skip.
//
// The insights, analytics and delivery-log routes are not in the server yet: the first test checks
// the page says so in plain words; the second answers them inside the browser with their
// documented shapes (docs/notes/dashboard.md) and checks the page uses them fully. The answer
// tests are the server's own: the page runs real tests through the binary and the fake Groq.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page, type Route } from 'playwright-core';
import { PLUGIN_TOKEN } from '../crisp/harness.ts';
import {
  delivery,
  type FakeCrisp,
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

const CHROMIUM = Bun.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const required = Bun.env.REQUIRE_BROWSER === '1';
const ADMIN = 'dashboard-browser-admin-token-0123456789';

// Without the background-networking flags Chromium calls Google's hosts at start (refused here).
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The routes the page calls that the server does not have yet. */
const COMING = /\/(insights\/unanswered|analytics|integrations\/crisp\/deliveries)(\/|\?|$)/;

const day = (i: number) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString();

/** One interval of the analytics answer, as the insights issue defines it. */
const interval = (i: number) => ({
  start: day(i),
  conversations: 10 + i,
  visitorMessages: 25 + i,
  botAnswers: 18 + i,
  handoffs: { no_answer: i % 3, asked_for_human: 1, frustration: 0, error: i % 2, quota: 0 },
  autoResolved: 6 + i,
  humanTakeovers: 2,
  reopened: 0,
  replyLatencyMs: { p50: 900 + 10 * i, p90: 2100 + 20 * i },
  llm: { tokens: 12_000 + 100 * i, costUsd: 0.01 * (i + 1) },
});

/**
 * The coming routes, answered inside the browser with the shapes the insights issue documents
 * (no request leaves the page for them); `posted` records the bodies the page sent.
 */
function comingRoutes(posted: { path: string; body: unknown }[]) {
  return async (route: Route) => {
    const request = route.request();
    const path = new URL(request.url()).pathname.replace(/^\/api\/v1\/chatbots\/[^/]+/, '');
    const json = (status: number, body: unknown) =>
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
    if (request.method() !== 'GET') {
      posted.push({ path: `${request.method()} ${path}`, body: request.postDataJSON() });
    }
    if (path === '/analytics') {
      const series = Array.from({ length: 14 }, (_, i) => interval(i));
      return json(200, { totals: { ...interval(0), conversations: 231, botAnswers: 180 }, series });
    }
    if (path === '/insights/unanswered') {
      return json(200, {
        groups: [
          {
            id: 'grp_mars',
            count: 7,
            examples: ['Do you ship to Mars?', 'Can you deliver to Mars?'],
            lastSeenAt: new Date().toISOString(),
            sessionIds: ['session_mars'],
            suggestedAnswer: 'We ship to Earth addresses only.',
          },
          {
            id: 'grp_spam',
            count: 2,
            examples: ['buy cheap watches'],
            lastSeenAt: new Date().toISOString(),
            sessionIds: [],
            suggestedAnswer: null,
          },
        ],
        lowConfidence: [],
      });
    }
    if (path === '/insights/unanswered/grp_mars/qa') {
      return json(201, {
        id: 'src_mars',
        type: 'qa',
        title: 'Do you ship to Mars?',
        status: 'ready',
      });
    }
    if (path === '/insights/unanswered/grp_spam' && request.method() === 'DELETE') {
      return route.fulfill({ status: 204 });
    }
    if (path === '/integrations/crisp/deliveries') {
      return json(200, {
        deliveries: [
          {
            receivedAt: day(3),
            event: 'message:send',
            sessionId: 'session_mars',
            action: 'queued',
            outcome: 'handoff',
          },
        ],
      });
    }
    return route.fallback();
  };
}

/** Polls an observable state (not a sleep for work) until true or `timeoutMs`. */
async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

describe.if(!hasChromium && required)('dashboard in a browser (required)', () => {
  it('should find Chromium when REQUIRE_BROWSER=1', () => {
    throw new Error(`REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  });
});

describe.if(hasChromium)('dashboard in a browser', () => {
  let server: RunningBinary;
  let groq: FakeGroq;
  let crisp: FakeCrisp;
  let context: BrowserContext;
  let profile: string;
  let chatbotId: string;
  const requests: string[] = [];

  const admin = async (path: string, init: { method?: string; json?: unknown } = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    groq = await startFakeGroq();
    groq.setDefault((req: FakeRequest) => {
      const last = req.body.messages.at(-1)?.content ?? '';
      if (req.kind === 'condense') return fakeRewrite(last.replace(/^[\s\S]*Latest message: /, ''));
      return last.includes('Mars') || JSON.stringify(req.body.messages).includes('Mars')
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
    for (const [sessionId, text] of [
      ['session_refund', 'How long do refunds take?'],
      ['session_mars', 'Do you ship to Mars?'],
    ] as const) {
      const sent = await fetch(hook, delivery(visitorMessage(text, { sessionId })));
      expect(sent.status).toBe(200);
      await until(`${sessionId} answered`, async () => {
        const c = await admin(`${bot}/conversations/${sessionId}`);
        return c.status === 200 && c.body.messages.some((m: { role: string }) => m.role === 'bot');
      });
    }
    profile = mkdtempSync(join(tmpdir(), 'answerdesk-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1000 },
    });
    context.on('request', (request) => requests.push(request.url()));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    crisp?.close();
    await groq?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Opens the page with the token in the fragment; collects console errors and page errors. */
  async function open(width: number): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    await page.setViewportSize({ width, height: 1000 });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const { url } = message.location();
      // A route that is not there yet answers 404, which Chromium reports in the console.
      if (/status of 404/.test(message.text()) && COMING.test(url)) return;
      errors.push(`${message.text()} (${url})`);
    });
    await page.goto(`${server.url}/dashboard#token=${encodeURIComponent(ADMIN)}`);
    return { page, errors };
  }

  const elsewhere = () => {
    const origin = new URL(server.url).origin;
    return requests.filter(
      (url) =>
        !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin,
    );
  };

  it('should open on the chatbot with readable conversations, take the token from the address, say what is not available yet, and add a Q&A in one click', async () => {
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
    expect(requests.some((url) => url.includes(ADMIN))).toBe(false);

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

    // The answer tests are there, none written yet.
    await page.locator('#tests p', { hasText: 'No tests yet.' }).waitFor();
    // The coming routes: said in plain words, nothing broken.
    for (const panel of ['#gaps', '#charts', '#crisp']) {
      await page.locator(`${panel} .not-available`).waitFor();
      expect(await page.locator(`${panel} .not-available`).textContent()).toContain(
        'not available yet',
      );
    }

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

  it('should use the coming routes fully once they answer and run the real answer tests: charts, a gap turned into an edited Q&A, a test run, the delivery log, at 390 px too', async () => {
    const tests = `/api/v1/chatbots/${chatbotId}/tests`;
    for (const question of ['How long do refunds take?', 'Do you ship to Mars?']) {
      const created = await admin(tests, { method: 'POST', json: { question, expect: 'answer' } });
      expect(created.status).toBe(201);
    }
    for (const width of [390, 1280]) {
      const posted: { path: string; body: unknown }[] = [];
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
      });
      await page.route(COMING, comingRoutes(posted));
      await page.setViewportSize({ width, height: 1000 });
      await page.goto(`${server.url}/dashboard#token=${encodeURIComponent(ADMIN)}`);

      // Overview numbers and the gap, without a click.
      await page.locator('#overview-numbers .stat', { hasText: 'conversations' }).waitFor();
      expect(await page.locator('#overview-numbers').textContent()).toContain('231');
      const gap = page.locator('#gaps li.gap').first();
      await gap.waitFor();
      expect(await gap.textContent()).toContain('Asked 7 times');
      expect(await gap.textContent()).toContain('Can you deliver to Mars?');
      expect(await gap.textContent()).toContain('We ship to Earth addresses only.');

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
      await page.locator('#crisp table td', { hasText: 'message:send' }).waitFor();
      expect(await page.locator('#crisp').textContent()).toContain(WEBSITE_ID);

      // The README's picture: the board as a support lead first sees it (docs/dashboard.png).
      if (width === 1280 && Bun.env.DASHBOARD_SCREENSHOT) {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: Bun.env.DASHBOARD_SCREENSHOT, fullPage: false });
      }
      // A group leads to the conversations it came from.
      await gap.getByRole('button', { name: 'See a conversation' }).click();
      const opened = page.locator(
        '#conversations details.conversation[data-session="session_mars"][open]',
      );
      await opened.waitFor();
      expect(await opened.locator('.msg.visitor').first().textContent()).toContain('Mars');

      // The gap becomes a Q&A, edited first.
      await gap.getByRole('button', { name: 'Add as Q&A…' }).click();
      await gap.locator('textarea[name=answer]').fill('We ship to Earth addresses only, for now.');
      await gap.getByRole('button', { name: 'Save as Q&A' }).click();
      await page.locator('#gaps .notice.ok').waitFor();
      // Dismiss the other group; open the conversation a group came from.
      const spam = page.locator('#gaps li.gap').nth(1);
      expect(await spam.textContent()).toContain('No suggested answer yet');
      await spam.getByRole('button', { name: 'Dismiss' }).click();
      await spam.locator('.notice.ok', { hasText: 'Dismissed.' }).waitFor();
      expect(posted).toContainEqual({ path: 'DELETE /insights/unanswered/grp_spam', body: null });
      expect(posted).toContainEqual({
        path: 'POST /insights/unanswered/grp_mars/qa',
        body: {
          question: 'Do you ship to Mars?',
          answer: 'We ship to Earth addresses only, for now.',
        },
      });

      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        width,
      );
      expect(errors).toEqual([]);
      await page.close();
    }
    expect(elsewhere()).toEqual([]);
  }, 60_000);
});
