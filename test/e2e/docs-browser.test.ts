// The docs in a real browser: Debian's Chromium (headless, through playwright-core) opens /docs
// served by the compiled binary, authorizes with the admin token, runs an admin call, and makes
// no request to any other host. Runs when /usr/bin/chromium exists; with REQUIRE_BROWSER=1
// (CI) a missing Chromium is a failure, not a skip.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { Page } from 'playwright-core';
import {
  type Browser,
  failWithoutChromium,
  hasChromium,
  launchChromium,
} from '../helpers/browser.ts';
import { type RunningBinary, startBinary } from '../helpers/process.ts';

failWithoutChromium('docs');

describe.if(hasChromium)('docs in a browser', () => {
  let server: RunningBinary;
  let browser: Browser;

  beforeAll(async () => {
    server = await startBinary();
    browser = await launchChromium({ width: 1280, height: 1400 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Opens /docs and authorizes with the admin token, as a person would. */
  async function openDocs() {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/docs`);
    await page.locator('#operations-chatbots-getApiV1Chatbots').waitFor({ timeout: 30_000 });
    // Authorize: paste the admin token into the bearer scheme's dialog.
    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.dialog-ux');
    const input = dialog.locator('input');
    // persistAuthorization keeps the token across pages: then the dialog offers only Logout.
    if ((await input.count()) > 0) {
      await input.first().fill(await server.adminToken());
      await dialog.locator('.auth-btn-wrapper button.authorize').click();
    }
    await dialog.locator('button.btn-done').click();
    return page;
  }

  /** Opens an operation, presses "Try it out", and returns it. */
  async function tryOut(page: Page, id: string) {
    const operation = page.locator(`#${id}`);
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('button.try-out__btn').click();
    return operation;
  }

  it('should render the chatbot routes, authorize, run an admin call, and call no other host', async () => {
    const token = await server.adminToken();
    const page = await openDocs();
    const listOperation = page.locator('#operations-chatbots-getApiV1Chatbots');
    const rendered = await page.locator('.swagger-ui').textContent();
    expect(rendered).toContain('/api/v1/chatbots');
    expect(rendered).toContain('/api/v1/chatbots/{chatbotId}');

    // Try it out → Execute on "List chatbots".
    await listOperation.locator('.opblock-summary').first().click();
    await listOperation.locator('button.try-out__btn').click();
    const answered = page.waitForResponse(
      (r) => r.url() === `${server.url}/api/v1/chatbots` && r.request().method() === 'GET',
    );
    await listOperation.locator('button.execute').click();
    const response = await answered;
    expect(response.status()).toBe(200);
    expect(response.request().headers().authorization).toBe(`Bearer ${token}`);
    await listOperation.locator('.live-responses-table .response-col_status').first().waitFor();
    expect(await listOperation.locator('.live-responses-table').textContent()).toContain('200');

    if (Bun.env.DOCS_SCREENSHOT)
      await page.screenshot({ path: Bun.env.DOCS_SCREENSHOT, fullPage: false });

    const origin = new URL(server.url).origin;
    const elsewhere = browser.requests.filter((url) => {
      if (url.startsWith('data:') || url.startsWith('blob:')) return false;
      return new URL(url).origin !== origin;
    });
    expect(elsewhere).toEqual([]);
    expect(browser.requests.some((url) => url.endsWith('/docs/assets/swagger-ui-bundle.js'))).toBe(
      true,
    );
  }, 120_000);

  it('should create a chatbot with the pre-filled example, and upload a file through a file picker', async () => {
    const page = await openDocs();
    // Try it out → Execute, the example left as it is.
    const create = await tryOut(page, 'operations-chatbots-postApiV1Chatbots');
    expect(JSON.parse(await create.locator('textarea.body-param__text').inputValue())).toEqual({
      name: 'Support bot',
    });
    const created = page.waitForResponse((r) => r.url() === `${server.url}/api/v1/chatbots`);
    await create.locator('button.execute').click();
    const answer = await created;
    expect(answer.status()).toBe(201);
    const chatbot = (await answer.json()) as { id: string; channels: string[]; model: unknown };
    expect([chatbot.channels, chatbot.model]).toEqual([['chat'], null]);

    // Add a source as a file: the form has a file picker, the empty optional fields are ignored.
    const add = await tryOut(page, 'operations-knowledge-postApiV1ChatbotsByChatbotIdSources');
    await add.locator('tr[data-param-name="chatbotId"] input').fill(chatbot.id);
    await add
      .locator('.opblock-section-request-body select.content-type')
      .selectOption('multipart/form-data');
    const picker = add.locator('tr[data-property-name="file"] input[type=file]');
    await picker.setInputFiles({
      name: 'refunds.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('Refunds are paid back within 5 business days.'),
    });
    const uploaded = page.waitForResponse((r) => r.url().endsWith(`/${chatbot.id}/sources`));
    await add.locator('button.execute').click();
    const source = await uploaded;
    expect(source.status()).toBe(202);
    expect(await source.json()).toMatchObject({ type: 'file', title: 'refunds.txt' });
  }, 120_000);
});
