// A WebSocket MQTT client in the page (the MQTT.fx / MQTTlens role), on MQTT.js's browser build
// served by the broker. It needs a WebSocket listener (`listener 8080` + `protocol websockets`);
// the address is taken from the broker's listeners when one is configured. The connection and its
// message history outlive a visit to another page of the dashboard.
import { api } from './api.js';
import { field, h, replace } from './dom.js';

const MAX_HISTORY = 500;
const session = { client: undefined, state: 'disconnected', error: '', messages: [], subscriptions: [], settings: undefined, onChange: () => {} };
const KEPT = ['url', 'clientId', 'username', 'version', 'keepalive'];

function loadMqtt() {
  if (window.mqtt) return Promise.resolve(window.mqtt);
  return new Promise((resolve, reject) => {
    const script = h('script', { src: '/dashboard/vendor/mqtt.min.js' });
    script.addEventListener('load', () => resolve(window.mqtt));
    script.addEventListener('error', () => reject(new Error('MQTT.js could not be loaded from the broker')));
    document.head.append(script);
  });
}

async function defaultUrl() {
  const listeners = await api('GET', '/api/v1/listeners').catch(() => undefined);
  const list = Array.isArray(listeners) ? listeners : (listeners?.data ?? []);
  const ws = list.find((l) => l.protocol === 'websockets' && (l.running ?? true));
  if (ws === undefined) return { url: '', note: 'The broker has no WebSocket listener: add one to its configuration (listener 8080, then protocol websockets) and give its address here.' };
  const scheme = ws.tls ? 'wss' : 'ws';
  const path = ws.url ? new URL(ws.url.replace(/^ws/, 'http')).pathname : '/mqtt';
  return { url: `${scheme}://${location.hostname}:${ws.port}${path}`, note: `WebSocket listener ${ws.name}` };
}

function record(direction, topic, payload, packet) {
  session.messages.unshift({ at: Date.now(), direction, topic, payload: new TextDecoder().decode(payload), qos: packet.qos ?? 0, retain: Boolean(packet.retain), properties: packet.properties });
  session.messages.length = Math.min(session.messages.length, MAX_HISTORY);
  session.onChange();
}

function setState(state, error = '') {
  session.state = state;
  session.error = error;
  session.onChange();
}

async function connect(form) {
  const mqtt = await loadMqtt();
  session.client?.end(true);
  session.settings = Object.fromEntries(KEPT.map((name) => [name, form.elements[name].value]));
  const version = Number(form.elements.version.value);
  const options = { protocolVersion: version, clientId: form.elements.clientId.value, clean: form.elements.clean.checked, keepalive: Number(form.elements.keepalive.value), reconnectPeriod: 0, connectTimeout: 10_000 };
  if (form.elements.username.value) options.username = form.elements.username.value;
  if (form.elements.password.value) options.password = form.elements.password.value;
  if (form.elements.willTopic.value) options.will = { topic: form.elements.willTopic.value, payload: form.elements.willPayload.value, qos: Number(form.elements.willQos.value), retain: form.elements.willRetain.checked };
  setState('connecting');
  const client = mqtt.connect(form.elements.url.value, options);
  session.client = client;
  session.subscriptions = [];
  client.on('connect', () => setState('connected'));
  client.on('message', (topic, payload, packet) => record('in', topic, payload, packet));
  client.on('error', (error) => setState(session.state, error.message));
  client.on('close', () => setState('disconnected', session.error));
}

function disconnect() {
  session.client?.end();
  session.client = undefined;
  setState('disconnected');
}

function subscribe(filter, qos) {
  session.client?.subscribe(filter, { qos }, (error, granted) => {
    if (error) return setState(session.state, error.message);
    for (const g of granted ?? []) session.subscriptions.push({ filter: g.topic, qos: g.qos });
    session.onChange();
  });
}

function unsubscribe(filter) {
  session.client?.unsubscribe(filter, () => {
    session.subscriptions = session.subscriptions.filter((s) => s.filter !== filter);
    session.onChange();
  });
}

