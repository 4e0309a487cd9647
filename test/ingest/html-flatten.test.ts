import { describe, expect, it } from 'bun:test';
import { parseHTML } from 'linkedom';
import { extractHtml } from '../../src/ingest/html.ts';
import { flattenHtml, HTML_MAX_DEPTH } from '../../src/ingest/html-flatten.ts';

type Node = { nodeType: number; childNodes: ArrayLike<Node> };

/** Deepest element nesting of the DOM linkedom builds (iterative: the input may be deep). */
function domDepth(html: string): number {
  const { document } = parseHTML(html);
  let max = 0;
  const stack: [Node, number][] = [[document as unknown as Node, 0]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, depth] = item;
    max = Math.max(max, depth);
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === 1) stack.push([child, depth + 1]);
    }
  }
  return max;
}

const page = (body: string) =>
  `<!doctype html><html><head><title>Deep</title></head><body>${body}</body></html>`;

describe('flattenHtml', () => {
  it('should leave ordinary markup as linkedom reads it (script text aside: it is escaped)', () => {
    const html = page(
      '<main><h1>Refunds &amp; returns</h1><p>Within <b>30</b> days.<p>Unclosed paragraph<ul><li>one<li>two</ul><img alt="x &quot;y&quot;" src=a.png><br/><table><tr><td>a<td>b</table></main>',
    );
    const flat = flattenHtml(html);
    expect(flat.flattened).toBe(false);
    expect(extractHtml(flat.html)).toEqual(extractHtml(html));
    const dom = (markup: string) =>
      parseHTML(markup)
        .document.toString()
        .replace(/^<!DOCTYPE html>/, '');
    expect(dom(flat.html)).toBe(dom(html));
    const script = page('<script>if (a < b) go("</div>")</script><p>x</p>');
    expect(extractHtml(flattenHtml(script).html)).toEqual(extractHtml(script));
  });

  it('should keep at most HTML_MAX_DEPTH levels of 100,000 nested <div> and keep their text (D2)', () => {
    const n = 100_000;
    const html = page(`${'<div>'.repeat(n)}<p>Deep text.</p>${'</div>'.repeat(n)}<p>After.</p>`);
    const flat = flattenHtml(html);
    expect(flat.flattened).toBe(true);
    expect(domDepth(flat.html)).toBeLessThanOrEqual(HTML_MAX_DEPTH);
    expect(extractHtml(html).text).toBe('Deep text.\n\nAfter.');
  });

  it('should bound depth whatever the parser closes implicitly or never sees closed', () => {
    const tricks = [
      '<p><div></p>'.repeat(5_000), // a </p> with no open <p> creates one: nests in htmlparser2
      `${'<span>'.repeat(5_000)}${'</x>'.repeat(5_000)}`, // closes of nothing
      '<li><ul>'.repeat(5_000),
      `<svg>${'<g/>'.repeat(5_000)}</svg>${'<b/>'.repeat(5_000)}`, // self-closing only in svg
    ];
    for (const body of tricks) {
      expect(domDepth(flattenHtml(page(body)).html)).toBeLessThanOrEqual(HTML_MAX_DEPTH);
    }
  });

  it('should drop the text of scripts it flattens and escape all text it writes', () => {
    const deepScript = `${'<div>'.repeat(HTML_MAX_DEPTH + 5)}<script>${'<div>'.repeat(1_000)}</script>kept`;
    const flat = flattenHtml(page(deepScript));
    expect(flat.html).not.toContain('<script');
    expect(flat.html).toContain('kept');
    expect(domDepth(flat.html)).toBeLessThanOrEqual(HTML_MAX_DEPTH);
    expect(flattenHtml('<p>1 &lt; 2 &amp;&amp; 3 > 2</p>').html).toBe(
      '<p>1 &lt; 2 &amp;&amp; 3 &gt; 2</p>',
    );
  });
});
