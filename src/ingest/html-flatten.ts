// Bounds the nesting depth of HTML before any DOM is built, in one linear pass.
//
// Why: htmlparser2's tree builder (inside linkedom) keeps its open elements in an array it
// searches and shifts from the front, so 100k nested tags cost seconds there alone, and
// Readability's scoring walks ancestors and subtrees: its cost grows with depth × elements
// (1,500 nested <div> took 10 s and 1.7 GiB). Browsers bound depth too (Blink and WebKit attach
// elements beyond 512 levels to the element at that level). docs/notes/ingestion.md has figures.
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/** Nesting kept; elements deeper than this lose their tags (their text stays, in order). */
export const HTML_MAX_DEPTH = 128;

// htmlparser2's own void elements: never pushed, never closed (a subset would also be safe).
const VOID = new Set(
  'area base basefont br col command embed frame hr img input isindex keygen link meta param source track wbr'.split(
    ' ',
  ),
);
/** Elements whose start implicitly ends an open <p> (so old-style unclosed <p>s do not nest). */
const CLOSES_P = new Set(
  'address article aside blockquote details div dl fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr main nav ol p pre section table ul'.split(
    ' ',
  ),
);
/** Optional end tags of lists and tables: the new element ends an open sibling of these kinds. */
const ENDS_SIBLING: Record<string, readonly string[]> = {
  li: ['li'],
  dt: ['dt', 'dd'],
  dd: ['dt', 'dd'],
  tr: ['tr', 'td', 'th'],
  td: ['td', 'th'],
  th: ['td', 'th'],
  option: ['option'],
  tbody: ['thead', 'tbody'],
  tfoot: ['thead', 'tbody'],
};
/** Text inside these is never content; when such an element is flattened its text is dropped. */
const RAW = new Set(['script', 'style', 'template', 'noscript', 'textarea', 'svg', 'math']);
const ATTRIBUTE_NAME = /^[^\s"'<>/=]+$/;

const TEXT_SPECIAL = /[&<>]/;
const ATTRIBUTE_SPECIAL = /[&"]/;
const escapeText = (s: string) =>
  TEXT_SPECIAL.test(s)
    ? s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
    : s;
const escapeAttribute = (s: string) =>
  ATTRIBUTE_SPECIAL.test(s) ? s.replaceAll('&', '&amp;').replaceAll('"', '&quot;') : s;

export type FlattenedHtml = {
  html: string;
  /** Elements kept, deepest nesting kept and characters of text: for the caller's cost bounds. */
  elements: number;
  depth: number;
  textChars: number;
  /** True when some elements were deeper than the limit and lost their tags. */
  flattened: boolean;
};

/**
 * Re-serialises `html` with at most `maxDepth` levels of nesting, in time linear in its length.
 * It tokenises with htmlparser2's tokenizer (the one linkedom parses with, so tags, attributes
 * and raw text are read the same way), tracks open elements with the common implied end tags,
 * and writes explicitly balanced markup with escaped text. Balanced output matters: whatever
 * htmlparser2's tree builder then closes implicitly can only make the tree shallower, so the
 * DOM built from the result is never deeper than `maxDepth`. Comments, doctype and processing
 * instructions are dropped (no content lives there).
 */
export function flattenHtml(html: string, maxDepth = HTML_MAX_DEPTH): FlattenedHtml {
  const out: string[] = [];
  const stack: string[] = [];
  // Open elements by name: `</x>` with no open x is ignored in O(1), not by a search.
  const openCount = new Map<string, number>();
  let foreign = 0; // open <svg>/<math>: there `<x/>` closes itself, as in htmlparser2
  let rawDropped = 0; // flattened raw-text elements open: their text is dropped
  let elements = 0;
  let depth = 0;
  let textChars = 0;
  let flattened = false;
  // A flattened tag leaves one space (words stay apart); a run of them leaves one in all.
  let spaced = false;
  const space = () => {
    if (!spaced) out.push(' ');
    spaced = true;
  };

  let tagName = '';
  let attributes = '';
  let attributeName = '';
  let attributeValue = '';

  const slice = (start: number, end: number) => html.slice(start, end);
  const text = (s: string) => {
    if (rawDropped > 0 || !s) return;
    out.push(escapeText(s));
    textChars += s.length;
    spaced = false;
  };
  const push = (name: string) => {
    const kept = stack.length < maxDepth;
    stack.push(name);
    openCount.set(name, (openCount.get(name) ?? 0) + 1);
    if (name === 'svg' || name === 'math') foreign++;
    if (kept) {
      elements++;
      depth = Math.max(depth, stack.length);
      spaced = false;
      out.push(`<${name}${attributes}>`);
    } else {
      flattened = true;
      if (RAW.has(name)) rawDropped++;
      space();
    }
  };
  const pop = () => {
    const name = stack.pop();
    if (name === undefined) return;
    openCount.set(name, (openCount.get(name) ?? 1) - 1);
    if (name === 'svg' || name === 'math') foreign--;
    if (stack.length < maxDepth) {
      spaced = false;
      out.push(`</${name}>`);
    } else {
      if (RAW.has(name)) rawDropped--;
      space();
    }
  };
  const closeUpTo = (name: string) => {
    if (!openCount.get(name)) return;
    while (stack.length > 0 && stack[stack.length - 1] !== name) pop();
    pop();
  };
  const open = (selfClosing: boolean) => {
    const name = tagName;
    const top = stack[stack.length - 1];
    if (top === 'p' && CLOSES_P.has(name)) pop();
    const ends = ENDS_SIBLING[name];
    while (ends && stack.length > 0 && ends.includes(stack[stack.length - 1] ?? '')) pop();
    if (VOID.has(name)) {
      if (stack.length < maxDepth) {
        elements++;
        spaced = false;
        out.push(`<${name}${attributes}>`);
      }
    } else {
      push(name);
      if (selfClosing && foreign > 0) pop();
    }
    tagName = '';
    attributes = '';
  };

  const callbacks: TokenizerCallbacks = {
    ontext: (start, end) => text(slice(start, end)),
    ontextentity: (codepoint) => text(String.fromCodePoint(codepoint)),
    onopentagname: (start, end) => {
      tagName = slice(start, end).toLowerCase();
      attributes = '';
    },
    onattribname: (start, end) => {
      attributeName = slice(start, end);
      attributeValue = '';
    },
    onattribdata: (start, end) => {
      attributeValue += slice(start, end);
    },
    onattribentity: (codepoint) => {
      attributeValue += String.fromCodePoint(codepoint);
    },
    onattribend: () => {
      if (ATTRIBUTE_NAME.test(attributeName)) {
        attributes += ` ${attributeName}="${escapeAttribute(attributeValue)}"`;
      }
    },
    onopentagend: () => open(false),
    onselfclosingtag: () => open(true),
    onclosetag: (start, end) => {
      const name = slice(start, end).toLowerCase();
      if (name === 'br') {
        // htmlparser2 reads </br> as <br>.
        tagName = 'br';
        attributes = '';
        open(false);
      } else if (!VOID.has(name)) closeUpTo(name);
    },
    oncdata: () => {},
    oncomment: () => {},
    ondeclaration: () => {},
    onprocessinginstruction: () => {},
    onend: () => {},
  };
  const tokenizer = new Tokenizer({ xmlMode: false, decodeEntities: true }, callbacks);
  tokenizer.write(html);
  tokenizer.end();
  while (stack.length > 0) pop();
  return { html: out.join(''), elements, depth, textChars, flattened };
}
