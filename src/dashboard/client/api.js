// The admin API as the page uses it: the token (this tab's sessionStorage only), JSON calls that
// carry it, and every failure turned into one sentence a support lead can act on.

const TOKEN_KEY = 'answerdesk.adminToken';

/** A failed call: `status` 0 when the server could not be reached at all. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message plain words, shown as is
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Takes `#token=…` from the address once, keeps it for this tab, and removes it from the address
 * bar and history (the fragment never reaches the server; now it cannot be bookmarked either).
 */
export function takeTokenFromAddress() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  let value = '';
  try {
    value = decodeURIComponent(match[1] ?? '').trim();
  } catch {
    value = '';
  }
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  history.replaceState(history.state, '', location.pathname + location.search);
}

export const token = {
  /** @returns {string | null} */
  get: () => sessionStorage.getItem(TOKEN_KEY),
  /** @param {string} value */
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** @type {() => void} */
let onUnauthorized = () => {};

/** What to do when the server refuses the token (the page asks for it again). */
export function whenUnauthorized(/** @type {() => void} */ handler) {
  onUnauthorized = handler;
}

/**
 * A sentence for a failed answer, from the server's error envelope when it sent one.
 * @param {number} status
 * @param {{ code?: string, message?: string, requestId?: string } | undefined} error
 */
function describe(status, error) {
  const said = typeof error?.message === 'string' ? error.message.slice(0, 300) : '';
  if (status === 401) return 'The admin token was refused. Enter it again.';
  if (status === 404) return said || 'Not found.';
  if (status === 413) return `That is larger than the server accepts. ${said}`.trim();
  if (status === 422 || status === 400) return `The server did not accept this: ${said}`;
  if (status === 429) return 'Too many requests at once: wait a moment and try again.';
  if (status >= 500) {
    const ref = error?.requestId ? ` (reference ${error.requestId})` : '';
    return `The server could not do this: ${said || `error ${status}`}${ref}`;
  }
  return said || `The server answered ${status}.`;
}

/**
 * Calls the admin API with the token; resolves with the JSON answer (null for an empty one).
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  const headers = new Headers({ accept: 'application/json' });
  const current = token.get();
  if (current) headers.set('authorization', `Bearer ${current}`);
  if (options.body !== undefined) headers.set('content-type', 'application/json');
  let response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(
      0,
      'NETWORK',
      'Cannot reach the answerdesk server. Check that it is running, then reload this page.',
    );
  }
  const text = await response.text();
  /** @type {any} */
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized();
    const error = body?.error;
    throw new ApiError(response.status, error?.code ?? 'HTTP', describe(response.status, error));
  }
  return body;
}

/** True for a 404 from a route this server does not have yet (the chatbot itself was found). */
export const isMissing = (/** @type {unknown} */ err) =>
  err instanceof ApiError && err.status === 404;

/** A plain sentence for anything thrown. */
export const plain = (/** @type {unknown} */ err) =>
  err instanceof ApiError ? err.message : 'Something went wrong in this page. Reload it to retry.';

/**
 * `/api/v1/chatbots/{id}{rest}` with the id escaped.
 * @param {string} chatbotId
 * @param {string} [rest]
 */
export const chatbotPath = (chatbotId, rest = '') =>
  `/api/v1/chatbots/${encodeURIComponent(chatbotId)}${rest}`;

/** The public readiness answer (no token): storage and the LLM's last check. */
export async function readiness() {
  try {
    const response = await fetch('/readyz', { cache: 'no-store', credentials: 'omit' });
    return await response.json();
  } catch {
    return null;
  }
}
