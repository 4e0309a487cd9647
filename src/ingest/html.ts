// HTML → main content as markdown-ish text (headings as `#`), for the chunker to split on.
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { flattenHtml } from './html-flatten.ts';

export type ExtractedPage = {
  title: string;
  /** Markdown-ish text: `#` headings, paragraphs, `- ` list items, fenced code. */
  text: string;
};

// Chrome of a page that is never knowledge: dropped before anything else looks at the page.
const NEVER_CONTENT = [
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'canvas',
  'iframe',
  'object',
  'embed',
  'form',
  'button',
  'select',
  'input',
  'textarea',
  'dialog',
  'nav',
  'footer',
  'aside',
  '[role="navigation"]',
  '[role="banner"]',
  '[role="contentinfo"]',
  '[role="search"]',
  '[role="dialog"]',
  '[role="alertdialog"]',
  '[aria-hidden="true"]',
  '[hidden]',
].join(',');

/** Class or id words of cookie banners, consent walls, skip links and similar overlays. */
const BOILERPLATE_NAME =
  /(^|[\s_-])(cookies?|consent|gdpr|cc-(banner|window)|onetrust|cookiebot|skip-?link|breadcrumbs?|newsletter|share|social|sidebar|site-?header|site-?footer|menu|toc)([\s_-]|$)/i;

const BLOCKS = new Set([
  'P',
  'DIV',
  'SECTION',
  'ARTICLE',
  'MAIN',
  'HEADER',
  'BLOCKQUOTE',
  'UL',
  'OL',
  'DL',
  'DT',
  'DD',
  'TABLE',
  'THEAD',
  'TBODY',
  'TFOOT',
  'FIGURE',
  'FIGCAPTION',
  'ADDRESS',
  'DETAILS',
  'SUMMARY',
  'HR',
]);

type El = {
  tagName: string;
  nodeType: number;
  childNodes: ArrayLike<El>;
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  querySelector(selector: string): El | null;
  closest(selector: string): El | null;
  remove(): void;
};

/** Drops chrome that is never content: scripts, navigation, footers, cookie banners, forms. */
function stripChrome(root: El): void {
  for (const el of Array.from(root.querySelectorAll(NEVER_CONTENT))) el.remove();
  // A page-level <header> is the site banner; inside an article it is the title block.
  for (const el of Array.from(root.querySelectorAll('header'))) {
    if (!el.closest('article, main, [role="main"]')) el.remove();
  }
  const named = Array.from(root.querySelectorAll('[class],[id]')).filter((el) => {
    if (el.tagName === 'BODY' || el.tagName === 'MAIN' || el.tagName === 'ARTICLE') return false;
    return BOILERPLATE_NAME.test(
      `${el.getAttribute('class') ?? ''} ${el.getAttribute('id') ?? ''}`,
    );
  });
  if (named.length === 0) return;
  const sizes = textSizes(root);
  for (const el of named) {
    // A layout wrapper can carry such a name ("has-sidebar"); only short or link-heavy
    // blocks are dropped, so the content itself never goes with it.
    const { text, links } = sizes.get(el) ?? { text: 0, links: 0 };
    if (text < 1500 || links > text * 0.5) el.remove();
  }
}

/**
 * Characters of text (white space collapsed) under every element, and how many of them are
 * link text, in one bottom-up pass: asking each element for its textContent would cost
 * depth × page size.
 */
function textSizes(root: El): Map<El, { text: number; links: number }> {
  const sizes = new Map<El, { text: number; links: number }>();
  const visit = (node: El): { text: number; links: number } => {
    if (node.nodeType === 3) {
      const text = clean(node.textContent ?? '').length;
      return { text, links: 0 };
    }
    const size = { text: 0, links: 0 };
    if (node.nodeType !== 1) return size;
    for (const child of Array.from(node.childNodes)) {
      const inner = visit(child);
      size.text += inner.text;
      size.links += inner.links;
    }
    if (node.tagName === 'A') size.links = size.text;
    sizes.set(node, size);
    return size;
  };
  visit(root);
  return sizes;
}

const clean = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Renders an element's content as markdown-ish text. Headings keep their level, so the heading
 * path survives into the chunks; links keep only their text (the page URL is the citation).
 */
