// Clients: search (client id prefix, user, connected or not), sort, paging; detail and kick.
import { api } from './api.js';
import { field, formatTime, h, replace } from './dom.js';
import { pagedTable } from './table.js';

const enc = encodeURIComponent;

export function kickClient(clientId) {
  return api('POST', `/api/v1/clients/${enc(clientId)}/kick`);
}

export async function render(main, clientId) {
  if (clientId) return renderDetail(main, clientId);
  const search = h('input', { type: 'search', name: 'clientid', placeholder: 'client id starts with…' });
  const user = h('input', { type: 'search', name: 'username', placeholder: 'user' });
  const state = h('select', { name: 'connected' }, h('option', { value: '' }, 'all'), h('option', { value: 'true' }, 'connected'), h('option', { value: 'false' }, 'disconnected'));
  const table = pagedTable({
    path: '/api/v1/clients',
    query: () => ({ clientid: search.value, username: user.value, connected: state.value }),
    empty: 'No clients.',
    columns: [
      { key: 'clientId', label: 'Client id', sort: true, cell: (c) => h('a', { href: `#/clients/${enc(c.clientId)}`, class: 'client-link' }, c.clientId) },
      { key: 'username', label: 'User', sort: true },
      { key: 'ip', label: 'Address', sort: true },
      { key: 'protocol', label: 'Protocol', cell: (c) => protocolName(c.protocol) },
      { key: 'connected', label: 'State', cell: (c) => (c.connected ? 'connected' : 'disconnected') },
      { key: 'connectedAt', label: 'Since', sort: true, cell: (c) => formatTime(c.connectedAt) },
      { key: 'subscriptions', label: 'Subs', sort: true, class: 'num' },
      { key: 'queueLength', label: 'Queued', sort: true, class: 'num' },
      { key: 'dropped', label: 'Dropped', sort: true, class: 'num' },
      { key: 'actions', label: '', cell: (c) => (c.connected ? h('button', { type: 'button', class: 'kick', onclick: () => kick(c.clientId) }, 'Kick') : '') },
    ],
  });
  async function kick(id) {
    await kickClient(id);
    await table.refresh();
  }
  for (const input of [search, user, state]) input.addEventListener('input', () => table.reset());
  replace(main, h('h1', {}, 'Clients'), h('div', { class: 'filters' }, field('Search', search), field('User', user), field('State', state)), table.element);
  await table.refresh();
  const timer = setInterval(() => table.refresh().catch(() => undefined), 3000);
  return () => clearInterval(timer);
}

export function protocolName(p) {
  return p === 5 ? 'MQTT 5.0' : p === 4 ? 'MQTT 3.1.1' : p === 3 ? 'MQTT 3.1' : '';
}

async function renderDetail(main, clientId) {
  const box = h('div', { class: 'detail' });
  const status = h('p', { class: 'status', role: 'status' });
  replace(main, h('p', {}, h('a', { href: '#/clients' }, '‹ All clients')), h('h1', {}, 'Client ', h('code', {}, clientId)), status, box);
  async function refresh() {
    const c = await api('GET', `/api/v1/clients/${enc(clientId)}`);
    const rows = [
      ['State', c.connected ? 'connected' : 'disconnected'],
      ['User', c.username ?? ''],
      ['Address', c.ip ?? ''],
      ['Listener', c.listener ?? ''],
      ['Protocol', protocolName(c.protocol)],
      ['Connected at', c.connectedAt ? new Date(c.connectedAt).toLocaleString() : ''],
      ['Keepalive', c.keepalive === null ? '' : `${c.keepalive} s`],
      ['Session expiry', `${c.expiryInterval} s`],
      ['Queued', `${c.queueLength} (${c.queuedBytes} bytes)`],
      ['In flight', `${c.inflight} (${c.inflightBytes} bytes)`],
      ['Dropped', String(c.dropped)],
      ['Will', c.will ? `${c.will.topic} (QoS ${c.will.qos}${c.will.retain ? ', retained' : ''}, ${c.will.payloadBytes} bytes)` : 'none'],
      ['TLS', c.tls?.enabled ? `yes${c.tls.certificateCommonName ? `, certificate CN ${c.tls.certificateCommonName}` : ''}` : 'no'],
    ];
    const subs = c.subscriptionList ?? [];
    replace(box,
      h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      c.connected ? h('button', { type: 'button', class: 'kick danger', onclick: kick }, 'Kick this client') : '',
      h('h2', {}, `Subscriptions (${subs.length})`),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Filter'), h('th', {}, 'QoS'), h('th', {}, 'Options'))),
        h('tbody', {}, subs.map((s) => h('tr', {}, h('td', {}, s.filter), h('td', {}, String(s.qos)), h('td', {}, subscriptionOptions(s)))))));
  }
  async function load() {
    try {
      await refresh();
    } catch (e) {
      if (e.status === 404) replace(box, h('p', { class: 'error gone' }, 'No such client: not connected and no session kept.'));
      else throw e;
    }
  }
  async function kick() {
    await kickClient(clientId);
    replace(status, 'Kicked.');
    await load();
  }
  await load();
  const timer = setInterval(() => load().catch(() => undefined), 3000);
  return () => clearInterval(timer);
}

export function subscriptionOptions(s) {
  return [s.shareGroup ? `shared: ${s.shareGroup}` : '', s.noLocal ? 'no local' : '', s.retainAsPublished ? 'retain as published' : '', s.retainHandling ? `retain handling ${s.retainHandling}` : '']
    .filter(Boolean)
    .join(', ');
}
