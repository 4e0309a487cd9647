import { describe, expect, it } from 'bun:test';
import { IngestError } from '../../src/ingest/errors.ts';
import { parseRobots } from '../../src/ingest/robots.ts';
import { maybeGunzip, parseSitemap, SITEMAP_MAX_ENTRIES } from '../../src/ingest/sitemap.ts';

const u = (path: string) => `https://docs.test${path}`;

describe('parseRobots', () => {
  const robots = `
# comments are ignored
User-agent: *
Disallow: /private
Allow: /private/public-page
Disallow: /*.pdf$
Disallow: /search?
Crawl-delay: 2

User-agent: OtherBot
Disallow: /

Sitemap: https://docs.test/sitemap.xml
`;

  it('should honour Disallow and the longer Allow for the * group', () => {
    const r = parseRobots(robots, 'answerdesk');
    expect(r.isAllowed(u('/help/refunds'))).toBe(true);
    expect(r.isAllowed(u('/private/notes'))).toBe(false);
    expect(r.isAllowed(u('/private/public-page'))).toBe(true);
    expect(r.isAllowed(u('/files/a.pdf'))).toBe(false);
    expect(r.isAllowed(u('/files/a.pdf?x=1'))).toBe(true);
    expect(r.isAllowed(u('/search?q=1'))).toBe(false);
    expect(r.isAllowed(u('/robots.txt'))).toBe(true);
    expect(r.crawlDelayMs).toBe(2000);
    expect(r.sitemaps).toEqual(['https://docs.test/sitemap.xml']);
  });

  it('should prefer the group naming our agent over *', () => {
    const r = parseRobots(
      `User-agent: *\nDisallow: /\n\nUser-agent: AnswerDesk\nDisallow: /admin\n`,
      'answerdesk',
    );
    expect(r.isAllowed(u('/help'))).toBe(true);
    expect(r.isAllowed(u('/admin/x'))).toBe(false);
  });

  it('should merge a group listing several agents and ignore other agents', () => {
    const r = parseRobots(
      `User-agent: a\nUser-agent: answerdesk\nDisallow: /x\n\nUser-agent: b\nDisallow: /\n`,
      'answerdesk',
    );
    expect(r.isAllowed(u('/x/1'))).toBe(false);
    expect(r.isAllowed(u('/y'))).toBe(true);
  });

  it('should let Allow win a tie and treat an empty Disallow as no rule', () => {
    expect(
      parseRobots('User-agent: *\nDisallow: /a\nAllow: /a\n', 'answerdesk').isAllowed(u('/a')),
    ).toBe(true);
    expect(parseRobots('User-agent: *\nDisallow:\n', 'answerdesk').isAllowed(u('/'))).toBe(true);
  });

  it('should match percent-encoded and non-ASCII paths alike', () => {
    const r = parseRobots('User-agent: *\nDisallow: /café\n', 'answerdesk');
    expect(r.isAllowed(u('/caf%C3%A9/menu'))).toBe(false);
  });
});

describe('parseRobots matching', () => {
  it('should match * and $ patterns exactly, in time linear in the path', () => {
    const r = parseRobots(
      `User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*b\nDisallow: /x*y$\nAllow: /x*y*z\nDisallow: /*`,
      'answerdesk',
    );
    // A backtracking regex took 15 s on this path; the rule does not match it.
    expect(r.isAllowed(u(`/${'a'.repeat(40)}`))).toBe(false); // by "/*", not by the a…b rule
    const s = parseRobots(`User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*b\n`, 'answerdesk');
    expect(s.isAllowed(u(`/${'a'.repeat(5_000)}`))).toBe(true);
    expect(s.isAllowed(u(`/${'a'.repeat(12)}b`))).toBe(false);
    expect(r.isAllowed(u('/x-and-y'))).toBe(false);
    expect(r.isAllowed(u('/x-and-y-and-z'))).toBe(true);
    expect(r.isAllowed(u('/xy?q'))).toBe(false); // by "/*"
    const t = parseRobots('User-agent: *\nDisallow: /x*y$\n', 'answerdesk');
    expect(t.isAllowed(u('/xy'))).toBe(false);
    expect(t.isAllowed(u('/xyz'))).toBe(true);
    expect(t.isAllowed(u('/x'))).toBe(true);
  });
});

