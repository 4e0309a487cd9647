// The smaller panels: the overview numbers, answer tests, knowledge (with "Add a Q&A") and the
// Crisp connection with its delivery log.
import { api, chatbotPath, isMissing, plain } from './api.js';
import { ago, docsNotice, fill, h, heading, link, notice, notYet, num, usd, when } from './dom.js';
import { qaEditor } from './gaps.js';

/** @typedef {import('./board.js').Board} Board */

/** @param {string} label @param {string} value @param {string} [hint] */
const stat = (label, value, hint) =>
  h(
    'div',
    { class: 'stat' },
    h('span', { class: 'value' }, value),
    h('span', { class: 'label' }, label),
    hint ? h('span', { class: 'hint' }, hint) : null,
  );

/** @param {any} handoffs */
export const handoffTotal = (handoffs) =>
  handoffs && typeof handoffs === 'object'
    ? Object.values(handoffs).reduce((sum, n) => sum + (typeof n === 'number' ? n : 0), 0)
    : null;

/**
 * The numbers a support lead looks at first: the period's outcomes and this month's usage.
 * @param {HTMLElement} el
 * @param {{ totals: any } | null} analytics null when the route is not there yet
 * @param {any} usage
 */
export function renderOverview(el, analytics, usage) {
  const cards = h('div', { class: 'stats' });
  const t = analytics?.totals;
  if (t) {
    cards.append(
      stat('conversations', num(t.conversations)),
      stat('bot answers', num(t.botAnswers)),
      stat('handed to a human', num(handoffTotal(t.handoffs))),
      stat('resolved by the bot', num(t.autoResolved)),
      stat('LLM cost', usd(t.llm?.costUsd)),
    );
  }
  for (const [key, label] of /** @type {const} */ ([
    ['day', 'answered today'],
    ['month', 'answered this month'],
  ])) {
    const w = usage?.[key];
    if (!w) continue;
    cards.append(stat(label, num(w.used), w.limit === null ? 'no limit' : `of ${num(w.limit)}`));
  }
  fill(el, cards, analytics ? null : notYet('Outcome numbers over time are'));
}

/**
 * @param {HTMLElement} el
 * @param {Board} board
 */
export async function loadKnowledge(el, board) {
  const editorBox = h('div');
  const add = h('button', { type: 'button', class: 'primary' }, 'Add a Q&A');
  const list = h('div');
  fill(el, heading('Knowledge', add), editorBox, list);
  add.addEventListener('click', () => {
    add.hidden = true;
    fill(
      editorBox,
      qaEditor({
        onSave: async (qa) => {
          await api(chatbotPath(board.chatbotId, '/sources'), {
            method: 'POST',
            body: { type: 'qa', question: qa.question, answer: qa.answer },
          });
          fill(editorBox, notice('ok', `Added: “${qa.question}”. Run the tests to check.`));
          add.hidden = false;
          await board.refreshSources();
        },
        onCancel: () => {
          fill(editorBox);
          add.hidden = false;
        },
      }),
    );
  });
  board.renderSources = (/** @type {any[] | Error} */ sources) => {
    if (sources instanceof Error) return fill(list, notice('error', plain(sources)));
    if (!sources.length) return fill(list, notice('muted', 'No sources yet: add a Q&A above.'));
    const chunks = sources.reduce(
      (n, s) => n + (typeof s?.chunkCount === 'number' ? s.chunkCount : 0),
      0,
    );
    fill(
      list,
      h('p', { class: 'muted' }, `${sources.length} sources, ${num(chunks)} passages`),
      h(
        'table',
        { class: 'table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Title', 'Type', 'Status', 'Passages', 'Updated'].map((c) => h('th', {}, c)),
          ),
        ),
        h(
          'tbody',
          {},
          sources
            .slice(0, 30)
            .map((s) =>
              h(
                'tr',
                {},
                h('td', {}, s.url ? link(s.url, String(s.title ?? s.url)) : String(s.title ?? '')),
                h('td', {}, String(s.type ?? '')),
                h(
                  'td',
                  {},
                  String(s.status ?? ''),
                  s.error ? h('span', { class: 'muted' }, ` — ${s.error}`) : null,
                ),
                h('td', {}, num(s.chunkCount)),
                h('td', {}, ago(s.updatedAt)),
              ),
            ),
        ),
      ),
    );
  };
  await board.refreshSources();
}

/** Run states that are still moving. */
const RUNNING = new Set(['queued', 'pending', 'running', 'started']);

/**
 * The latest answer-test run and a button to run the tests.
 * @param {HTMLElement} el
 * @param {Board} board
 */
