// Debian's Chromium for the browser tests (headless, through playwright-core): where it is,
// whether CI requires it, and a fresh profile that records every request the pages make.

import { describe, it } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = Bun.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** CI (REQUIRE_BROWSER=1): a missing Chromium is a failure, not a skip. */
const browserRequired = Bun.env.REQUIRE_BROWSER === '1';
const MISSING_CHROMIUM = `REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`;

/** With REQUIRE_BROWSER=1 and no Chromium, a failing test stands where `what`'s browser tests would. */
export function failWithoutChromium(what: string): void {
  describe.if(!hasChromium && browserRequired)(`${what} in a browser (required)`, () => {
    it('should find Chromium when REQUIRE_BROWSER=1', () => {
      throw new Error(MISSING_CHROMIUM);
    });
  });
}

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

export type Browser = {
  context: BrowserContext;
  /** Every URL the pages asked for, in order. */
  requests: string[];
  close(): Promise<void>;
};

/** A persistent context: how Playwright takes a fresh --user-data-dir of our own. */
export async function launchChromium(viewport: {
  width: number;
  height: number;
}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'answerdesk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  return {
    context,
    requests,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
