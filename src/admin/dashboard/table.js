// A paged, sortable table over an API list (`{ data, meta: { page, limit, count, hasnext } }`).
import { api } from './api.js';
import { h, replace } from './dom.js';

/**
 * pagedTable({ path, columns: [{ key, label, sort?: true, cell?: (row) => node|string }], query: () => ({}), limit })
 * -> { element, refresh() }. Column headers with `sort` order the list (again: reverse).
 */
export function pagedTable({ path, columns, query, limit = 20, empty = 'Nothing to show.' }) {
  const state = { page: 1, sort: undefined, order: 'asc' };
  const body = h('tbody');
  const info = h('span', { class: 'page-info' });
  const prev = h('button', { type: 'button', onclick: () => go(state.page - 1) }, '‹ Previous');
  const next = h('button', { type: 'button', onclick: () => go(state.page + 1) }, 'Next ›');
  const head = h('tr', {}, columns.map((c) => h('th', c.sort ? { class: 'sortable', onclick: () => sortBy(c.key), 'data-key': c.key } : {}, c.label)));
  const element = h('div', { class: 'table-box' }, h('table', {}, h('thead', {}, head), body), h('div', { class: 'pager' }, prev, info, next));

  function sortBy(key) {
    state.order = state.sort === key && state.order === 'asc' ? 'desc' : 'asc';
    state.sort = key;
    for (const th of head.children) th.classList.toggle(state.order, th.dataset.key === key);
    for (const th of head.children) th.classList.toggle(state.order === 'asc' ? 'desc' : 'asc', false);
    refresh().catch(() => undefined);
  }

  function go(page) {
    state.page = Math.max(1, page);
    refresh().catch(() => undefined);
  }

  async function refresh() {
    const q = { ...query(), page: state.page, limit, ...(state.sort ? { sort: state.sort, order: state.order } : {}) };
    const result = await api('GET', path, { query: q });
    const rows = result.data.map((row) => h('tr', {}, columns.map((c) => h('td', { class: c.class }, c.cell ? c.cell(row) : String(row[c.key] ?? '')))));
    replace(body, rows.length > 0 ? rows : h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty)));
    const m = result.meta;
    replace(info, `page ${m.page}${m.count !== undefined ? ` of ${Math.max(1, Math.ceil(m.count / m.limit))} (${m.count})` : ''}`);
    prev.disabled = m.page <= 1;
    next.disabled = !m.hasnext;
  }

  return { element, refresh, reset: () => go(1) };
}
