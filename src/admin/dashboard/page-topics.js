// Topic tree, kept by the broker (GET /api/v1/topic-tree): the browser never subscribes to '#'.
// Expand levels, select a topic: last value as text, JSON tree, hex or base64; a chart of a
// numeric JSON field over time; delete its retained message, or every one below a level.
import { api } from './api.js';
import { lineChart } from './chart.js';
import { field, formatRate, formatTime, h, plural, replace } from './dom.js';
import { fieldValue, jsonOf, numericFields, payloadView } from './payload.js';

const FORMATS = ['text', 'json', 'hex', 'base64'];
const MAX_POINTS = 300;

export function deleteRetained(topic) {
  return api('DELETE', '/api/v1/retained/message', { query: { topic } });
}

export function deleteRetainedTree(topic) {
  return api('DELETE', '/api/v1/retained', { query: { prefix: topic } });
}

export async function render(main, initial) {
  const view = { expanded: new Set(), selected: initial || undefined, format: 'text', field: undefined, points: new Map() };
  const tree = h('div', { class: 'tree', role: 'tree' });
  const detail = h('section', { class: 'topic-detail' }, h('p', { class: 'hint' }, 'Select a topic.'));
  const search = h('input', { type: 'search', name: 'q', placeholder: 'search topics…' });
  const found = h('ul', { class: 'found' });
  const info = h('p', { class: 'hint tree-info' });
  search.addEventListener('input', () => runSearch().catch(() => undefined));
  replace(main, h('h1', {}, 'Topics'), h('div', { class: 'split' }, h('div', { class: 'tree-pane' }, field('Search', search), found, tree, info), detail));

  async function runSearch() {
    if (search.value === '') return replace(found);
    const result = await api('GET', '/api/v1/topic-tree/search', { query: { q: search.value, limit: 50 } });
    replace(found, result.data.map((topic) => h('li', {}, h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(topic); } }, topic))));
  }

  async function level(path) {
    const result = await api('GET', '/api/v1/topic-tree', { query: { path, limit: 200 } });
    if (path === undefined) replace(info, `${plural(result.tree.topics, 'topic')} kept (at most ${result.tree.maxTopics}), ${plural(result.tree.messages, 'message')} seen`);
    const items = [];
    for (const child of result.data) {
      const open = view.expanded.has(child.topic);
      const branch = child.topics > (child.hasValue ? 1 : 0);
      const toggle = branch ? h('button', { type: 'button', class: 'toggle', 'aria-label': open ? 'collapse' : 'expand', onclick: () => toggleLevel(child.topic) }, open ? '▾' : '▸') : h('span', { class: 'toggle' });
      const name = h('a', { href: '#', class: `name${child.hasValue ? ' has-value' : ''}${child.topic === view.selected ? ' selected' : ''}`, 'data-topic': child.topic, onclick: (e) => { e.preventDefault(); if (child.hasValue) select(child.topic); else toggleLevel(child.topic); } }, child.name === '' ? '(empty)' : child.name);
      const meta = h('span', { class: 'meta' }, child.hasValue ? `${plural(child.count, 'msg')}, ${formatRate(child.rate)}/s` : '', branch ? ` ${plural(child.topics, 'topic')}` : '');
      items.push(h('li', { role: 'treeitem' }, toggle, name, meta, open ? await level(child.topic).catch(() => h('ul')) : ''));
    }
    if (result.meta.hasnext) items.push(h('li', { class: 'hint' }, `… ${result.meta.count - result.data.length} more`));
    return h('ul', {}, items);
  }

  async function refreshTree() {
    replace(tree, await level(undefined));
  }

  function toggleLevel(topic) {
    if (view.expanded.has(topic)) view.expanded.delete(topic);
    else view.expanded.add(topic);
    refreshTree().catch(() => undefined);
  }

  function select(topic) {
    replace(status);
    view.selected = topic;
    view.points = new Map();
    view.field = undefined;
    view.prefix = undefined;
    refreshAll().catch(() => undefined);
  }

  async function refreshDetail() {
    const topic = view.selected;
    if (topic === undefined) return;
    let d;
    try {
      d = await api('GET', '/api/v1/topic-tree/value', { query: { topic } });
    } catch (e) {
      if (e.status !== 404) throw e;
      return replace(detail, h('h2', {}, topic), h('p', { class: 'hint' }, 'No longer kept in the topic tree.'));
    }
    for (const sample of [...d.history, { at: d.lastAt, payload: d.payload }]) view.points.set(sample.at, sample.payload);
    while (view.points.size > MAX_POINTS) view.points.delete(view.points.keys().next().value);
    const value = jsonOf(d.payload);
    const fields = value === undefined ? [] : numericFields(value);
    if (view.field === undefined || !fields.includes(view.field)) view.field = fields[0];
    replace(detail,
      h('h2', { class: 'topic-name' }, d.topic),
      h('p', { class: 'facts-line' }, `${plural(d.count, 'message')} · ${formatRate(d.rate)}/s · last ${formatTime(d.lastAt)} · QoS ${d.qos}${d.retain ? ' · retained' : ''} · ${d.size} bytes${d.truncated ? ' (truncated)' : ''}`),
      h('div', { class: 'formats', role: 'tablist' }, FORMATS.map((f) => h('button', { type: 'button', role: 'tab', 'data-format': f, class: f === view.format ? 'active' : undefined, onclick: () => { view.format = f; refreshDetail().catch(() => undefined); } }, f))),
      payloadView(d.payload, view.format),
      fields.length > 0 ? fieldChart(fields) : '',
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'danger', 'data-action': 'delete-retained', onclick: () => act(() => deleteRetained(topic), 'Retained message deleted.') }, 'Delete retained message'),
        subtreeDelete(topic)),
      status);
  }

  const status = h('p', { class: 'status', role: 'status' });
  async function act(action, done) {
    try {
      await action();
      replace(status, done);
    } catch (e) {
      replace(status, `Failed: ${e.message}`);
    }
  }

  /** Delete every retained message at and below a level of the selected topic (chosen: itself or a parent). */
  function subtreeDelete(topic) {
    const levels = topic.split('/').map((_, i, all) => all.slice(0, i + 1).join('/')).reverse();
    // The choice outlives the refresh of the pane every 2 s.
    if (!levels.includes(view.prefix)) view.prefix = topic;
    const prefix = h('select', { name: 'prefix', 'aria-label': 'level', onchange: () => { view.prefix = prefix.value; } }, levels.map((l) => h('option', { value: l, selected: l === view.prefix }, `${l}/…`)));
    const run = () => confirm(`Delete every retained message at and below ${prefix.value}?`) && act(() => deleteRetainedTree(prefix.value), 'Retained messages deleted.');
    return h('span', { class: 'subtree' }, h('button', { type: 'button', class: 'danger', 'data-action': 'delete-retained-tree', onclick: run }, 'Delete retained subtree'), ' under ', prefix);
  }

  function fieldChart(fields) {
    const picker = h('select', { name: 'field', onchange: () => { view.field = picker.value; refreshDetail().catch(() => undefined); } }, fields.map((f) => h('option', { value: f, selected: f === view.field }, f === '' ? '(value)' : f)));
    const points = [];
    for (const [at, payload] of view.points) {
      const v = fieldValue(jsonOf(payload), view.field);
      if (v !== undefined) points.push([at, v]);
    }
    points.sort((a, b) => a[0] - b[0]);
    return h('div', { class: 'field-chart' }, field('Chart of field', picker), lineChart({ title: `${view.field === '' ? 'value' : view.field} over time`, series: [{ label: view.field === '' ? 'value' : view.field, points }] }));
  }

  async function refreshAll() {
    await Promise.all([refreshTree(), refreshDetail()]);
  }

  if (view.selected) for (let i = view.selected.indexOf('/'); i >= 0; i = view.selected.indexOf('/', i + 1)) view.expanded.add(view.selected.slice(0, i));
  await refreshAll();
  const timer = setInterval(() => refreshAll().catch(() => undefined), 2000);
  return () => clearInterval(timer);
}