export async function loadTests(el, board) {
  const run = h('button', { type: 'button', class: 'primary', disabled: true }, 'Run the tests');
  const body = h('div', {}, notice('muted', 'Loading…'));
  fill(el, heading('Answer tests', run), body);
  const runKey = `answerdesk.lastRun.${board.chatbotId}`;
  /** @type {any[]} */
  let tests;
  try {
    const data = await api(chatbotPath(board.chatbotId, '/tests'));
    tests = Array.isArray(data?.items) ? data.items : Array.isArray(data?.tests) ? data.tests : [];
  } catch (err) {
    fill(body, isMissing(err) ? notYet('Answer tests are') : notice('error', plain(err)));
    return;
  }
  const byId = new Map(tests.map((t) => [String(t?.id), t]));
  run.disabled = tests.length === 0;
  const intro = h(
    'p',
    { class: 'muted' },
    tests.length ? `${tests.length} tests` : 'No tests yet.',
  );

  const show = (/** @type {any} */ r) => {
    if (!r) return fill(body, intro, h('p', { class: 'muted' }, 'The tests have not run yet.'));
    const results = Array.isArray(r.results) ? r.results : [];
    const failed = results.filter((/** @type {any} */ x) => x?.status === 'fail').length;
    fill(
      body,
      intro,
      h(
        'p',
        {},
        h('strong', {}, RUNNING.has(r.status) ? 'Running…' : `Last run: ${String(r.status ?? '')}`),
        ` · ${results.length - failed} passed, ${failed} failed`,
        r.startedAt || r.createdAt ? ` · ${when(r.startedAt ?? r.createdAt)}` : '',
      ),
      h(
        'ul',
        { class: 'results' },
        results.map((/** @type {any} */ x) => {
          const test = byId.get(String(x?.testId));
          const reasons = Array.isArray(x?.reasons) ? x.reasons.join('; ') : '';
          return h(
            'li',
            { class: `result ${x?.status === 'fail' ? 'fail' : 'pass'}` },
            h(
              'span',
              { class: `badge ${x?.status === 'fail' ? 'bad' : 'ok'}` },
              String(x?.status ?? ''),
            ),
            h('span', {}, String(test?.question ?? test?.name ?? x?.testId ?? '')),
            reasons ? h('span', { class: 'muted' }, ` — ${reasons}`) : null,
            x?.changed ? h('span', { class: 'badge' }, 'changed') : null,
            typeof x?.reply === 'string'
              ? h('details', {}, h('summary', {}, 'Reply'), h('p', { class: 'text' }, x.reply))
              : null,
          );
        }),
      ),
    );
  };

  const follow = async (/** @type {string} */ runId) => {
    const path = chatbotPath(board.chatbotId, `/tests/runs/${encodeURIComponent(runId)}`);
    // A run takes seconds to minutes; a tab left open stops asking after ten.
    for (let i = 0; i < 600; i++) {
      const r = await api(path);
      show(r);
      if (!RUNNING.has(r?.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  run.addEventListener('click', async () => {
    run.disabled = true;
    try {
      const started = await api(chatbotPath(board.chatbotId, '/tests/run'), {
        method: 'POST',
        body: {},
      });
      sessionStorage.setItem(runKey, String(started?.runId));
      await follow(String(started?.runId));
    } catch (err) {
      body.append(notice('error', plain(err)));
    } finally {
      run.disabled = false;
    }
  });

  try {
    const runs = await api(chatbotPath(board.chatbotId, '/tests/runs')).catch((err) => {
      if (isMissing(err)) return null;
      throw err;
    });
    const list = Array.isArray(runs?.items)
      ? runs.items
      : Array.isArray(runs?.runs)
        ? runs.runs
        : [];
    const latestId = list[0]?.runId ?? list[0]?.id ?? sessionStorage.getItem(runKey);
    if (list[0]?.results) show(list[0]);
    else if (latestId) await follow(String(latestId));
    else show(null);
  } catch (err) {
    fill(body, intro, notice('error', plain(err)));
  }
}

/**
 * @param {HTMLElement} el
 * @param {Board} board
 */
export async function loadCrisp(el, board) {
  const body = h('div', {}, notice('muted', 'Loading…'));
  fill(el, heading('Crisp'), body);
  /** @type {any} */
  let status;
  try {
    status = await api(chatbotPath(board.chatbotId, '/integrations/crisp'));
  } catch (err) {
    fill(body, notice('error', plain(err)));
    return;
  }
  if (!status?.connected) {
    fill(
      body,
      ...docsNotice(
        'Crisp is not connected for this chatbot.',
        'Connect it with PUT …/integrations/crisp in the ',
        '.',
      ),
    );
    return;
  }
  const health = status.health ?? {};
  const healthy = health.healthy !== false;
  const log = h('div', {}, notice('muted', 'Loading the delivery log…'));
  fill(
    body,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Website'),
      h('dd', {}, String(status.websiteId ?? '')),
      h('dt', {}, 'Token'),
      h(
        'dd',
        {},
        `${String(status.tier ?? '')} tier${status.signingSecret ? ', signed hooks' : ''}`,
      ),
      h('dt', {}, 'Health'),
      h(
        'dd',
        {},
        h('span', { class: `badge ${healthy ? 'ok' : 'bad'}` }, healthy ? 'healthy' : 'failing'),
        health.lastError ? ` Last error: ${health.lastError} (${when(health.lastErrorAt)})` : '',
        health.lastOkAt ? ` Last success: ${ago(health.lastOkAt)}` : '',
      ),
    ),
    h('h3', {}, 'Recent deliveries'),
    log,
  );
  try {
    const data = await api(chatbotPath(board.chatbotId, '/integrations/crisp/deliveries?limit=20'));
    const rows = Array.isArray(data?.deliveries) ? data.deliveries : [];
    if (!rows.length) return fill(log, notice('muted', 'No delivery received yet.'));
    const cols = ['Received', 'Event', 'Session', 'Action', 'Reason', 'Outcome'];
    fill(
      log,
      h(
        'table',
        { class: 'table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            cols.map((c) => h('th', {}, c)),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((/** @type {any} */ d) =>
            h(
              'tr',
              {},
              [when(d?.receivedAt), d?.event, d?.sessionId, d?.action, d?.reason, d?.outcome].map(
                (v) => h('td', {}, v === null || v === undefined ? '' : String(v)),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    fill(log, isMissing(err) ? notYet('The delivery log is') : notice('error', plain(err)));
  }
}
