// One chatbot's board: its overview at once, then the gaps, tests, charts, conversations,
// knowledge and Crisp panels, each loading on its own (one failing never blanks the others).
import { api, chatbotPath, isMissing, plain } from './api.js';
import { channelsOf, renderCharts } from './charts.js';
import { loadConversations } from './conversations.js';
import { fill, h, heading, notice, notYet } from './dom.js';
import { loadGaps } from './gaps.js';
import { loadCrisp, loadKnowledge, loadTests, renderOverview } from './panels.js';

/**
 * What the panels share for the chatbot on show.
 * @typedef {{
 *   chatbotId: string,
 *   from: string,
 *   to: string,
 *   interval: 'day' | 'week',
 *   sources: Map<string, any>,
 *   refreshSources: () => Promise<void>,
 *   renderSources: (sources: any[] | Error) => void,
 *   openConversation: (sessionId: string) => void | Promise<void>,
 * }} Board
 */

const PERIODS = [
  [7, 'Last 7 days'],
  [30, 'Last 30 days'],
  [90, 'Last 90 days'],
];

/** @param {string} id */
const panel = (id) => h('section', { id, class: 'panel' });

/**
 * Shows `chatbot` in `root` and loads every panel.
 * @param {HTMLElement} root
 * @param {any} chatbot
 */
export function openBoard(root, chatbot) {
  const period = h(
    'select',
    { 'aria-label': 'Period' },
    PERIODS.map(([days, text]) => h('option', { value: days, selected: days === 30 }, text)),
  );
  const interval = h(
    'select',
    { 'aria-label': 'Interval' },
    h('option', { value: 'day' }, 'per day'),
    h('option', { value: 'week' }, 'per week'),
  );
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const overview = h('div', { id: 'overview-numbers' }, notice('muted', 'Loading…'));
  const sections = {
    overview: panel('overview'),
    gaps: panel('gaps'),
    tests: panel('tests'),
    charts: panel('charts'),
    conversations: panel('conversations'),
    knowledge: panel('knowledge'),
    crisp: panel('crisp'),
  };
  fill(
    sections.overview,
    h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'chatbot-name' }, String(chatbot?.name ?? 'Chatbot')),
      h('div', { class: 'actions' }, period, interval, refresh),
    ),
    overview,
  );
  fill(
    root,
    sections.overview,
    h('div', { class: 'pair' }, sections.gaps, sections.tests),
    sections.charts,
    sections.conversations,
    h('div', { class: 'pair' }, sections.knowledge, sections.crisp),
  );

  /** @type {Board} */
  const board = {
    chatbotId: String(chatbot.id),
    from: '',
    to: '',
    interval: 'day',
    sources: new Map(),
    refreshSources: async () => {
      try {
        const data = await api(chatbotPath(board.chatbotId, '/sources'));
        const items = Array.isArray(data?.items) ? data.items : [];
        board.sources = new Map(items.map((/** @type {any} */ s) => [String(s?.id), s]));
        board.renderSources(items);
      } catch (err) {
        board.renderSources(err instanceof Error ? err : new Error(String(err)));
      }
    },
    renderSources: () => {},
    openConversation: () => {},
  };

  const loadRange = async () => {
    const days = Number(period.value);
    board.to = new Date().toISOString();
    board.from = new Date(Date.now() - days * 86_400_000).toISOString();
    board.interval = interval.value === 'week' ? 'week' : 'day';
    const query = `?from=${encodeURIComponent(board.from)}&to=${encodeURIComponent(board.to)}&interval=${board.interval}`;
    const [analytics, usage] = await Promise.all([
      api(chatbotPath(board.chatbotId, `/analytics${query}`)).catch((/** @type {unknown} */ err) =>
        isMissing(err) ? null : err,
      ),
      api(chatbotPath(board.chatbotId, '/usage')).catch(() => null),
    ]);
    const failed = analytics instanceof Error;
    renderOverview(overview, failed ? null : analytics, usage);
    if (failed) overview.append(notice('error', plain(analytics)));
    showCharts(sections.charts, analytics);
    await loadGaps(sections.gaps, board);
  };

  // Each panel on its own: a slow or missing route never holds the others back.
  const loadAll = async () => {
    refresh.disabled = true;
    const knowledge = loadKnowledge(sections.knowledge, board);
    await Promise.all([
      loadRange(),
      knowledge,
      loadTests(sections.tests, board),
      loadCrisp(sections.crisp, board),
      // Answers name the sources they used: their titles come from the knowledge list.
      knowledge.then(() => loadConversations(sections.conversations, board)),
    ]);
    refresh.disabled = false;
  };
  period.addEventListener('change', () => void loadRange());
  interval.addEventListener('change', () => void loadRange());
  refresh.addEventListener('click', () => void loadAll());
  void loadAll();
}

/**
 * The charts panel: "not available yet" on a server without the analytics route.
 * @param {HTMLElement} el
 * @param {any} analytics the answer, null (no route) or an error
 */
function showCharts(el, analytics) {
  const body = h('div');
  const channels = analytics && !(analytics instanceof Error) ? channelsOf(analytics) : [];
  const channel = h(
    'select',
    { 'aria-label': 'Channel', hidden: channels.length === 0 },
    h('option', { value: 'all' }, 'All channels'),
    channels.map((c) => h('option', { value: c }, c)),
  );
  fill(el, heading('Outcomes over time', channel), body);
  if (analytics === null) return fill(body, notYet('Charts of outcomes over time are'));
  if (analytics instanceof Error) return fill(body, notice('error', plain(analytics)));
  renderCharts(body, analytics, 'all');
  channel.addEventListener('change', () => renderCharts(body, analytics, channel.value));
}
