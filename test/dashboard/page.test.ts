// The dashboard's page and files: public, with a Content-Security-Policy of this host only, no
// inline script, and browser code that never turns data into markup.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARD_ASSETS } from '../../src/dashboard/index.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const CLIENT = join(import.meta.dir, '../../src/dashboard/client');

describe('dashboard page', () => {
  it('should serve the page without a token, with a CSP of this host only and no inline script', async () => {
    const res = await t.request('/dashboard', { auth: false });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [tag, body] of scripts) {
      expect(tag).toMatch(/src="\/dashboard\/assets\/[a-z]+\.js"/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    // Every file the page names is one the server has, on this host.
    for (const [, path] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      if (path === 'data:,') continue;
      expect(path).toStartWith('/dashboard/assets/');
      expect(Object.keys(DASHBOARD_ASSETS)).toContain(path!.slice('/dashboard/assets/'.length));
    }
  });

  it('should serve every file without a token and with its type, and nothing else there', async () => {
    for (const [name, { type }] of Object.entries(DASHBOARD_ASSETS)) {
      const res = await t.request(`/dashboard/assets/${name}`, { auth: false });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    // Every module the client imports is served.
    for (const file of readdirSync(CLIENT).filter((f) => f.endsWith('.js'))) {
      expect(Object.keys(DASHBOARD_ASSETS)).toContain(file);
      const text = readFileSync(join(CLIENT, file), 'utf8');
      for (const [, imported] of text.matchAll(/from '\.\/([a-z]+\.js)'/g)) {
        expect(Object.keys(DASHBOARD_ASSETS)).toContain(imported!);
      }
    }
    const unknown = await t.request('/dashboard/assets/secrets.js', { auth: false });
    expect(unknown.status).toBe(404);
    const admin = await t.request('/dashboard/assets/../../api/v1/chatbots', { auth: false });
    expect(admin.status).not.toBe(200);
  });

  it('should never build markup from strings in the browser code', () => {
    for (const file of readdirSync(CLIENT).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(CLIENT, file), 'utf8');
      expect(text).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      );
      // The token goes in a header only, never into an address.
      expect(text).not.toMatch(/[?&]token=/);
    }
  });
});
