// The docs in a real browser: Debian's Chromium (headless, through playwright-core) opens /docs
// served by the compiled binary, authorizes with the admin token, runs an admin call, and makes
// no request to any other host. Runs when /usr/bin/chromium exists; with REQUIRE_BROWSER=1
// (CI) a missing Chromium is a failure, not a skip.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { type RunningBinary, startBinary } from '../helpers/process.ts';

const CHROMIUM = Bun.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const required = Bun.env.REQUIRE_BROWSER === '1';

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

describe.if(!hasChromium && required)('docs in a browser (required)', () => {
  it('should find Chromium when REQUIRE_BROWSER=1', () => {
    throw new Error(`REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  });
});

describe.if(hasChromium)('docs in a browser', () => {
  let server: RunningBinary;
  let context: BrowserContext;
  let profile: string;
  const requests: string[] = [];

  beforeAll(async () => {
    server = await startBinary();
    profile = mkdtempSync(join(tmpdir(), 'answerdesk-chromium-'));
    // A persistent context is how Playwright takes a fresh --user-data-dir of our own.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1400 },
    });
    context.on('request', (request) => requests.push(request.url()));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('should render the chatbot routes, authorize, run an admin call, and call no other host', async () => {
    const token = await server.adminToken();
    const page = await context.newPage();
    await page.goto(`${server.url}/docs`);
    const listOperation = page.locator('#operations-chatbots-getApiV1Chatbots');
    await listOperation.waitFor({ timeout: 30_000 });
    const rendered = await page.locator('.swagger-ui').textContent();
    expect(rendered).toContain('/api/v1/chatbots');
    expect(rendered).toContain('/api/v1/chatbots/{chatbotId}');

    // Authorize: paste the admin token into the bearer scheme's dialog.
    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.dialog-ux');
    await dialog.locator('input').first().fill(token);
    await dialog.locator('.auth-btn-wrapper button.authorize').click();
    await dialog.locator('button.btn-done').click();

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
    const elsewhere = requests.filter((url) => {
      if (url.startsWith('data:') || url.startsWith('blob:')) return false;
      return new URL(url).origin !== origin;
    });
    expect(elsewhere).toEqual([]);
    expect(requests.some((url) => url.endsWith('/docs/assets/swagger-ui-bundle.js'))).toBe(true);
  }, 120_000);
});
