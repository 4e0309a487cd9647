// The support lead's dashboard: one page and its files, embedded in the binary and served from
// here (no CDN, no build at run time). Public like /docs: the page asks for the admin token and
// every data call it makes carries it (docs/notes/dashboard.md).
import { Elysia } from 'elysia';
import uplotJs from 'uplot/dist/uPlot.iife.min.js' with { type: 'file' };
import uplotCss from 'uplot/dist/uPlot.min.css' with { type: 'file' };
import apiJs from './client/api.js' with { type: 'file' };
import appJs from './client/app.js' with { type: 'file' };
import boardJs from './client/board.js' with { type: 'file' };
import chartsJs from './client/charts.js' with { type: 'file' };
import conversationsJs from './client/conversations.js' with { type: 'file' };
import dashboardCss from './client/dashboard.css' with { type: 'file' };
import domJs from './client/dom.js' with { type: 'file' };
import gapsJs from './client/gaps.js' with { type: 'file' };
import panelsJs from './client/panels.js' with { type: 'file' };
import { PAGE_HTML } from './page.ts';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Every file under /dashboard/assets/ (the auth allow-list in src/http/auth.ts matches these names). */
export const DASHBOARD_ASSETS: Record<string, { path: string; type: string }> = {
  'app.js': { path: appJs, type: JS },
  'api.js': { path: apiJs, type: JS },
  'board.js': { path: boardJs, type: JS },
  'charts.js': { path: chartsJs, type: JS },
  'conversations.js': { path: conversationsJs, type: JS },
  'dom.js': { path: domJs, type: JS },
  'gaps.js': { path: gapsJs, type: JS },
  'panels.js': { path: panelsJs, type: JS },
  'dashboard.css': { path: dashboardCss, type: CSS },
  // uPlot (pinned in package.json), shipped as is: the page loads it as a classic script.
  'uplot.js': { path: uplotJs, type: JS },
  'uplot.css': { path: uplotCss, type: CSS },
};

/**
 * Only this host: no inline script or style, no other origin for anything (the charts draw on a
 * canvas; uPlot styles its elements through the CSSOM, which `style-src 'self'` allows).
 */
const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': DASHBOARD_CSP,
  // The page takes the token from the address once; no Referer may ever carry the address.
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

const assetHeaders = (type: string) => ({
  'content-type': type,
  'x-content-type-options': 'nosniff',
  // Not immutable: the names carry no version, and a new binary must not serve yesterday's script.
  'cache-control': 'no-cache',
});

export function dashboardRoutes() {
  const app = new Elysia({ name: 'dashboard' }).get(
    '/dashboard',
    () => new Response(PAGE_HTML, { headers: PAGE_HEADERS }),
    {
      detail: {
        tags: ['dashboard'],
        summary: "The support lead's dashboard (HTML page; asks for the admin token)",
        security: [],
        responses: { 200: { description: 'HTML page', content: { 'text/html': {} } } },
      },
    },
  );
  for (const [name, { path, type }] of Object.entries(DASHBOARD_ASSETS)) {
    app.get(
      `/dashboard/assets/${name}`,
      () => new Response(Bun.file(path), { headers: assetHeaders(type) }),
      {
        detail: { hide: true },
      },
    );
  }
  return app;
}
