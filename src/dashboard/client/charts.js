// Outcome charts over time from the analytics route, drawn with uPlot (loaded by the page as a
// classic script). Tolerant of the answer's exact nesting: `totals`/`series`, and a per-channel
// split when one is there (`channels`/`byChannel`, at the top or inside each entry).
import { fill, h, ms, usd } from './dom.js';
import { handoffTotal } from './panels.js';

/** @type {typeof import('uplot')} */
const UPlot = /** @type {any} */ (window).uPlot;

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
const REASON_KEYS = ['no_answer', 'asked_for_human', 'frustration', 'error', 'quota'];

/**
 * @param {any} o
 * @param {string} path dotted
 * @returns {number | null}
 */
function pick(o, path) {
  let v = o;
  for (const key of path.split('.')) v = v?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The channels the answer splits by, if any. @param {any} analytics */
export function channelsOf(analytics) {
  const split = analytics?.channels ?? analytics?.byChannel;
  if (split && typeof split === 'object') return Object.keys(split);
  const entry = analytics?.series?.[0] ?? analytics?.totals;
  const inner = entry?.channels ?? entry?.byChannel;
  return inner && typeof inner === 'object' ? Object.keys(inner) : [];
}

/**
 * `{ totals, series }` for one channel (or all of them).
 * @param {any} analytics
 * @param {string} channel `all` or a channel name
 * @returns {{ totals: any, series: any[] }}
 */
export function viewOf(analytics, channel) {
  const series = Array.isArray(analytics?.series) ? analytics.series : [];
  if (channel === 'all') return { totals: analytics?.totals ?? {}, series };
  const top = (analytics?.channels ?? analytics?.byChannel)?.[channel];
  if (top) return { totals: top.totals ?? {}, series: Array.isArray(top.series) ? top.series : [] };
  const inner = (/** @type {any} */ e) => ({
    start: e?.start,
    ...((e?.channels ?? e?.byChannel)?.[channel] ?? {}),
  });
  const totals = analytics?.totals?.channels ?? analytics?.totals?.byChannel;
  return { totals: totals?.[channel] ?? {}, series: series.map(inner) };
}

/**
 * What one chart shows: its title, its lines (one value per point in time) and how values read.
 * @typedef {{
 *   title: string,
 *   lines: { label: string, values: (number | null)[] }[],
 *   format: (v: number) => string,
 * }} ChartSpec
 */

/**
 * One chart: a title and a uPlot canvas that follows its box's width.
 * @param {HTMLElement} grid
 * @param {number[]} xs seconds
 * @param {ChartSpec} spec
 */
function chart(grid, xs, { title, lines, format }) {
  const plot = h('div', { class: 'plot' });
  grid.append(h('figure', { class: 'chart' }, h('figcaption', {}, title), plot));
  const width = () => Math.max(240, plot.clientWidth);
  const u = new UPlot(
    {
      width: width(),
      height: 180,
      series: [
        {},
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          points: { show: xs.length < 40 },
          value: (/** @type {unknown} */ _u, /** @type {number | null} */ v) =>
            v === null ? '—' : format(v),
        })),
      ],
      axes: [
        {},
        {
          size: 60,
          values: (/** @type {unknown} */ _u, /** @type {number[]} */ ticks) => ticks.map(format),
        },
      ],
      scales: { x: { time: true } },
      // Labels only: values under the cursor would reflow the page on every mouse move.
      legend: { live: false },
    },
    [xs, ...lines.map((line) => line.values)],
    plot,
  );
  new ResizeObserver(() => u.setSize({ width: width(), height: 180 })).observe(plot);
}

/**
 * Draws the charts of one channel into `el`.
 * @param {HTMLElement} el
 * @param {any} analytics
 * @param {string} channel
 */
export function renderCharts(el, analytics, channel) {
  const { series } = viewOf(analytics, channel);
  const points = series
    .map((e) => ({ e, t: typeof e?.start === 'string' ? Date.parse(e.start) / 1000 : Number.NaN }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
  if (!points.length) {
    fill(el, h('p', { class: 'notice muted' }, 'No conversations in this period.'));
    return;
  }
  const grid = h('div', { class: 'charts' });
  fill(el, grid);
  const xs = points.map((p) => p.t);
  const values = (/** @type {string} */ path) => points.map((p) => pick(p.e, path));
  const count = (/** @type {number} */ v) => String(Math.round(v));
  /** @type {ChartSpec[]} */
  const charts = [
    {
      title: 'Outcomes',
      lines: [
        { label: 'Conversations', values: values('conversations') },
        { label: 'Bot answers', values: values('botAnswers') },
        { label: 'Handed off', values: points.map((p) => handoffTotal(p.e?.handoffs)) },
        { label: 'Resolved by the bot', values: values('autoResolved') },
      ],
      format: count,
    },
    {
      title: 'Handoffs by reason',
      lines: REASON_KEYS.map((key) => ({
        label: key.replaceAll('_', ' '),
        values: values(`handoffs.${key}`),
      })),
      format: count,
    },
    {
      title: 'Reply latency',
      lines: [
        { label: 'median', values: values('replyLatencyMs.p50') },
        { label: '90th percentile', values: values('replyLatencyMs.p90') },
      ],
      format: ms,
    },
    { title: 'LLM cost', lines: [{ label: 'USD', values: values('llm.costUsd') }], format: usd },
  ];
  for (const spec of charts) chart(grid, xs, spec);
}
