// Recent conversations as a readable chat (visitor, bot, operator); each bot answer shows its
// sources, handoff reason and cost; a filter by outcome; "Add an answer" on a missing answer.
import { api, chatbotPath, plain } from './api.js';
import { ago, fill, h, heading, ms, notice, REASONS, reasonText, usd, when } from './dom.js';
import { qaEditor } from './gaps.js';

/** @typedef {import('./board.js').Board} Board */

/** Conversations whose messages are loaded at once (then "Show more"). */
const PAGE = 20;

const FILTERS = /** @type {const} */ ([
  ['all', 'All outcomes'],
  ['answered', 'Answered by the bot'],
  ['handoff', 'Handed to a human (any reason)'],
  ...Object.entries(REASONS).map(([key, text]) => [`reason:${key}`, `Handed off: ${text}`]),
  ['operator', 'An operator replied'],
]);

/**
 * The outcomes a conversation matches, from its messages (or the list's own field if it has one).
 * @param {any} conversation
 * @returns {Set<string>}
 */
function outcomesOf(conversation) {
  const messages = Array.isArray(conversation?.messages) ? conversation.messages : [];
  const out = new Set(['all']);
  for (const m of messages) {
    if (m?.role === 'operator') out.add('operator');
    if (m?.role === 'bot') {
      if (m.handoffReason) {
        out.add('handoff');
        out.add(`reason:${m.handoffReason}`);
      } else out.add('answered');
    }
  }
  if (typeof conversation?.outcome === 'string') out.add(conversation.outcome);
  return out;
}

/**
 * The sources a bot answer used, cited ones first, from its stored provenance.
 * @param {any} provenance
 * @param {Board} board
 */
function sourcesOf(provenance, board) {
  const retrieval = Array.isArray(provenance?.retrieval) ? provenance.retrieval : [];
  const cited = new Set(Array.isArray(provenance?.citedChunkIds) ? provenance.citedChunkIds : []);
  /** @type {Map<string, boolean>} */
  const bySource = new Map();
  for (const hit of retrieval) {
    const id = typeof hit?.sourceId === 'string' ? hit.sourceId : null;
    if (id) bySource.set(id, (bySource.get(id) ?? false) || cited.has(hit.chunkId));
  }
  return [...bySource]
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .slice(0, 6)
    .map(([id, wasCited]) => {
      const title = board.sources.get(id)?.title;
      return h(
        'span',
        { class: wasCited ? 'chip cited' : 'chip' },
        typeof title === 'string' ? title : 'a removed source',
        wasCited ? ' (cited)' : '',
      );
    });
}

/**
 * One message as a chat bubble.
 * @param {any} m
 * @param {any} previous the message before it (the visitor's question for a bot answer)
 * @param {Board} board
 */
function bubble(m, previous, board) {
  /** @type {'visitor' | 'bot' | 'operator'} */
  const role = m?.role === 'bot' || m?.role === 'operator' ? m.role : 'visitor';
  const who = { visitor: 'Visitor', bot: 'Bot', operator: 'Operator' }[role];
  const el = h(
    'div',
    { class: `msg ${role}` },
    h('div', { class: 'who' }, who, h('time', {}, when(m?.createdAt))),
    h('div', { class: 'text' }, String(m?.content ?? '')),
  );
  if (role !== 'bot') return el;
  const p = m?.provenance ?? {};
  const meta = h('div', { class: 'meta' });
  if (m.handoffReason) {
    meta.append(h('span', { class: 'badge warn' }, `Handed off: ${reasonText(m.handoffReason)}`));
  }
  const sources = sourcesOf(p, board);
  if (sources.length) meta.append(h('span', { class: 'sources' }, 'Sources: ', sources));
  else if (!m.handoffReason) meta.append(h('span', { class: 'muted' }, 'No source found'));
  const cost = [
    p?.usage ? usd(p.usage.costUsd) : null,
    typeof p?.usage?.totalTokens === 'number' ? `${p.usage.totalTokens} tokens` : null,
    typeof p?.latency?.totalMs === 'number' ? ms(p.latency.totalMs) : null,
    typeof p?.model === 'string' ? p.model : null,
  ].filter(Boolean);
  if (cost.length) meta.append(h('span', { class: 'cost' }, cost.join(' · ')));
  el.append(meta);
  if (m.handoffReason === 'no_answer' && previous?.role === 'visitor') {
    const add = h('button', { type: 'button', class: 'small' }, 'Add an answer');
    add.addEventListener('click', () => {
      add.replaceWith(
        qaEditor({
          question: String(previous.content ?? ''),
          onSave: async (qa) => {
            await api(chatbotPath(board.chatbotId, '/sources'), {
              method: 'POST',
              body: { type: 'qa', question: qa.question, answer: qa.answer },
            });
            el.append(notice('ok', 'Added to the knowledge as a Q&A. Run the tests to check.'));
            el.querySelector('form')?.remove();
            void board.refreshSources();
          },
        }),
      );
    });
    el.append(add);
  }
  return el;
}

