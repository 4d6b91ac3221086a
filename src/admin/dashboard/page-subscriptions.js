// Subscriptions: filter by client, topic filter, QoS, share group; paging.
import { field, h, replace } from './dom.js';
import { pagedTable } from './table.js';
import { subscriptionOptions } from './page-clients.js';

export async function render(main) {
  const client = h('input', { type: 'search', name: 'clientId', placeholder: 'client id' });
  const topic = h('input', { type: 'search', name: 'topic', placeholder: 'filter, exactly' });
  const matching = h('input', { type: 'search', name: 'matching', placeholder: 'topic name it matches' });
  const qos = h('select', { name: 'qos' }, h('option', { value: '' }, 'any'), [0, 1, 2].map((q) => h('option', { value: String(q) }, `QoS ${q}`)));
  const table = pagedTable({
    path: '/api/v1/subscriptions',
    query: () => ({ clientid: client.value, topic: topic.value, match: matching.value, qos: qos.value }),
    empty: 'No subscriptions.',
    columns: [
      { key: 'clientId', label: 'Client id', cell: (s) => h('a', { href: `#/clients/${encodeURIComponent(s.clientId)}` }, s.clientId) },
      { key: 'filter', label: 'Filter' },
      { key: 'qos', label: 'QoS', class: 'num' },
      { key: 'options', label: 'Options', cell: subscriptionOptions },
    ],
  });
  for (const input of [client, topic, matching, qos]) input.addEventListener('input', () => table.reset());
  replace(main, h('h1', {}, 'Subscriptions'), h('div', { class: 'filters' }, field('Client', client), field('Filter', topic), field('Matching', matching), field('QoS', qos)), table.element);
  await table.refresh();
  const timer = setInterval(() => table.refresh().catch(() => undefined), 5000);
  return () => clearInterval(timer);
}