export function renderMarkdown(root: El): string {
  // Blocks in order; `tight` ones (list items, table rows) join their neighbours with a single
  // newline so a list stays one paragraph for the chunker.
  const out: { text: string; tight: Tight }[] = [];
  let line = '';
  let linePrefix = '';
  // `> ` per enclosing <blockquote>, put before every line of the blocks inside it.
  let quote = '';
  const push = (text: string, tight: Tight = false) => {
    if (text) out.push({ text: quote ? text.replace(/^/gm, quote) : text, tight });
  };
  const flush = (tight: Tight = false) => {
    // Explicit <br> line breaks survive whitespace collapsing as a private sentinel.
    const text = line.split(LINE_BREAK).map(clean).filter(Boolean).join('\n');
    if (text) push(`${linePrefix}${text}`, linePrefix !== '' ? 'list' : tight);
    line = '';
    linePrefix = '';
  };
  const walk = (node: El, listDepth: number): void => {
    if (node.nodeType === 3) {
      line += node.textContent ?? '';
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = node.tagName.toUpperCase();
    const heading = /^H([1-6])$/.exec(tag);
    if (heading) {
      flush();
      push(
        clean(node.textContent ?? '') &&
          `${'#'.repeat(Number(heading[1]))} ${clean(node.textContent ?? '')}`,
      );
      return;
    }
    if (tag === 'PRE') {
      flush();
      const code = (node.textContent ?? '').replace(/\n+$/, '');
      if (code.trim()) push(`\`\`\`\n${code}\n\`\`\``);
      return;
    }
    if (tag === 'BR') {
      line += LINE_BREAK;
      return;
    }
    if (tag === 'IMG') {
      const alt = clean(node.getAttribute('alt') ?? '');
      if (alt) line += ` ${alt} `;
      return;
    }
    if (tag === 'TR') {
      flush();
      const cells = Array.from(node.childNodes)
        .filter((c) => c.nodeType === 1 && /^T[DH]$/i.test(c.tagName))
        .map((c) => clean(c.textContent ?? ''));
      if (cells.some(Boolean)) push(cells.join(' | '), 'row');
      return;
    }
    if (tag === 'LI') {
      flush();
      linePrefix = `${'  '.repeat(Math.max(0, listDepth - 1))}- `;
      for (const child of Array.from(node.childNodes)) walk(child, listDepth);
      flush('list');
      return;
    }
    if (tag === 'UL' || tag === 'OL') {
      flush(linePrefix !== '' ? 'list' : false);
      for (const child of Array.from(node.childNodes)) walk(child, listDepth + 1);
      flush();
      return;
    }
    const block = BLOCKS.has(tag);
    if (block) flush();
    if (tag === 'BLOCKQUOTE') quote += '> ';
    for (const child of Array.from(node.childNodes)) walk(child, listDepth);
    if (block) flush();
    if (tag === 'BLOCKQUOTE') quote = quote.slice(2);
  };
  walk(root, 0);
  flush();
  let text = '';
  out.forEach((block, i) => {
    if (i > 0) text += block.tight && out[i - 1]?.tight === block.tight ? '\n' : '\n\n';
    text += block.text;
  });
  return text;
}

const LINE_BREAK = '\u2028';

type Tight = false | 'list' | 'row';

function pageTitle(document: Document): string {
  const og = document.querySelector('meta[property="og:title"]')?.getAttribute('content');
  const title = document.querySelector('title')?.textContent;
  const h1 = document.querySelector('h1')?.textContent;
  return clean(title || og || h1 || '');
}

/** Minimum text a Readability result must keep to be trusted over the plain fallback. */
const READABILITY_MIN_CHARS = 140;
/**
 * Readability's scoring re-reads the text of every ancestor of every candidate: its cost grows
 * with depth × (text + elements) (128 levels over 100 KB of text: 4.6 s; 180,000 elements:
 * 11 s). Pages past these bounds get the stripped body instead; real pages (depth 10–30, up to
 * a few thousand elements and a few hundred KB of text) stay well within them.
 */
export const READABILITY_MAX_ELEMENTS = 20_000;
export const READABILITY_MAX_DEPTH_X_CHARS = 30_000_000;

/** Parses HTML whose depth is bounded first (html-flatten.ts): no stage below sees a deep tree. */
function parseBounded(html: string) {
  const flat = flattenHtml(html);
  // Markup with no element at all (plain text) still needs a body to read.
  const markup = flat.elements > 0 ? flat.html : `<html><body>${flat.html}</body></html>`;
  const readable =
    flat.elements <= READABILITY_MAX_ELEMENTS &&
    flat.depth * (flat.textChars + flat.elements) <= READABILITY_MAX_DEPTH_X_CHARS;
  return { document: parseHTML(markup).document, readable };
}

/**
 * Extracts a page's main content. Semantic markup wins when present (`<main>`, `[role=main]`,
 * a single `<article>`); otherwise Readability picks the content; when it finds nothing usable,
 * the page body stripped of its chrome is used.
 */
export function extractHtml(html: string, fallbackTitle = ''): ExtractedPage {
  const { document, readable: useReadability } = parseBounded(html);
  const title = pageTitle(document as unknown as Document) || fallbackTitle;
  const body = (document.body ?? document.documentElement) as unknown as El | null;
  if (!body) return { title, text: '' };
  stripChrome(body);

  const articles = body.querySelectorAll('article');
  const semantic =
    body.querySelector('main') ??
    body.querySelector('[role="main"]') ??
    (articles.length === 1 ? (articles[0] ?? null) : null);
  if (semantic) {
    const text = renderMarkdown(semantic);
    if (text) return { title, text };
  }

  let readable: string | null = null;
  if (useReadability) {
    // Readability mutates the document it reads, so it gets its own copy.
    const { document: copy } = parseHTML(
      (document as unknown as { toString(): string }).toString(),
    );
    try {
      const article = new Readability(copy as unknown as Document, {
        serializer: (node) => node,
        charThreshold: READABILITY_MIN_CHARS,
      }).parse();
      if (article?.content) readable = renderMarkdown(article.content as unknown as El);
    } catch {
      readable = null;
    }
  }
  const plain = renderMarkdown(body);
  if (readable && readable.length >= Math.min(READABILITY_MIN_CHARS, plain.length * 0.5)) {
    return { title, text: readable };
  }
  return { title, text: plain };
}

/** Renders an HTML fragment (e.g. mammoth's DOCX output) with no content selection. */
export function htmlFragmentToMarkdown(html: string): string {
  const { document } = parseBounded(`<!doctype html><html><body>${html}</body></html>`);
  const body = document.body as unknown as El | null;
  return body ? renderMarkdown(body) : '';
}
