// A small SVG line chart (no library): series of [time ms, value] points on a shared time axis.
import { h, svg } from './dom.js';

const W = 640;
const H = 180;
const PAD = { left: 48, right: 8, top: 8, bottom: 22 };

/** lineChart({ title, series: [{ label, points: [[t, v], ...] }] }) -> element. */
export function lineChart({ title, series, unit = '' }) {
  const all = series.flatMap((s) => s.points);
  const box = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  if (all.length === 0) {
    box.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'no data yet'));
    return figure(title, box, series);
  }
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const max = niceMax(Math.max(...all.map((p) => p[1]), 0));
  const min = Math.min(0, ...all.map((p) => p[1]));
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - ((v - min) / (max - min || 1)) * (H - PAD.top - PAD.bottom);
  box.append(axes(x, y, t0, t1, min, max, unit));
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    box.append(svg('path', { d, class: `line s${i}` }));
    if (s.points.length === 1) box.append(svg('circle', { cx: x(s.points[0][0]), cy: y(s.points[0][1]), r: 3, class: `dot s${i}` }));
  });
  return figure(title, box, series);
}

function figure(title, box, series) {
  const legend = h('div', { class: 'legend' }, series.map((s, i) => h('span', { class: `key s${i}` }, s.label)));
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, title), box, legend);
}

function axes(x, y, t0, t1, min, max, unit) {
  const g = svg('g', { class: 'axes' });
  g.append(svg('line', { x1: PAD.left, y1: y(min), x2: W - PAD.right, y2: y(min) }));
  g.append(svg('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }));
  for (const v of [min, (min + max) / 2, max]) {
    g.append(svg('text', { x: PAD.left - 4, y: y(v) + 4, 'text-anchor': 'end' }, `${short(v)}${unit}`));
  }
  g.append(svg('text', { x: PAD.left, y: H - 6 }, new Date(t0).toLocaleTimeString()));
  g.append(svg('text', { x: W - PAD.right, y: H - 6, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()));
  return g;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / p) * p;
}

function short(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