describe('parseSitemap', () => {
  it('should read a urlset with entities, CDATA and namespaces', async () => {
    const out = await parseSitemap(`<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <!-- <url><loc>https://docs.test/commented</loc></url> -->
  <url><loc> https://docs.test/a?x=1&amp;y=2 </loc><lastmod>2026-01-01</lastmod></url>
  <url><loc><![CDATA[https://docs.test/b]]></loc></url>
</urlset>`);
    expect(out).toEqual({
      kind: 'urlset',
      urls: ['https://docs.test/a?x=1&y=2', 'https://docs.test/b'],
    });
  });

  it('should read a sitemap index', async () => {
    const out = await parseSitemap(
      '<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>https://docs.test/s1.xml</sm:loc></sm:sitemap></sm:sitemapindex>',
    );
    expect(out).toEqual({ kind: 'index', sitemaps: ['https://docs.test/s1.xml'] });
  });

  it('should read the plain text form and refuse what is not a sitemap', async () => {
    expect(await parseSitemap('https://docs.test/a\nhttps://docs.test/b\n')).toEqual({
      kind: 'urlset',
      urls: ['https://docs.test/a', 'https://docs.test/b'],
    });
    expect(await parseSitemap('<!doctype html><html><body>hi</body></html>')).toBeNull();
  });

  it('should read a sitemap trailing 400 KB of unclosed <url> tags, in linear time (D6)', async () => {
    const out = await parseSitemap(
      `<urlset><url><loc>https://docs.test/a</loc></url>${'<url>'.repeat(80_000)}</urlset>`,
    );
    expect(out).toEqual({ kind: 'urlset', urls: ['https://docs.test/a'] });
    // Unterminated comments end the reading instead of being searched again and again.
    expect(
      await parseSitemap(
        `<urlset><url><loc>https://docs.test/a</loc></url>${'<!--'.repeat(50_000)}`,
      ),
    ).toEqual({ kind: 'urlset', urls: ['https://docs.test/a'] });
  });

  it('should skip an entry with an invalid character or entity and read the others (D9)', async () => {
    const entries = ['a&#x110000;', 'b&#0;', 'c&#xD800;', 'd&nbsp;', 'e&#x41;', 'f&#66;&amp;g=1'];
    const out = await parseSitemap(
      `<urlset>${entries.map((e) => `<url><loc>https://docs.test/${e}</loc></url>`).join('')}</urlset>`,
    );
    expect(out).toEqual({
      kind: 'urlset',
      urls: ['https://docs.test/eA', 'https://docs.test/fB&g=1'],
    });
  });

  it('should read at most SITEMAP_MAX_ENTRIES entries of one file', async () => {
    const urls = Array.from(
      { length: SITEMAP_MAX_ENTRIES + 10 },
      (_, i) => `https://docs.test/${i}`,
    );
    const xml = await parseSitemap(
      `<urlset>${urls.map((u) => `<url><loc>${u}</loc></url>`).join('')}</urlset>`,
    );
    expect(xml?.kind === 'urlset' && xml.urls.length).toBe(SITEMAP_MAX_ENTRIES);
    const text = await parseSitemap(urls.join('\n'));
    expect(text?.kind === 'urlset' && text.urls.length).toBe(SITEMAP_MAX_ENTRIES);
  });

  it('should un-gzip a compressed sitemap and stop a gzip bomb at the cap', async () => {
    const gz = Bun.gzipSync(new TextEncoder().encode('https://docs.test/a'));
    expect(new TextDecoder().decode(await maybeGunzip(gz, 1000))).toBe('https://docs.test/a');
    const bomb = Bun.gzipSync(new Uint8Array(50 * 1_048_576));
    expect(bomb.byteLength).toBeLessThan(100_000);
    await expect(maybeGunzip(bomb, 1_048_576)).rejects.toThrow('larger than');
    // An IngestError: its reason reaches the source as it is (not "could not be decompressed").
    await expect(maybeGunzip(bomb, 1_048_576)).rejects.toBeInstanceOf(IngestError);
  });
});
