// The dashboard's entry: takes the token (from `#token=…` once, else asks for it like the Swagger
// UI), shows the server's readiness, and opens the only or most recently active chatbot.
import {
  api,
  chatbotPath,
  plain,
  readiness,
  takeTokenFromAddress,
  token,
  whenUnauthorized,
} from './api.js';
import { openBoard } from './board.js';
import { docsNotice, fill, h, notice } from './dom.js';

// First of all: the address must not keep the token a moment longer than needed.
takeTokenFromAddress();

const CHOSEN_KEY = 'answerdesk.chatbot';
/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const gate = byId('token-gate');
const board = byId('board');
const picker = /** @type {HTMLSelectElement} */ (byId('chatbot-picker'));
const banner = byId('banner');

/** Asks for the token, with why when it was refused. @param {string} [why] */
function askForToken(why) {
  board.hidden = true;
  picker.parentElement?.setAttribute('hidden', '');
  gate.hidden = false;
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    required: true,
    'aria-label': 'Admin token',
  });
  const form = h(
    'form',
    { class: 'token-form' },
    h('label', {}, 'Admin token', input),
    h('button', { type: 'submit', class: 'primary' }, 'Open the dashboard'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    token.set(input.value);
    void start();
  });
  fill(
    gate,
    h('h2', {}, 'Sign in'),
    why ? notice('error', why) : null,
    h(
      'p',
      {},
      'Paste the admin token: the ADMIN_TOKEN setting, or the file admin-token in the data ' +
        'directory. It is kept in this tab only, and sent to this server only.',
    ),
    form,
  );
  input.focus();
}

whenUnauthorized(() => {
  token.clear();
  askForToken('The admin token was refused. Enter it again.');
});

/** The readiness badge in the top bar, and a banner when the bot cannot answer. */
async function showReadiness() {
  const ready = await readiness();
  const badge = byId('llm-status');
  const llm = ready?.llm ? { status: ready.llm, reason: ready.llmReason ?? null } : null;
  if (!llm) {
    fill(badge, h('span', { class: 'badge' }, 'LLM: unknown'));
    return;
  }
  const good = llm.status === 'ok';
  const text = `LLM: ${llm.status}`;
  fill(
    badge,
    h(
      'span',
      {
        class: `badge ${good ? 'ok' : llm.status === 'unknown' ? '' : 'bad'}`,
        title: llm.reason ?? '',
      },
      text,
    ),
  );
  const problems = [];
  if (!good && llm.status !== 'unknown') {
    problems.push(
      `The bot cannot use its LLM (${llm.status}: ${llm.reason}). Every conversation is handed to a human until this is fixed.`,
    );
  }
  if (ready.status === 'not_ready') {
    const failed = (ready.checks ?? []).filter((/** @type {any} */ c) => !c.ok);
    problems.push(
      `The server is not ready: ${failed.map((/** @type {any} */ c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join(', ')}.`,
    );
  }
  banner.hidden = problems.length === 0;
  fill(
    banner,
    problems.map((p) => h('p', {}, p)),
  );
}

/**
 * The chatbot to open: the one chosen before in this tab, else the only one, else the one with
 * the latest conversation (its `updatedAt` when none has any).
 * @param {any[]} chatbots
 */
async function mostRecent(chatbots) {
  const chosen = sessionStorage.getItem(CHOSEN_KEY);
  const kept = chatbots.find((c) => c.id === chosen);
  if (kept || chatbots.length === 1) return kept ?? chatbots[0];
  const activity = await Promise.all(
    chatbots.slice(0, 20).map(async (c) => {
      const data = await api(chatbotPath(c.id, '/conversations')).catch(() => null);
      const last = data?.items?.[0]?.updatedAt ?? c.updatedAt;
      return { c, at: Date.parse(last) || 0 };
    }),
  );
  activity.sort((a, b) => b.at - a.at);
  return activity[0]?.c ?? chatbots[0];
}

async function start() {
  if (!token.get()) return askForToken();
  /** @type {any[]} */
  let chatbots;
  try {
    const data = await api('/api/v1/chatbots');
    chatbots = Array.isArray(data?.items) ? data.items : [];
  } catch (err) {
    // A refused token already shows the sign-in form.
    if (!token.get()) return;
    gate.hidden = false;
    fill(gate, notice('error', plain(err)));
    return;
  }
  gate.hidden = true;
  board.hidden = false;
  if (!chatbots.length) {
    fill(
      board,
      ...docsNotice(
        'No chatbot yet.',
        'Create one with POST /api/v1/chatbots in the ',
        ', then reload this page.',
      ),
    );
    return;
  }
  const first = await mostRecent(chatbots);
  fill(
    picker,
    chatbots.map((c) =>
      h('option', { value: c.id, selected: c.id === first.id }, String(c.name ?? c.id)),
    ),
  );
  picker.parentElement?.removeAttribute('hidden');
  picker.onchange = () => {
    const next = chatbots.find((c) => c.id === picker.value);
    if (!next) return;
    sessionStorage.setItem(CHOSEN_KEY, next.id);
    openBoard(board, next);
  };
  openBoard(board, first);
}

byId('sign-out').addEventListener('click', () => {
  token.clear();
  askForToken();
});

void showReadiness();
// The LLM check runs every few minutes on the server; a tab left open follows it.
setInterval(() => void showReadiness(), 60_000);
void start();
