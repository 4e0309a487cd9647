// DOM building without HTML strings: every value from the API becomes a text node or an attribute
// set through the DOM, so nothing a visitor typed can ever run in this page. Plus the formats.

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * Creates `<tag>` with properties (`class`, `on<event>` handlers, attributes) and children; strings
 * and numbers become text nodes, never markup.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === 'value' && 'value' in el) {
      /** @type {HTMLInputElement} */ (/** @type {unknown} */ (el)).value = String(value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {(Child | Child[])[]} children
 */
export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A link only for http(s) addresses (a `javascript:` URL from a source stays text).
 * @param {unknown} url
 * @param {string} text
 */
export function link(url, text) {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) return h('span', {}, text);
  return h('a', { href: url, rel: 'noopener noreferrer', target: '_blank' }, text);
}

/** A one-line notice: `kind` is info, ok, warn or error. */
export const notice = (/** @type {string} */ kind, /** @type {string} */ text) =>
  h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);

/**
 * A muted notice and what to do about it in the API docs (this server's Swagger UI): `before`,
 * the link, `after`.
 * @param {string} text
 * @param {string} before
 * @param {string} after
 */
export const docsNotice = (text, before, after) => [
  notice('muted', text),
  h('p', {}, before, link(`${location.origin}/docs`, 'API docs'), after),
];

/**
 * "Not available yet" for a route this server does not have: the page will use it once it does.
 * @param {string} what
 */
export const notYet = (what) =>
  h(
    'p',
    { class: 'notice muted not-available' },
    `${what} not available yet on this server. This part fills in once the server is updated.`,
  );

/** @param {unknown} iso */
export function when(iso) {
  const t = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(t)) return '—';
  return new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** @param {unknown} iso */
export function ago(iso) {
  const t = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(t)) return '—';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** @param {unknown} n */
export const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString() : '—');

/** @param {unknown} n */
export function usd(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 4 : 2)}`;
}

/** @param {unknown} n */
export function ms(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** Handoff reasons in plain words. */
export const REASONS = /** @type {const} */ ({
  no_answer: 'no answer in the knowledge',
  asked_for_human: 'the visitor asked for a person',
  frustration: 'the visitor seemed frustrated',
  error: 'the bot failed (LLM error)',
  quota: 'the message quota was used up',
});

/** @param {unknown} reason */
export const reasonText = (reason) =>
  typeof reason === 'string' && reason in REASONS
    ? REASONS[/** @type {keyof typeof REASONS} */ (reason)]
    : String(reason ?? '');

/**
 * A section heading with an optional line of actions.
 * @param {string} title
 * @param {...Child} actions
 */
export const heading = (title, ...actions) =>
  h('div', { class: 'section-head' }, h('h2', {}, title), h('div', { class: 'actions' }, actions));