/**
 * A conversation card: a summary line, then the chat.
 * @param {any} summary list entry
 * @param {any} detail the conversation with its messages
 * @param {Board} board
 */
function card(summary, detail, board) {
  const messages = Array.isArray(detail?.messages) ? detail.messages : [];
  const outcomes = outcomesOf(detail);
  const label = outcomes.has('handoff')
    ? 'handed off'
    : outcomes.has('answered')
      ? 'answered'
      : 'no reply yet';
  const owner = summary?.bot?.state === 'human' ? 'a human has it' : null;
  const el = h(
    'details',
    { class: 'conversation card', 'data-outcomes': [...outcomes].join(' ') },
    h(
      'summary',
      {},
      h('span', { class: 'session' }, String(summary?.channel ?? 'crisp'), ' · ', idOf(summary)),
      h('span', { class: `badge ${label === 'handed off' ? 'warn' : 'ok'}` }, label),
      owner ? h('span', { class: 'badge' }, owner) : null,
      h('span', { class: 'muted' }, `${messages.length} messages · ${ago(summary?.updatedAt)}`),
    ),
    h(
      'div',
      { class: 'chat' },
      messages.map((/** @type {any} */ m, /** @type {number} */ i) =>
        bubble(m, messages[i - 1], board),
      ),
    ),
  );
  return el;
}

const idOf = (/** @type {any} */ c) => String(c?.sessionId ?? c?.externalId ?? c?.id ?? '');

/**
 * Loads the conversation list and the first page of chats; returns a way to open one by id.
 * @param {HTMLElement} el
 * @param {Board} board
 */
export async function loadConversations(el, board) {
  const filter = h(
    'select',
    { 'aria-label': 'Filter by outcome' },
    FILTERS.map(([value, text]) => h('option', { value }, text)),
  );
  const list = h('div', { class: 'conversations' });
  const more = h('button', { type: 'button', hidden: true }, 'Show more');
  fill(el, heading('Recent conversations', filter), list, more);
  const apply = () => {
    for (const c of list.querySelectorAll('details.conversation')) {
      const outcomes = (c.getAttribute('data-outcomes') ?? '').split(' ');
      /** @type {HTMLElement} */ (c).hidden = !outcomes.includes(filter.value);
    }
  };
  filter.addEventListener('change', apply);
  fill(list, notice('muted', 'Loading…'));

  const detailOf = (/** @type {string} */ sessionId) =>
    api(chatbotPath(board.chatbotId, `/conversations/${encodeURIComponent(sessionId)}`));

  board.openConversation = async (sessionId) => {
    const shown = [...list.querySelectorAll('details.conversation')].find(
      (c) => c.getAttribute('data-session') === sessionId,
    );
    try {
      const target = shown ?? card({ sessionId }, await detailOf(sessionId), board);
      target.setAttribute('data-session', sessionId);
      if (!shown) list.prepend(target);
      /** @type {HTMLDetailsElement} */ (target).open = true;
      /** @type {HTMLElement} */ (target).hidden = false;
      target.scrollIntoView({ block: 'start' });
    } catch (err) {
      list.prepend(notice('error', plain(err)));
    }
  };

  /** @type {any[]} */
  let items;
  try {
    const data = await api(chatbotPath(board.chatbotId, '/conversations'));
    items = Array.isArray(data?.items) ? data.items : [];
  } catch (err) {
    fill(list, notice('error', plain(err)));
    return;
  }
  if (!items.length) {
    fill(list, notice('muted', 'No conversations yet.'));
    return;
  }
  list.replaceChildren();
  let shown = 0;
  const showPage = async () => {
    more.hidden = true;
    const page = items.slice(shown, shown + PAGE);
    shown += page.length;
    // Four at a time: quick, without a burst of requests the size of the list.
    const cards = new Array(page.length);
    let next = 0;
    const worker = async () => {
      while (next < page.length) {
        const i = next++;
        try {
          cards[i] = card(page[i], await detailOf(idOf(page[i])), board);
          cards[i].setAttribute('data-session', idOf(page[i]));
        } catch (err) {
          cards[i] = notice('error', `${idOf(page[i])}: ${plain(err)}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const first = list.childElementCount === 0;
    list.append(...cards);
    if (first && cards[0] instanceof HTMLDetailsElement) cards[0].open = true;
    apply();
    more.hidden = shown >= items.length;
  };
  more.addEventListener('click', () => void showPage());
  await showPage();
}
