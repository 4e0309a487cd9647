// "Questions the bot could not answer": the unanswered-question groups with their examples and
// suggested answer; one click turns a group into a Q&A source (edited first) or dismisses it.
import { api, chatbotPath, isMissing, plain } from './api.js';
import { ago, fill, h, heading, notice, notYet } from './dom.js';

/**
 * @typedef {import('./board.js').Board} Board
 * @typedef {{ question: string, answer: string }} Qa
 */

/**
 * A small form to write a question and its answer; `onSave` stores it (and may throw).
 * @param {{ question?: string, answer?: string, saveLabel?: string,
 *   onSave: (qa: Qa) => Promise<void>, onCancel?: () => void }} options
 */
export function qaEditor(options) {
  const question = h('input', {
    name: 'question',
    type: 'text',
    maxlength: 2000,
    required: true,
    value: options.question ?? '',
  });
  const answer = h(
    'textarea',
    { name: 'answer', rows: 4, maxlength: 100000, required: true },
    options.answer ?? '',
  );
  const status = h('p', { class: 'form-status', role: 'status' });
  const save = h(
    'button',
    { type: 'submit', class: 'primary' },
    options.saveLabel ?? 'Save as Q&A',
  );
  const cancel = options.onCancel
    ? h('button', { type: 'button', onclick: options.onCancel }, 'Cancel')
    : null;
  const form = h(
    'form',
    { class: 'qa-editor' },
    h('label', {}, 'Question', question),
    h('label', {}, 'Answer', answer),
    h('div', { class: 'actions' }, save, cancel),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const qa = { question: question.value.trim(), answer: answer.value.trim() };
    if (!qa.question || !qa.answer) {
      fill(status, 'Write both the question and its answer.');
      return;
    }
    save.disabled = true;
    fill(status, 'Saving…');
    try {
      await options.onSave(qa);
      fill(status, '');
    } catch (err) {
      fill(status, plain(err));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

/**
 * One group: how often, examples, the suggested answer, and its actions.
 * @param {any} group
 * @param {Board} board
 */
function groupCard(group, board) {
  const id = String(group?.id ?? '');
  const examples = (Array.isArray(group?.examples) ? group.examples : [])
    .filter((/** @type {unknown} */ e) => typeof e === 'string')
    .slice(0, 5);
  const suggested = typeof group?.suggestedAnswer === 'string' ? group.suggestedAnswer : null;
  const sessions = (Array.isArray(group?.sessionIds) ? group.sessionIds : []).slice(0, 3);
  const groupPath = chatbotPath(board.chatbotId, `/insights/unanswered/${encodeURIComponent(id)}`);
  const card = h('li', { class: 'gap card' });
  const body = h('div', { class: 'gap-body' });
  const actions = h('div', { class: 'actions' });

  const done = (/** @type {string} */ text) => fill(card, notice('ok', text));
  const add = h('button', { type: 'button', class: 'primary' }, 'Add as Q&A…');
  add.addEventListener('click', () => {
    actions.hidden = true;
    body.append(
      qaEditor({
        question: examples[0] ?? '',
        answer: suggested ?? '',
        onSave: async (qa) => {
          await api(`${groupPath}/qa`, { method: 'POST', body: qa });
          done(`Added to the knowledge as a Q&A: “${qa.question}”. Run the tests to check.`);
          void board.refreshSources();
        },
        onCancel: () => {
          body.lastElementChild?.remove();
          actions.hidden = false;
        },
      }),
    );
  });
  const dismiss = h('button', { type: 'button' }, 'Dismiss');
  dismiss.addEventListener('click', async () => {
    dismiss.disabled = true;
    try {
      await api(groupPath, { method: 'DELETE' });
      done('Dismissed.');
    } catch (err) {
      dismiss.disabled = false;
      actions.append(notice('error', plain(err)));
    }
  });
  actions.append(add, dismiss);
  for (const sessionId of sessions) {
    if (typeof sessionId !== 'string') continue;
    actions.append(
      h(
        'button',
        { type: 'button', class: 'link', onclick: () => board.openConversation(sessionId) },
        'See a conversation',
      ),
    );
  }

  fill(
    body,
    h(
      'p',
      { class: 'gap-head' },
      h('strong', {}, `Asked ${group?.count ?? examples.length} times`),
      ` · last ${ago(group?.lastSeenAt)}`,
    ),
    h(
      'ul',
      { class: 'examples' },
      examples.map((/** @type {string} */ e) => h('li', {}, e)),
    ),
    suggested
      ? h(
          'div',
          { class: 'suggested' },
          h('span', { class: 'label' }, 'Suggested answer'),
          suggested,
        )
      : h('p', { class: 'muted' }, 'No suggested answer yet: write one.'),
    actions,
  );
  card.append(body);
  return card;
}

/**
 * Loads and shows the groups for the board's period.
 * @param {HTMLElement} el
 * @param {Board} board
 */
export async function loadGaps(el, board) {
  const head = heading('Questions the bot could not answer');
  fill(el, head, notice('muted', 'Loading…'));
  const query = `?from=${encodeURIComponent(board.from)}&to=${encodeURIComponent(board.to)}`;
  /** @type {any} */
  let data;
  try {
    data = await api(chatbotPath(board.chatbotId, `/insights/unanswered${query}`));
  } catch (err) {
    fill(
      el,
      head,
      isMissing(err) ? notYet('Grouped unanswered questions are') : notice('error', plain(err)),
      h(
        'p',
        { class: 'muted' },
        'Meanwhile: each conversation below that was handed off for lack of an answer has an ' +
          '“Add an answer” button, and “Add a Q&A” under Knowledge adds one directly.',
      ),
    );
    return;
  }
  const groups = Array.isArray(data?.groups) ? data.groups : [];
  const low = Array.isArray(data?.lowConfidence) ? data.lowConfidence : [];
  fill(
    el,
    head,
    groups.length
      ? h(
          'ol',
          { class: 'gaps' },
          groups.map((/** @type {any} */ g) => groupCard(g, board)),
        )
      : notice('ok', 'No unanswered questions in this period.'),
    low.length
      ? h(
          'details',
          { class: 'low-confidence' },
          h('summary', {}, `Answered with low confidence (${low.length})`),
          h(
            'ul',
            {},
            low.slice(0, 50).map((/** @type {any} */ item) => h('li', {}, textOf(item))),
          ),
        )
      : null,
  );
}

/** The readable text of a low-confidence entry, whatever its exact shape. */
function textOf(/** @type {any} */ item) {
  if (typeof item === 'string') return item;
  for (const key of ['question', 'text', 'example', 'message']) {
    if (typeof item?.[key] === 'string') return item[key];
  }
  if (Array.isArray(item?.examples) && typeof item.examples[0] === 'string')
    return item.examples[0];
  return '(no text)';
}
