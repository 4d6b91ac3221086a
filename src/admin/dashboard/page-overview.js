// Overview: counters and live charts of connections and message rates (GET /api/v1/stats,
// GET /api/v1/stats/history, kept by the broker: 1 h to 7 d).
import { api } from './api.js';
import { lineChart } from './chart.js';
import { h, replace } from './dom.js';

const RANGES = ['1h', '6h', '24h', '7d'];
const CARDS = [
  ['clientsConnected', 'Connected clients'],
  ['sessions', 'Sessions'],
  ['subscriptions', 'Subscriptions'],
  ['retainedMessages', 'Retained messages'],
  ['messagesReceived', 'Messages received'],
  ['messagesSent', 'Messages sent'],
  ['messagesDropped', 'Messages dropped'],
];

export async function render(main) {
  let range = '1h';
  const cards = h('div', { class: 'cards' });
  const charts = h('div', { class: 'charts' });
  const picker = h('div', { class: 'ranges' }, RANGES.map((r) =>
    h('button', { type: 'button', 'data-range': r, class: r === range ? 'active' : undefined, onclick: () => { range = r; void refresh(); } }, r)));
  replace(main, h('h1', {}, 'Overview'), cards, picker, charts);

  async function refresh() {
    const [stats, history] = await Promise.all([api('GET', '/api/v1/stats'), api('GET', '/api/v1/stats/history', { query: { range } })]);
    replace(cards, CARDS.map(([key, label]) => h('div', { class: 'card', 'data-stat': key }, h('span', { class: 'value' }, String(stats[key] ?? 0)), h('span', { class: 'label' }, label))));
    for (const b of picker.children) b.classList.toggle('active', b.dataset.range === range);
    const at = (key) => history.points.map((p) => [p.at, p[key]]);
    replace(charts,
      lineChart({ title: 'Connections', series: [{ label: 'connected clients', points: at('connections') }] }),
      lineChart({ title: 'Messages per second', series: [{ label: 'received', points: at('received') }, { label: 'sent', points: at('sent') }, { label: 'dropped', points: at('dropped') }] }),
      lineChart({ title: 'Bytes per second', series: [{ label: 'in', points: at('bytesIn') }, { label: 'out', points: at('bytesOut') }] }));
  }

  await refresh();
  const timer = setInterval(() => refresh().catch(() => undefined), 5000);
  return () => clearInterval(timer);
}
