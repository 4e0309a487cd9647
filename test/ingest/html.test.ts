import { describe, expect, it } from 'bun:test';
import { extractHtml, htmlFragmentToMarkdown } from '../../src/ingest/html.ts';

const page = (body: string, head = '<title>Refund policy – Acme Help</title>') =>
  `<!doctype html><html><head>${head}<style>.x{color:red}</style><script>var tracking = 1;</script></head><body>${body}</body></html>`;

const chrome = `
  <header class="site-header"><a href="/">Acme</a><nav><a href="/a">Home</a><a href="/b">Pricing</a></nav></header>
  <div id="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
  <footer>© Acme 2026 · Privacy · Terms</footer>`;

const article = `
  <h1>Refund policy</h1>
  <p>You can ask for a refund within <b>30 days</b> of purchase.</p>
  <h2>How to ask</h2>
  <p>Write to support@acme.test with your order number.<br>We answer within two working days.</p>
  <ul><li>Digital goods</li><li>Gift cards<ul><li>Only unused ones</li></ul></li></ul>
  <h3>Exceptions</h3>
  <p>Sale items are final. Items damaged by the customer cannot be refunded, and shipping costs are not returned unless the item arrived broken.</p>`;

describe('extractHtml', () => {
  it('should keep the title and the heading structure of <main> and drop the chrome', () => {
    const { title, text } = extractHtml(page(`${chrome}<main>${article}</main>`));
    expect(title).toBe('Refund policy – Acme Help');
    expect(text).toContain('# Refund policy');
    expect(text).toContain('## How to ask');
    expect(text).toContain('### Exceptions');
    expect(text).toContain('- Gift cards\n  - Only unused ones');
    expect(text).toContain('order number.\nWe answer');
    for (const gone of ['cookies', 'Pricing', '© Acme', 'tracking', 'color:red', 'Accept all']) {
      expect(text).not.toContain(gone);
    }
  });

  it('should find the content with Readability when the page has no semantic markup', () => {
    const links = Array.from({ length: 12 }, (_, i) => `<a href="/p${i}">Link ${i}</a>`).join(' ');
    const html = page(
      `<div class="top">${links}</div>${chrome}<div class="wrap"><div class="post">${article}${article.replaceAll('Refund', 'Return')}</div><div class="related">${links}</div></div>`,
    );
    const { text } = extractHtml(html);
    expect(text).toContain('## How to ask');
    expect(text).toContain('Sale items are final.');
    expect(text).not.toContain('cookies');
    expect(text).not.toContain('Link 3');
  });

  it('should fall back to the stripped body when Readability finds nothing', () => {
    const { title, text } = extractHtml(page(`${chrome}<div>Opening hours: 9–17.</div>`, ''));
    expect(title).toBe('');
    expect(text).toBe('Opening hours: 9–17.');
  });

  it('should use og:title or the first heading when there is no <title>', () => {
    expect(extractHtml(page('<main><h1>Shipping</h1><p>Fast.</p></main>', '')).title).toBe(
      'Shipping',
    );
    expect(
      extractHtml(page('<main><p>x</p></main>', '<meta property="og:title" content="OG title">'))
        .title,
    ).toBe('OG title');
  });

  it('should render tables as rows of cells and code blocks fenced', () => {
    const text = htmlFragmentToMarkdown(
      '<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Pro</td><td>9 €</td></tr></table><pre><code># not a heading\nrun()</code></pre>',
    );
    expect(text).toBe('Plan | Price\nPro | 9 €\n\n```\n# not a heading\nrun()\n```');
  });

  it('should render quotes as > lines, also a page made of a quote (no endless recursion)', () => {
    expect(htmlFragmentToMarkdown('<p>He said:</p><blockquote><p>Ship it.</p></blockquote>')).toBe(
      'He said:\n\n> Ship it.',
    );
    const { text } = extractHtml(
      page('<main><blockquote><p>Quoted refund rules.</p></blockquote></main>'),
    );
    expect(text).toBe('> Quoted refund rules.');
  });
});