/** 5.0 PUBLISH properties from the form's fields (empty ones left out). */
function publishProperties(form) {
  const p = {};
  if (form.elements.contentType.value) p.contentType = form.elements.contentType.value;
  if (form.elements.responseTopic.value) p.responseTopic = form.elements.responseTopic.value;
  if (form.elements.correlationData.value) p.correlationData = new TextEncoder().encode(form.elements.correlationData.value);
  if (form.elements.expiry.value) p.messageExpiryInterval = Number(form.elements.expiry.value);
  if (form.elements.payloadFormat.checked) p.payloadFormatIndicator = true;
  const user = {};
  for (const line of form.elements.userProperties.value.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) user[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  if (Object.keys(user).length > 0) p.userProperties = user;
  return p;
}

function publish(form) {
  const options = { qos: Number(form.elements.qos.value), retain: form.elements.retain.checked };
  if (session.client?.options.protocolVersion === 5) options.properties = publishProperties(form);
  const payload = form.elements.payload.value;
  session.client?.publish(form.elements.topic.value, payload, options, (error) => {
    if (error) return setState(session.state, error.message);
    record('out', form.elements.topic.value, new TextEncoder().encode(payload), options);
  });
}

const input = (name, props = {}) => h('input', { name, id: `mqtt-${name}`, ...props });
const qosSelect = (name) => h('select', { name, id: `mqtt-${name}` }, [0, 1, 2].map((q) => h('option', { value: String(q) }, `QoS ${q}`)));
const form = (name, onsubmit, ...children) => h('form', { name, class: 'mqtt-form', onsubmit: (e) => { e.preventDefault(); onsubmit(e.target); } }, children);

export async function render(main) {
  const { url, note } = await defaultUrl();
  const status = h('p', { class: 'status', role: 'status', id: 'mqtt-status' });
  const subs = h('ul', { class: 'subscriptions' });
  const history = h('tbody', { id: 'mqtt-history' });
  const connectForm = form('connect', (f) => connect(f).catch((e) => setState('disconnected', e.message)),
    field('WebSocket URL', input('url', { value: url, size: 40, required: true })),
    h('p', { class: 'hint' }, note),
    field('Client id', input('clientId', { value: `dashboard-${Math.random().toString(16).slice(2, 10)}` })),
    field('User', input('username', { autocomplete: 'off' })),
    field('Password', input('password', { type: 'password', autocomplete: 'off' })),
    field('Protocol', h('select', { name: 'version', id: 'mqtt-version' }, h('option', { value: '4' }, 'MQTT 3.1.1'), h('option', { value: '5' }, 'MQTT 5.0'))),
    field('Keepalive (s)', input('keepalive', { type: 'number', value: '60', min: '0', max: '65535' })),
    field('Clean start', input('clean', { type: 'checkbox', checked: true })),
    h('fieldset', {}, h('legend', {}, 'Will (optional)'),
      field('Topic', input('willTopic')), field('Payload', input('willPayload')), field('QoS', qosSelect('willQos')), field('Retain', input('willRetain', { type: 'checkbox' }))),
    h('button', { type: 'submit', id: 'mqtt-connect' }, 'Connect'),
    h('button', { type: 'button', id: 'mqtt-disconnect', onclick: disconnect }, 'Disconnect'));
  const subscribeForm = form('subscribe', (f) => subscribe(f.elements.filter.value, Number(f.elements.subQos.value)),
    field('Filter', input('filter', { value: '#', required: true })), field('QoS', qosSelect('subQos')), h('button', { type: 'submit', id: 'mqtt-subscribe' }, 'Subscribe'));
  const publishForm = form('publish', publish,
    field('Topic', input('topic', { required: true })),
    field('Payload', h('textarea', { name: 'payload', id: 'mqtt-payload', rows: 3 })),
    field('QoS', qosSelect('qos')), field('Retain', input('retain', { type: 'checkbox' })),
    h('fieldset', {}, h('legend', {}, 'MQTT 5.0 properties'),
      field('Content type', input('contentType')), field('Response topic', input('responseTopic')), field('Correlation data', input('correlationData')),
      field('Message expiry (s)', input('expiry', { type: 'number', min: '0' })), field('Payload is UTF-8', input('payloadFormat', { type: 'checkbox' })),
      field('User properties (key=value per line)', h('textarea', { name: 'userProperties', id: 'mqtt-userProperties', rows: 2 }))),
    h('button', { type: 'submit', id: 'mqtt-publish' }, 'Publish'));

  function update() {
    replace(status, `${session.state}${session.error ? ` (${session.error})` : ''}`);
    status.dataset.state = session.state;
    replace(subs, session.subscriptions.map((s) => h('li', {}, h('code', {}, s.filter), ` QoS ${s.qos} `, h('button', { type: 'button', onclick: () => unsubscribe(s.filter) }, 'Unsubscribe'))));
    replace(history, session.messages.map((m) => h('tr', { class: m.direction }, h('td', {}, new Date(m.at).toLocaleTimeString()), h('td', {}, m.direction === 'in' ? '←' : '→'), h('td', { class: 'topic' }, m.topic), h('td', {}, String(m.qos)), h('td', {}, m.retain ? 'yes' : ''), h('td', { class: 'payload' }, m.payload))));
  }
  session.onChange = update;
  update();
  // Back on this page: the form shows the settings of the last connection.
  for (const [name, value] of Object.entries(session.settings ?? {})) connectForm.elements[name].value = value;
  replace(main, h('h1', {}, 'MQTT client'),
    h('div', { class: 'mqtt' },
      h('section', {}, h('h2', {}, 'Connection'), connectForm, status),
      h('section', {}, h('h2', {}, 'Subscribe'), subscribeForm, subs, h('h2', {}, 'Publish'), publishForm)),
    h('h2', {}, 'Messages'),
    h('table', { class: 'history' }, h('thead', {}, h('tr', {}, ['Time', '', 'Topic', 'QoS', 'Retain', 'Payload'].map((t) => h('th', {}, t)))), history));
  return () => { session.onChange = () => {}; };
}
